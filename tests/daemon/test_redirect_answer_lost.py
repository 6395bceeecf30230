"""A Redirect to an agent whose answer the dropped AMI connection took, over the wire.

The daemon, its own `AmiClient` and the PBX simulator over TCP, on one clock. The simulator's Redirect
handler is wrapped so that the connection drops right as Asterisk takes the Redirect: its `Response:
Success` (and the events of the move) never reach the daemon, as when the network fails with the action in
flight. The client reconnects and the daemon resyncs with CoreShowChannels, whose rows say where the
customer leg is. Carried out, the person is with the agent and must stay there: no second Redirect, no
abandon message. Not carried out (the connection dropped before Asterisk read it), the person is still parked
and goes to the agent now.

Nothing here sleeps: each step awaits what the daemon publishes to the agent's feed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from bus_fakes import FakeBus
from daemon_fakes import ready_agent

from agents.state import AgentState
from dialer.ami.client import AmiClient
from dialer.ami.wire import Block
from dialer.clock import ScaledClock
from dialer.config import CampaignSettings, DialerSettings, HttpSettings, MetricsSettings, PacingSettings
from dialer.daemon import Daemon, runtime_from_settings
from dialer.engine.calls import CallState
from dialer.engine.core import DialRequest, Engine
from dialer.leadsource import InMemoryLeadSource
from dialer.metrics import Metrics
from dialer.pbxsim import PbxSimulator
from dialer.pbxsim import actions as sim_actions
from dialer.pbxsim.model import SimOutcome
from dialer.pbxsim.session import AmiSession
from dialer.store import RedisStore, connect_redis
from pacing import Mode
from pacing.traffic import AmdSpec, LognormalSpec, RingMix, TrafficModel

LIMIT = 10.0  # real seconds: only turns a hang into a failure

# every call answered by a person after 0.5 s of ringing, who waits and talks until hung up
PEOPLE = TrafficModel(
    p_live=1.0, p_machine=0.0, p_busy=0.0, p_congestion=0.0, p_invalid=0.0,
    live_ring=RingMix(means=(0.5,), weights=(1.0,), cv=0.0), machine_ring=RingMix(means=(0.5,), weights=(1.0,), cv=0.0),
    remote_noanswer_s=(1000.0, 1000.0), fail_after_s=(1.0, 1.0), talk=LognormalSpec(1e6, 0.0),
    patience=LognormalSpec(1e6, 0.0), amd=AmdSpec(human_delay_s=(0.2, 0.2), false_positive=0.0, false_negative=0.0),
)


@contextlib.asynccontextmanager
async def over_tcp(redis_url: str, prefix: str) -> AsyncIterator[tuple[Daemon, PbxSimulator, InMemoryLeadSource]]:
    """A daemon with one progressive campaign `c` whose AMI side runs against the simulator."""
    clock = ScaledClock(1.0, start=1_795_000_000.0)
    cs = CampaignSettings(id="c", pacing=PacingSettings(mode=Mode.PROGRESSIVE))
    cfg = DialerSettings(campaigns=[cs], http=HttpSettings(enabled=False), metrics=MetricsSettings(enabled=False))
    engine = Engine(hold_s=1.5)
    engine.add_campaign(runtime_from_settings(cs))
    leads = InMemoryLeadSource([DialRequest("L1", "+15550000001")])
    client = connect_redis(redis_url)
    async with (PbxSimulator(PEOPLE, clock=clock, seed=1) as sim,
                AmiClient(host="127.0.0.1", port=sim.port, username="dialer", secret="change-me",
                          reconnect_delay=0.01, clock=clock) as ami):
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


class DropOnFirstRedirect:
    """The simulator's Redirect handler, but the first Redirect drops the connection: after Asterisk carried it
    out (`carry_out`), or before it read it. Either way its answer is lost."""

    def __init__(self, carry_out: bool) -> None:
        self.carry_out = carry_out
        self.redirects: list[dict[str, str]] = []
        self._original = sim_actions.HANDLERS["redirect"]

    def __call__(self, pbx: Any, session: AmiSession, block: Block) -> None:
        self.redirects.append({k: v for k, v in block.headers})
        if len(self.redirects) > 1:
            self._original(pbx, session, block)
            return
        if self.carry_out:
            self._original(pbx, session, block)
        session.abort()  # RST: what it queued this loop turn, the Success answer included, is never written


async def agent_told(d: Daemon, agent_id: str, kind: str) -> dict[str, Any]:
    """The first message of `kind` the daemon published to the agent's feed (waiting for it if need be)."""
    seen = 0
    async with asyncio.timeout(LIMIT):
        while True:
            msgs = d.feed.since(agent_id, seen) or []
            for m in msgs:
                if m["kind"] == kind:
                    return m
            seen = d.feed.last_seq(agent_id)
            await d.feed.wait(agent_id, seen, LIMIT)


@pytest.mark.parametrize("carry_out", [True, False])
async def test_a_redirect_to_an_agent_whose_answer_was_lost_puts_the_person_through_once(redis_url, monkeypatch,
                                                                                          carry_out):
    hook = DropOnFirstRedirect(carry_out)
    monkeypatch.setitem(sim_actions.HANDLERS, "redirect", hook)
    async with over_tcp(redis_url, f"lostredir{int(carry_out)}") as (d, sim, leads):
        ready_agent(d, "a1", "1001", campaign="c")
        async with asyncio.timeout(LIMIT):
            await d.ami_ready.wait()  # connected, and the look for an earlier process's calls done: dialing may go
        await d._pace_once("c", leads)
        connected = await agent_told(d, "a1", "connected")
        call_id = connected["call_id"]
        assert d.engine.calls[call_id].state is CallState.CONNECTED
        assert d.engine.roster.get("a1").state is AgentState.TALKING
        record = sim.calls[call_id]
        assert (record.outcome, record.agent, record.abandon_at) == (SimOutcome.CONNECTED, "1001", None)
        assert record.connected_at is not None  # the person talks to a1, and never heard the abandon message
        assert sim.stats.sessions_opened == 2  # the drop, and the reconnect
        # carried out: the Redirect the PBX took stands, nothing pulls the person out of a1's bridge;
        # not carried out: the person was still parked, and is sent to a1 once more
        assert [r["Exten"] for r in hook.redirects] == (["1001"] if carry_out else ["1001", "1001"])
        assert d.engine.stats.abandoned == 0
