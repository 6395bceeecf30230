"""A late `dnc` disposition (the wrap-up ran out, docs/AGENT_DESKTOP.md "Late disposition") puts the person on
the do-not-call lists though the daemon no longer knows the call: it forgot it (`Engine.forget_ended`), or it
restarted since. What the engine keeps of the call for the late disposition (`Undisposed`, stored in Redis)
names the person: the lead, the number dialed, the subscriber."""

from __future__ import annotations

import asyncio
import itertools
import json
import random

from bus_fakes import FakeBus
from daemon_fakes import FakeAmi, ready_agent, stopping, talk_and_hang_up

from agents import commands as ac
from agents.screenpop import ScreenPopRenderer
from agents.state import AgentState
from dialer.clock import ScaledClock
from dialer.config import CampaignSettings, DialerSettings, HttpSettings, MetricsSettings
from dialer.daemon import Daemon, runtime_from_settings
from dialer.engine.core import Engine
from dialer.engine.records import Undisposed
from dialer.hopper import LeadStore
from dialer.leadsource import InMemoryLeadSource
from dialer.metrics import Metrics
from dialer.store import RedisStore
from dialer.undisposed_store import decode, encode

T0 = 1_795_000_000.0
_prefixes = itertools.count(1)


def _daemon(client: object, prefix: str, start: float) -> Daemon:
    cs = CampaignSettings(id="uk")
    cfg = DialerSettings(campaigns=[cs], http=HttpSettings(enabled=False), metrics=MetricsSettings(enabled=False),
                         shutdown_grace_s=0.0)
    engine = Engine(hold_s=1.5, rng=random.Random(3), screenpop=ScreenPopRenderer())
    engine.add_campaign(runtime_from_settings(cs))
    return Daemon(cfg, clock=ScaledClock(1.0, start=start), engine=engine, ami=FakeAmi(),  # type: ignore[arg-type]
                  store=RedisStore(client, prefix=prefix, timeout_s=2.0), bus=FakeBus(),  # type: ignore[arg-type]
                  leads={"uk": InMemoryLeadSource([])}, metrics=Metrics())


async def _drain(d: Daemon) -> None:
    async with asyncio.timeout(10):
        while d._pending:
            await asyncio.wait(set(d._pending))


async def _stop(stop: asyncio.Event, task: asyncio.Task[None]) -> None:
    stop.set()
    async with asyncio.timeout(10):
        await task


async def test_a_late_dnc_disposition_of_a_forgotten_call_reaches_the_dnc_lists(client):
    prefix = f"latednc{next(_prefixes)}"
    d = _daemon(client, prefix, T0)
    stop, task = await stopping(d)
    try:
        await d.agents_restored.wait()
        ready_agent(d)
        cid = talk_and_hang_up(d, 1)
        number = d.engine.calls[cid].number
        now = d.clock.now() + 200  # the wrap-up runs out: no_disposition, the late disposition stays open
        d.execute(d.engine.tick(now), now)
        assert d.engine.undisposed["a1"].call_id == cid
        assert d.engine.roster.get("a1").state is AgentState.PAUSED
        d.engine.forget_ended(keep=0)  # a busy centre ends the 10,000 calls the daemon keeps within the window
        assert cid not in d.engine.calls
        d.agent_command(ac.Disposition("a1", cid, "dnc", {"notes": "never call me again"}))
        await _drain(d)
    finally:
        await _stop(stop, task)
    assert await LeadStore(client, prefix=prefix).is_dnc(number, region="GB")
    [(_id, entry)] = await client.xrange(f"{prefix}:dnc_requests")
    assert (entry["call_id"], entry["number"], entry["source"]) == (cid, number, "agent-desk")


async def test_a_late_dnc_disposition_after_a_restart_reaches_the_dnc_lists(client):
    prefix = f"latednc{next(_prefixes)}"
    d = _daemon(client, prefix, T0)
    stop, task = await stopping(d)
    try:
        await d.agents_restored.wait()
        ready_agent(d)
        cid = talk_and_hang_up(d, 1)
        number = d.engine.calls[cid].number
    finally:
        await _stop(stop, task)  # the daemon stops with the wrap-up open: disposed late after the restart
    d2 = _daemon(client, prefix, T0 + 30)
    stop2, task2 = await stopping(d2)
    try:
        await d2.agents_restored.wait()
        assert d2.engine.undisposed["a1"].call_id == cid
        assert cid not in d2.engine.calls
        d2.agent_command(ac.Disposition("a1", cid, "dnc", {}))
        await _drain(d2)
    finally:
        await _stop(stop2, task2)
    assert await LeadStore(client, prefix=prefix).is_dnc(number, region="GB")


def test_the_stored_chance_keeps_whom_a_dnc_names():
    late = Undisposed("c-9", "uk", 10.0, lead_id="L9", number="+442075550199", subscriber_id="S-77")
    got = decode(encode(late, None)).late
    assert (got.lead_id, got.number, got.subscriber_id) == ("L9", "+442075550199", "S-77")
    assert got.dnc_fields() == {"subscriber_id": "S-77"}


def test_a_chance_stored_by_an_older_version_still_reads_back():
    raw = json.dumps({"call_id": "c-1", "campaign_id": "uk", "until": 10.0, "live_counted_at": None,
                      "amd_audit": False, "target": None, "pop": None})
    got = decode(raw).late
    assert (got.call_id, got.lead_id, got.number, got.subscriber_id) == ("c-1", "", None, "")
    assert got.dnc_fields() == {}
