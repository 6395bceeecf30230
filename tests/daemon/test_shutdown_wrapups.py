"""Wrap-ups that end without the agent's disposition. Stopping the daemon while agents are in wrap-up:
the grace waits for their dispositions, and a wrap-up still open when it ends gets `no_disposition`, so
every lead talked to gets its result written. A wrap-up that runs out gets `no_disposition` too, and
the agent's late disposition then replaces it."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
from typing import Any

from bus_fakes import CommandBus
from daemon_fakes import FakeAmi, daemon_logs, ready_agent, stopping, talk_and_hang_up

from agents import commands as ac
from agents.state import AgentState
from dialer.clock import ScaledClock
from dialer.config import CampaignSettings, DialerSettings, HttpSettings, MetricsSettings
from dialer.daemon import Daemon, runtime_from_settings
from dialer.engine.commands import DispositionMade
from dialer.engine.core import Engine
from dialer.engine.records import Undisposed
from dialer.leadsource import InMemoryLeadSource
from dialer.metrics import Metrics
from dialer.store import RedisStore

T0 = 1_795_000_000.0
_prefixes = itertools.count(1)


class GatedLeadSource(InMemoryLeadSource):
    """Holds the write of a `no_disposition` until the test opens `gate`, as a slow Redis would; meanwhile
    the agent's own disposition for that call arrives, a moment too late."""

    def __init__(self, bus: CommandBus) -> None:
        super().__init__([])
        self._bus = bus
        self.writing = asyncio.Event()
        self.gate = asyncio.Event()

    async def record_disposition(self, disposition: DispositionMade, now: float) -> None:
        if disposition.code == "no_disposition":
            late = {"type": "disposition", "call_id": disposition.call_id, "code": "sale"}
            self._bus.commands.put_nowait((disposition.agent_id, json.dumps(late).encode()))
            self.writing.set()
            await self.gate.wait()
        await super().record_disposition(disposition, now)


class LateSource(InMemoryLeadSource):
    """Sets `amended` when a late disposition reaches it."""

    def __init__(self) -> None:
        super().__init__([])
        self.amended = asyncio.Event()

    async def record_disposition(self, disposition: DispositionMade, now: float) -> None:
        await super().record_disposition(disposition, now)
        if disposition.amends is not None:
            self.amended.set()


def make_daemon(client: Any, grace_s: float, prefix: str = "") -> tuple[Daemon, GatedLeadSource, CommandBus]:
    cs = CampaignSettings(id="uk")
    cfg = DialerSettings(campaigns=[cs], http=HttpSettings(enabled=False), metrics=MetricsSettings(enabled=False),
                         shutdown_grace_s=grace_s)
    engine = Engine(hold_s=1.5, rng=random.Random(3))
    engine.add_campaign(runtime_from_settings(cs))
    bus = CommandBus()
    source = GatedLeadSource(bus)
    d = Daemon(cfg, clock=ScaledClock(1.0, start=T0), engine=engine, ami=FakeAmi(),  # type: ignore[arg-type]
               store=RedisStore(client, prefix=prefix or f"wrap{next(_prefixes)}"), bus=bus,  # type: ignore[arg-type]
               leads={"uk": source}, metrics=Metrics())
    return d, source, bus


async def test_a_wrapup_open_when_the_grace_ends_is_disposed_and_its_lead_result_written(client, monkeypatch):
    d, source, bus = make_daemon(client, grace_s=0.0)
    flushing = asyncio.Event()  # the shutdown's last steps (flush Redis, then return) have begun
    flush = d.store.flush

    async def flush_after_mark(timeout_s: float = 10.0) -> None:
        flushing.set()
        await flush(timeout_s)

    monkeypatch.setattr(d.store, "flush", flush_after_mark)
    stop, task = await stopping(d)
    ready_agent(d)
    cid = talk_and_hang_up(d, 1)
    stop.set()
    await source.writing.wait()
    assert not flushing.is_set(), "the shutdown went on without waiting for the lead source's write"
    source.gate.set()
    await task
    assert [(r.call_id, r.outcome) for r in source.results] == [(cid, "connected")]
    assert [(x.call_id, x.code, x.fields) for x in source.dispositions] == [
        (cid, "no_disposition", {"auto": "shutdown"})]
    assert d.engine.roster.get("a1").state is not AgentState.WRAPUP
    # the agent's own disposition came once the shutdown had closed the wrap-up: ignored, not answered
    # with a refusal the closing desktop would show
    assert bus.commands.empty()
    assert not [p for _t, p in bus.published if p.get("kind") == "error"], bus.published


