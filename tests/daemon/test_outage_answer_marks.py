"""A person answers while the AMI link is half-open and hangs up before it is back: over the wire, an abandon.

The daemon, its own `AmiClient` and the PBX simulator over TCP, on one clock. The simulator goes half-open
(`freeze`: it keeps the TCP connection but reads and sends nothing, and greets no new connection) while a dial
rings; meanwhile the person answers, waits in `dialer-connect`'s silence and hangs up. The client's ping
watchdog gives the connection up; once the simulator is back the client reconnects, `CoreShowChannels` has no
row for the call, and only the answer mark the dialplan left in AstDB (read with `DBGet`) tells the daemon a
person was there: the call is counted abandoned, not retried as lost.

Nothing here sleeps: each step awaits the simulator's record of the call or the daemon's link changes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from bus_fakes import FakeBus
from daemon_fakes import ready_agent

from dialer.ami import events as ev
from dialer.ami.client import AmiClient
from dialer.ami.wire import Block
from dialer.clock import ScaledClock
from dialer.config import CampaignSettings, DialerSettings, HttpSettings, MetricsSettings, PacingSettings
from dialer.daemon import Daemon, runtime_from_settings
from dialer.engine.calls import CallOutcome
from dialer.engine.core import DialRequest, Engine
from dialer.leadsource import InMemoryLeadSource
from dialer.metrics import Metrics
from dialer.pbxsim import FarEndOptions, PbxSimulator
from dialer.pbxsim import actions as sim_actions
from dialer.pbxsim.model import SimOutcome
from dialer.store import RedisStore, connect_redis
from pacing import Mode
from pacing.traffic import AmdSpec, LognormalSpec, RingMix, TrafficModel

LIMIT = 20.0  # real seconds: only turns a hang into a failure


def far_end(machine: bool) -> TrafficModel:
    """Every call answered after 0.5 s of ringing, by a person who hangs up 1 s after being parked, or by a
    machine (AMD says so) that hangs up after its greeting."""
    return TrafficModel(
        p_live=0.0 if machine else 1.0, p_machine=1.0 if machine else 0.0, p_busy=0.0, p_congestion=0.0,
        p_invalid=0.0, live_ring=RingMix(means=(0.5,), weights=(1.0,), cv=0.0),
        machine_ring=RingMix(means=(0.5,), weights=(1.0,), cv=0.0), remote_noanswer_s=(1000.0, 1000.0),
        fail_after_s=(1.0, 1.0), talk=LognormalSpec(1e6, 0.0), patience=LognormalSpec(1.0, 0.0),
        amd=AmdSpec(human_delay_s=(0.2, 0.2), machine_delay_s=(0.2, 0.2), false_positive=0.0, false_negative=0.0))


@contextlib.asynccontextmanager
async def over_tcp(redis_url: str, prefix: str, traffic: TrafficModel
                   ) -> AsyncIterator[tuple[Daemon, PbxSimulator, InMemoryLeadSource]]:
    """A daemon with one progressive campaign `c` whose AMI side runs against the simulator; the client pings
    every 0.2 s, so a half-open link is given up within 0.4 s. A machine's greeting lasts 1 s."""
    clock = ScaledClock(1.0, start=1_795_000_000.0)
    cs = CampaignSettings(id="c", pacing=PacingSettings(mode=Mode.PROGRESSIVE))
    cfg = DialerSettings(campaigns=[cs], http=HttpSettings(enabled=False), metrics=MetricsSettings(enabled=False))
    engine = Engine(hold_s=1.5)
    engine.add_campaign(runtime_from_settings(cs))
    leads = InMemoryLeadSource([DialRequest("L1", "+15550000001")])
    client = connect_redis(redis_url)
    async with (PbxSimulator(traffic, clock=clock, seed=1, far_end=FarEndOptions(machine_greeting_s=(1.0, 1.0))) as sim,
                AmiClient(host="127.0.0.1", port=sim.port, username="dialer", secret="change-me", ping_interval=0.2,
                          ping_timeout=0.2, connect_timeout=0.5, reconnect_delay=0.05, reconnect_max_delay=0.2,
                          clock=clock) as ami):
        d = Daemon(cfg, clock=clock, engine=engine, ami=ami, store=RedisStore(client, prefix=prefix),
                   bus=FakeBus(), leads={"c": leads}, metrics=Metrics())  # type: ignore[arg-type]
        task = asyncio.create_task(d.run_ami_only())
        try:
            yield d, sim, leads
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await client.aclose()
    assert sim.stats.internal_errors == 0, sim.errors


async def answered_unseen(d: Daemon, sim: PbxSimulator, leads: InMemoryLeadSource,
                          monkeypatch: pytest.MonkeyPatch) -> str:
    """One dial; the simulator goes half-open as it takes the Originate, and comes back once the far end has
    answered and hung up and the daemon has given the link up."""
    originate = sim_actions.HANDLERS["originate"]

    def then_freeze(pbx: Any, session: Any, block: Block) -> None:
        originate(pbx, session, block)  # its Success goes out: it is queued before the freeze
        sim.freeze()

    monkeypatch.setitem(sim_actions.HANDLERS, "originate", then_freeze)
    lost = asyncio.Event()
    link_changed = d._link_changed

    async def spy(event: ev.AmiConnected | ev.AmiDisconnected, now: float) -> None:
        await link_changed(event, now)
        if isinstance(event, ev.AmiDisconnected):
            lost.set()

    d._link_changed = spy  # type: ignore[method-assign]
    ready_agent(d, "a1", "1001", campaign="c")
    async with asyncio.timeout(LIMIT):
        await d.ami_ready.wait()
    await d._pace_once("c", leads)
    [call_id] = list(d.engine.calls)
    async with asyncio.timeout(LIMIT):
        record = await sim.wait_call_ended(call_id)
        await lost.wait()  # the watchdog gave the half-open link up
    assert record.answered_at is not None
    sim.unfreeze()
    async with asyncio.timeout(LIMIT):
        await d.ami_ready.wait()  # reconnected and resynced
    return call_id


async def test_a_person_who_answered_and_hung_up_during_the_outage_is_counted_abandoned(redis_url, monkeypatch):
    async with over_tcp(redis_url, "marks-person", far_end(machine=False)) as (d, sim, leads):
        call_id = await answered_unseen(d, sim, leads, monkeypatch)
        assert sim.calls[call_id].outcome is SimOutcome.FAR_HANGUP_WAITING  # nobody came
        c = d.engine.calls[call_id]
        assert (c.outcome, c.abandoned) == (CallOutcome.ABANDONED, True)
        # the mark's ${EPOCH} (whole seconds; never before the dial)
        assert c.answered_at == max(c.dialed_at, int(sim.calls[call_id].answered_at or 0))
        assert d.engine.campaigns["c"].pacer.ledger.status(d.clock.now()).abandons == 1
        [record] = leads.results
        assert (record.outcome, record.abandoned) == ("abandoned", True)  # the 72-hour lock follows


async def test_a_machine_that_answered_during_the_outage_is_a_machine(redis_url, monkeypatch):
    async with over_tcp(redis_url, "marks-machine", far_end(machine=True)) as (d, sim, leads):
        call_id = await answered_unseen(d, sim, leads, monkeypatch)
        c = d.engine.calls[call_id]
        assert (c.outcome, c.abandoned) == (CallOutcome.MACHINE, False)
        assert d.engine.campaigns["c"].pacer.ledger.status(d.clock.now()).abandons == 0
