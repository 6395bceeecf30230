"""An agent in wrap-up who asked to log out after the call when the daemon stops: the stop ends the wrap-up
`no_disposition`, logs them out, and keeps their late chance in Redis (`<prefix>:undisposed`). The restart
does not log them back in, but keeps the chance: once they log in again, to that campaign or another, they
can still save the sale, the callback or the do-not-call, as without the restart."""

from __future__ import annotations

import asyncio
import itertools
import random

import pytest
from bus_fakes import FakeBus
from daemon_fakes import FakeAmi, ready_agent, stopping, talk_and_hang_up

from agents import commands as ac
from agents.screenpop import ScreenPopRenderer
from dialer.clock import ScaledClock
from dialer.config import CampaignSettings, DialerSettings, HttpSettings, MetricsSettings
from dialer.daemon import Daemon, runtime_from_settings
from dialer.engine.core import Engine
from dialer.engine.records import Undisposed
from dialer.hopper import LeadStore
from dialer.leadsource import InMemoryLeadSource
from dialer.metrics import Metrics
from dialer.store import RedisStore

T0 = 1_795_000_000.0
LIMIT = 10.0  # real seconds: only turns a hang into a failure
_prefixes = itertools.count(1)


def _daemon(client: object, prefix: str, start: float, campaigns: tuple[str, ...] = ("uk", "us")) -> Daemon:
    settings = [CampaignSettings(id=cid) for cid in campaigns]
    cfg = DialerSettings(campaigns=settings, http=HttpSettings(enabled=False), metrics=MetricsSettings(enabled=False),
                         shutdown_grace_s=0.0)
    engine = Engine(hold_s=1.5, rng=random.Random(3), screenpop=ScreenPopRenderer())
    for cs in settings:
        engine.add_campaign(runtime_from_settings(cs))
    return Daemon(cfg, clock=ScaledClock(1.0, start=start), engine=engine, ami=FakeAmi(),  # type: ignore[arg-type]
                  store=RedisStore(client, prefix=prefix), bus=FakeBus(),  # type: ignore[arg-type]
                  leads={cid: InMemoryLeadSource([]) for cid in campaigns}, metrics=Metrics())


async def _stop(stop: asyncio.Event, task: asyncio.Task[None]) -> None:
    stop.set()
    async with asyncio.timeout(LIMIT):
        await task


async def _stopped_with_a_logout_pending(client: object, prefix: str) -> tuple[str, str]:
    """The first daemon: a1 talks, asks to log out after the call, and the daemon stops in their wrap-up."""
    first = _daemon(client, prefix, T0)
    stop, task = await stopping(first)
    try:
        await first.agents_restored.wait()
        ready_agent(first)
        cid = talk_and_hang_up(first, 4)
        number = first.engine.calls[cid].number
        first.agent_command(ac.Logout("a1"))  # "log me out after this call"; still typing the disposition
    finally:
        await _stop(stop, task)
    r = first.store.r
    assert await r.hkeys(first.store.key("undisposed")) == ["a1"]  # the chance was kept for the restart
    assert await r.hget(first.store.key("agent", "a1"), "state") == "logged_out"
    return cid, number


@pytest.mark.parametrize("campaign", ["uk", "us"])
async def test_the_late_chance_survives_the_restart_and_the_agents_next_login(client, campaign: str):
    prefix = f"latelogout{next(_prefixes)}"
    cid, _number = await _stopped_with_a_logout_pending(client, prefix)
    second = _daemon(client, prefix, T0 + 30)
    stop, task = await stopping(second)
    try:
        await second.agents_restored.wait()
        assert second.engine.roster.get("a1") is None  # not logged back in
        assert second.engine.undisposed["a1"].call_id == cid  # but the chance is theirs still
        second.agent_command(ac.Login("a1", "1001", campaign))  # they log in again, there or elsewhere
        second.agent_command(ac.Disposition("a1", cid, "sale", {}))  # and save the sale late
    finally:
        await _stop(stop, task)
    source = second.leads["uk"]
    assert isinstance(source, InMemoryLeadSource)
    assert [(x.call_id, x.code, x.amends) for x in source.dispositions] == [(cid, "sale", "no_disposition")]
    assert await client.hkeys(second.store.key("undisposed")) == []  # used: gone


async def test_a_late_dnc_after_the_restart_and_a_login_reaches_the_dnc_lists(client):
    prefix = f"latelogout{next(_prefixes)}"
    cid, number = await _stopped_with_a_logout_pending(client, prefix)
    second = _daemon(client, prefix, T0 + 30)
    stop, task = await stopping(second)
    try:
        await second.agents_restored.wait()
        second.agent_command(ac.Login("a1", "1001", "uk"))
        second.agent_command(ac.Disposition("a1", cid, "dnc", {}))
    finally:
        await _stop(stop, task)  # the stop lets the do-not-call write finish (`_settle_later`)
    assert await LeadStore(client, prefix=prefix).is_dnc(number, region="GB")


async def test_a_late_chance_is_dropped_at_start_only_when_expired_or_its_campaign_is_gone(client):
    prefix = f"latelogout{next(_prefixes)}"
    d = _daemon(client, prefix, T0, campaigns=("uk",))
    now = d.clock.now()
    d.undisposed.keep("a1", Undisposed("c-old", "uk", now - 1.0), None)
    d.undisposed.keep("a2", Undisposed("c-gone", "us", now + 600.0), None)  # "us" is no longer configured
    d.undisposed.keep("a9", Undisposed("c-later", "uk", now + 600.0), None)  # a9 is not logged in (yet)
    await d.store.flush()
    stop, task = await stopping(d)
    try:
        await d.agents_restored.wait()
        assert {a: u.call_id for a, u in d.engine.undisposed.items()} == {"a9": "c-later"}
    finally:
        await _stop(stop, task)
    assert await client.hkeys(d.store.key("undisposed")) == ["a9"]
