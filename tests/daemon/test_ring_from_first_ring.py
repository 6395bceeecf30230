"""A no-answer dial rings the campaign's ring timeout from its first ring, over the wire: the daemon, its own
`AmiClient` and the PBX simulator over TCP, on one accelerated clock. The Originate's `Timeout` is the ring
timeout plus the set-up allowance (Asterisk counts it from the channel request); the engine hangs the dial
up once it has rung the ring timeout since its Newstate Ringing; the simulator fails the Originate with
Reason 1 (hung up while ringing), and the call record says no_answer, as after Asterisk's own timeout.

Nothing sleeps: the test awaits the call's record.
"""

from __future__ import annotations

import asyncio
import contextlib

from bus_fakes import FakeBus
from daemon_fakes import ready_agent, running

from dialer.ami import actions
from dialer.ami.client import AmiClient
from dialer.clock import ScaledClock
from dialer.config import CampaignSettings, DialerSettings, HttpSettings, MetricsSettings, PacingSettings
from dialer.daemon import Daemon, runtime_from_settings
from dialer.engine.core import DialRequest, Engine
from dialer.engine.records import CallRecord
from dialer.leadsource import InMemoryLeadSource
from dialer.metrics import Metrics
from dialer.pbxsim import PbxSimulator
from dialer.pbxsim.model import SimOutcome
from dialer.store import RedisStore, connect_redis
from pacing import Mode
from pacing.traffic import TrafficModel

LIMIT = 10.0  # real seconds: only turns a hang into a failure
# nobody answers, and no far end gives up ringing before the dialer does
NOBODY = TrafficModel(p_live=0.0, p_machine=0.0, p_busy=0.0, p_congestion=0.0, p_invalid=0.0,
                      remote_noanswer_s=(1000.0, 1000.0))


class Results(InMemoryLeadSource):
    """Says when a call's record came."""

    def __init__(self) -> None:
        super().__init__([DialRequest("L1", "+15550000001")])
        self.recorded = asyncio.Event()

    async def record_result(self, record: CallRecord, target: object | None, now: float) -> None:
        await super().record_result(record, target, now)
        self.recorded.set()


async def test_an_unanswered_dial_rings_the_ring_timeout_from_its_first_ring_and_is_a_no_answer(redis_url):
    clock = ScaledClock(100.0, start=1_795_000_000.0)
    cs = CampaignSettings(id="c", ring_timeout_s=15, pacing=PacingSettings(mode=Mode.PROGRESSIVE))
    cfg = DialerSettings(campaigns=[cs], http=HttpSettings(enabled=False), metrics=MetricsSettings(enabled=False),
                         shutdown_grace_s=0.0)
    engine = Engine(hold_s=1.5)
    engine.add_campaign(runtime_from_settings(cs))
    leads = Results()
    client = connect_redis(redis_url)
    try:
        async with (PbxSimulator(NOBODY, clock=clock, seed=1) as sim,
                    AmiClient(host="127.0.0.1", port=sim.port, username="dialer", secret="change-me",
                              reconnect_delay=0.01, clock=clock) as ami):
            d = Daemon(cfg, clock=clock, engine=engine, ami=ami, store=RedisStore(client, prefix="ringfirst"),
                       bus=FakeBus(), leads={"c": leads}, metrics=Metrics())  # type: ignore[arg-type]
            async with running(d):
                async with asyncio.timeout(LIMIT):
                    await d.ami_ready.wait()
                ready_agent(d, "a1", "1001", campaign="c")
                async with asyncio.timeout(LIMIT):
                    await leads.recorded.wait()
        [rec] = leads.results
        truth = sim.calls[rec.call_id]
        assert truth.outcome is SimOutcome.CANCELLED  # the dialer hung it up while it rang...
        assert truth.originate_reason == 1
        assert (rec.outcome, rec.abandoned, rec.surplus_hangup) == ("no_answer", False, False)  # ...a no-answer
        call = engine.calls[rec.call_id]
        assert call.ringing_at is not None
        assert call.cut_at is not None
        assert call.cut_at - call.ringing_at >= 15.0  # rang its ring timeout, counted from the first ring
        assert sim.stats.originates_received == 1
    finally:
        with contextlib.suppress(Exception):
            await client.aclose()


async def test_the_originate_timeout_is_the_ring_timeout_plus_the_set_up_allowance(client):
    from daemon_fakes import OriginateCapture

    from dialer.engine.commands import Originate

    cs = CampaignSettings(id="c", ring_timeout_s=15)
    cfg = DialerSettings(campaigns=[cs], http=HttpSettings(enabled=False), metrics=MetricsSettings(enabled=False))
    engine = Engine()
    engine.add_campaign(runtime_from_settings(cs))
    ami = OriginateCapture()
    d = Daemon(cfg, clock=ScaledClock(1.0), engine=engine, ami=ami,  # type: ignore[arg-type]
               store=RedisStore(client, prefix="ringfirst2"), bus=FakeBus(),  # type: ignore[arg-type]
               leads={"c": InMemoryLeadSource()}, metrics=Metrics())
    d.execute([Originate("c-1-abcdef", "c", "L1", "+15550000001", True, 15.0, "Acme", "2125550100")], 0.0)
    [action] = ami.originates
    assert dict(action.headers)["Timeout"] == str(15_000 + actions.SETUP_ALLOWANCE_MS)
    assert action.wait_ms == 15_000 + actions.SETUP_ALLOWANCE_MS