async def test_the_grace_waits_for_the_agents_disposition(client, caplog):
    d, source, _bus = make_daemon(client, grace_s=600.0)
    stop, task = await stopping(d)
    ready_agent(d)
    cid = talk_and_hang_up(d, 2)
    caplog.set_level(logging.INFO, logger="dialer.daemon")
    with daemon_logs(lambda r: r.getMessage().startswith("stopping:")) as began:
        stop.set()
        await began.wait()
    # the shutdown ran on until it waits: for the wrap-up, which is still open
    assert d.engine.roster.get("a1").state is AgentState.WRAPUP
    assert not task.done()
    d.agent_command(ac.Disposition("a1", cid, "sale"))
    await task
    assert [(x.call_id, x.code) for x in source.dispositions] == [(cid, "sale")]


async def test_a_late_disposition_reaches_the_records_and_the_lead_source(client):
    d, _gated, bus = make_daemon(client, grace_s=0.0)
    source = d.leads["uk"] = LateSource()
    stop, task = await stopping(d)
    try:
        ready_agent(d)
        cid = talk_and_hang_up(d, 3)
        d.engine.wrapup_deadlines["a1"] = now = d.clock.now()  # the wrap-up runs out now
        d.execute(d.engine.tick(now), now)
        assert d.engine.roster.get("a1").state is AgentState.PAUSED
        d.agent_command(ac.Disposition("a1", cid, "sale", {"notes": "signed after the timeout"}))
        await source.amended.wait()
    finally:
        stop.set()
        await task
    assert [(x.code, x.amends) for x in source.dispositions] == [("no_disposition", None), ("sale", "no_disposition")]
    kinds = [p.get("kind") for _t, p in bus.published]
    assert "late_disposition" in kinds, bus.published
    assert "error" not in kinds, bus.published
    stream = await client.xrange(d.store.key("dispositions"))
    assert [(f["disposition"], f.get("amends")) for _id, f in stream] == [("no_disposition", None),
                                                                           ("sale", "no_disposition")]
    assert (await client.hget(d.store.key("call", cid), "disposition")) == "sale"
    reg = d.metrics.registry
    assert [reg.get_sample_value("dialer_dispositions_total", {"campaign": "uk", "how": how})
            for how in ("agent", "no_disposition", "late")] == [None, 1.0, 1.0]


async def test_a_late_disposition_left_by_a_shutdown_can_be_given_after_the_restart(client):
    prefix = f"wrap{next(_prefixes)}"
    first, _gated, _bus = make_daemon(client, grace_s=0.0, prefix=prefix)
    first.leads["uk"] = InMemoryLeadSource([])
    stop, task = await stopping(first)
    ready_agent(first)
    cid = talk_and_hang_up(first, 4)
    stop.set()
    await task  # the wrap-up ended no_disposition; the agent may still dispose the call late
    assert await client.hkeys(first.store.key("undisposed")) == ["a1"]

    second, _gated, bus = make_daemon(client, grace_s=0.0, prefix=prefix)
    source = second.leads["uk"] = LateSource()
    stop, task = await stopping(second)
    try:
        await second.agents_restored.wait()
        assert second.engine.undisposed["a1"].call_id == cid
        assert second.late_pops[cid]["call_id"] == cid  # the screen-pop the agent had, for the desk
        second.agent_command(ac.Disposition("a1", cid, "sale", {"notes": "typed while the dialer restarted"}))
        await source.amended.wait()
    finally:
        stop.set()
        await task
    assert [(x.call_id, x.code, x.amends) for x in source.dispositions] == [(cid, "sale", "no_disposition")]
    assert "error" not in [p.get("kind") for _t, p in bus.published], bus.published
    assert await client.hkeys(second.store.key("undisposed")) == []  # used: gone
    assert (await client.hget(second.store.key("call", cid), "disposition")) == "sale"


async def test_a_late_chance_whose_time_is_over_or_whose_campaign_is_gone_is_dropped_at_start(client):
    # one whose agent is not logged in is kept for their next login (test_late_chance_after_logout_restart)
    prefix = f"wrap{next(_prefixes)}"
    d, _gated, _bus = make_daemon(client, grace_s=0.0, prefix=prefix)
    now = d.clock.now()
    d.undisposed.keep("a1", Undisposed("c-old", "uk", now - 1.0), None)
    d.undisposed.keep("a9", Undisposed("c-gone", "us", now + 600.0), None)  # "us" is not configured
    await d.store.flush()
    stop, task = await stopping(d)
    try:
        await d.agents_restored.wait()
        assert d.engine.undisposed == {}
    finally:
        stop.set()
        await task
    assert await client.hkeys(d.store.key("undisposed")) == []
