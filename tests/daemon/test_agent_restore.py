"""Agents logged in when the daemon stops come back after a restart logged in to the same campaign,
paused, so a desk session that outlived the restart carries on with a click on Ready."""

from __future__ import annotations

import itertools
from typing import Any

from bus_fakes import FakeBus
from daemon_fakes import FakeAmi, ready_agent, running

from agents import commands as ac
from agents.state import AgentState
from dialer.clock import ScaledClock
from dialer.config import AgentAccount, CampaignSettings, DialerSettings, HttpSettings, MetricsSettings
from dialer.daemon import RESTART_REASON, Daemon, runtime_from_settings
from dialer.engine.core import Engine
from dialer.leadsource import InMemoryLeadSource
from dialer.metrics import Metrics
from dialer.store import RedisStore

T0 = 1_795_000_000.0
_prefixes = itertools.count(1)


def make_daemon(client: Any, prefix: str, campaigns: tuple[str, ...] = ("uk", "us"),
                accounts: tuple[AgentAccount, ...] = ()) -> Daemon:
    settings = [CampaignSettings(id=cid) for cid in campaigns]
    cfg = DialerSettings(campaigns=settings, http=HttpSettings(enabled=False), metrics=MetricsSettings(enabled=False),
                         shutdown_grace_s=0.0, agents=list(accounts))
    engine = Engine(hold_s=1.5)
    for cs in settings:
        engine.add_campaign(runtime_from_settings(cs))
    return Daemon(cfg, clock=ScaledClock(0.001, start=T0), engine=engine, ami=FakeAmi(),  # type: ignore[arg-type]
                  store=RedisStore(client, prefix=prefix), bus=FakeBus(),  # type: ignore[arg-type]
                  leads={cid: InMemoryLeadSource([]) for cid in campaigns}, metrics=Metrics())


async def test_agents_logged_in_come_back_paused_and_those_logged_out_do_not(client):
    prefix = f"restore{next(_prefixes)}"
    first = make_daemon(client, prefix)
    async with running(first) as d:
        ready_agent(d, "a1", "1001", "uk")
        d.agent_command(ac.Login("a2", "1002", "us"))
        d.agent_command(ac.Pause("a2", "lunch"))
        ready_agent(d, "a3", "1003", "uk")
        d.agent_command(ac.Logout("a3"))
    await first.store.flush()

    second = make_daemon(client, prefix)
    async with running(second) as d:
        await d.agents_restored.wait()
        a1, a2 = d.engine.roster.get("a1"), d.engine.roster.get("a2")
        assert (a1.state, a1.campaign_id, a1.extension, a1.pause_reason) == (
            AgentState.PAUSED, "uk", "1001", RESTART_REASON)
        assert (a2.state, a2.campaign_id, a2.extension, a2.pause_reason) == (
            AgentState.PAUSED, "us", "1002", RESTART_REASON)
        assert d.engine.roster.get("a3") is None
        # their own login again (a desktop, a simulated agent) changes nothing; Ready puts them to work
        ready_agent(d, "a1", "1001", "uk")
        assert d.engine.roster.get("a1").state is AgentState.READY
        hashes = await d.store.read_agents()
        stored = {aid: {f: v for f, v in h.items() if f != "since"} for aid, h in hashes.items()}
        assert stored == {
            "a1": {"state": "ready", "campaign": "uk", "extension": "1001"},
            "a2": {"state": "paused", "campaign": "us", "extension": "1002"},
            "a3": {"state": "logged_out", "campaign": "uk", "extension": "1003"},
        }


async def test_a_campaign_gone_from_the_config_or_a_moved_phone_is_handled(client):
    prefix = f"restore{next(_prefixes)}"
    async with running(make_daemon(client, prefix)) as d:
        ready_agent(d, "a1", "1001", "uk")
        ready_agent(d, "a2", "1002", "us")
        await d.store.flush()
    # "us" is dropped from the config; a1's account now gives another extension
    moved = AgentAccount(id="a1", password="a-long-password", extension="2001")
    async with running(make_daemon(client, prefix, campaigns=("uk",), accounts=(moved,))) as d:
        await d.agents_restored.wait()
        a1 = d.engine.roster.get("a1")
        assert (a1.state, a1.extension) == (AgentState.PAUSED, "2001")
        assert d.engine.roster.get("a2") is None


async def test_the_agent_hash_is_written_once_per_change(client, monkeypatch):
    d = make_daemon(client, f"restore{next(_prefixes)}")
    writes: list[dict[str, str]] = []
    set_agent = d.store.set_agent

    def counted(agent_id: str, fields: dict[str, str]) -> None:
        writes.append(dict(fields))
        set_agent(agent_id, fields)

    monkeypatch.setattr(d.store, "set_agent", counted)
    async with running(d):
        ready_agent(d, "a1", "1001", "uk")  # a command and its state notice each ask for the write
        d.agent_command(ac.Ready("a1"))  # already ready: nothing changed
    assert [w["state"] for w in writes] == ["paused", "ready"]


async def test_an_agent_who_asked_to_log_out_after_the_call_is_not_logged_back_in(client):
    # A graceful stop ends the wrap-up and carries the logout out itself; a daemon that died before (no
    # stop) left the hash as it was, "1" included: logging them back in (paused) would keep a logged-in
    # agent who had asked to go
    from daemon_fakes import talk_and_hang_up

    prefix = f"restore{next(_prefixes)}"
    first = make_daemon(client, prefix)
    async with running(first) as d:
        ready_agent(d, "a1", "1001", "uk")
        ready_agent(d, "a2", "1002", "uk")
        talk_and_hang_up(d, 1)  # a1 takes it: in wrap-up
        d.agent_command(ac.Logout("a1"))
        assert d.engine.roster.get("a1").pending_logout
        await d.store.flush()
        died_with = await client.hgetall(d.store.key("agent", "a1"))  # what a daemon dying now leaves
        assert (died_with["state"], died_with["pending_logout"]) == ("wrapup", "1")
    # stopped (nothing drains the outbox now: read Redis itself): the stop logged a1 out, the "1" is gone
    stored = await client.hgetall(first.store.key("agent", "a1"))
    assert (stored["state"], stored["pending_logout"]) == ("logged_out", "")

    await client.hset(first.store.key("agent", "a1"), mapping=died_with)  # as if the daemon had died instead
    second = make_daemon(client, prefix)
    async with running(second) as d:
        await d.agents_restored.wait()
        assert d.engine.roster.get("a1") is None
        assert d.engine.roster.get("a2").state is AgentState.PAUSED
        await d.store.flush()
        stored = await client.hgetall(d.store.key("agent", "a1"))
        assert (stored["state"], stored["pending_logout"]) == ("logged_out", "")
