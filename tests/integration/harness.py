"""A short shift of the real daemon against the PBX simulator over TCP, with hooks for faults.

Everything is real but the people: the daemon as `dialer run` builds it, the simulator in-process
(so a test can drop or freeze its AMI connections), simulated agents over MQTT, Redis for records.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from agents.simulated import SimAgent, SimulatedAgents
from dialer.app import Services, run_daemon
from dialer.clock import ScaledClock
from dialer.config import (
    AmiSettings,
    CampaignSettings,
    DialerSettings,
    HttpSettings,
    MetricsSettings,
    PacingSettings,
    RedisSettings,
)
from dialer.daemon import Daemon
from dialer.engine.core import DialRequest
from dialer.leadsource import InMemoryLeadSource, LeadSource
from dialer.pbxsim import PbxSimulator
from dialer.store import RedisStore, connect_redis
from pacing import Mode
from pacing.traffic import AmdSpec, LognormalSpec, TrafficModel

FAST_TRAFFIC = TrafficModel(
    p_live=0.35,
    p_machine=0.15,
    p_busy=0.05,
    p_congestion=0.02,
    p_invalid=0.02,
    talk=LognormalSpec(40.0, 0.8),
    wrapup=LognormalSpec(8.0, 0.5),
    amd=AmdSpec(enabled=True, false_positive=0.01),
)


@dataclass
class ShiftResult:
    records: list[dict[str, str]]
    sim: PbxSimulator
    daemon: Daemon
    agents: SimulatedAgents
    leads: InMemoryLeadSource
    marks: dict[str, float] = field(default_factory=dict)


async def run_shift(
    redis_url: str,
    mqtt_url: str,
    *,
    agents: int = 4,
    minutes: float = 12.0,
    speed: float = 120.0,
    seed: int = 3,
    mode: Mode = Mode.POWER,
    ratio: float = 1.6,
    amd_audit_share: float = 0.02,
    requests: list[DialRequest] | None = None,
    during: Callable[[PbxSimulator, Daemon, ScaledClock, dict[str, float]], Awaitable[None]] | None = None,
    pacing: dict[str, object] | None = None,
    campaign_settings: dict[str, object] | None = None,
    sim_options: dict[str, object] | None = None,
    traffic: TrafficModel = FAST_TRAFFIC,
    ledger_lives: int = 0,
) -> ShiftResult:
    """`ledger_lives`: connected live answers the campaign's compliance ledger holds before the shift (as in a
    30-day period well under way), so that power mode's dials beyond one per ready agent have an abandon
    budget from the start; a fresh period has none."""
    clock = ScaledClock(speed, start=1_795_000_000.0)
    prefix = f"t{uuid.uuid4().hex[:8]}"
    knobs = PacingSettings.model_validate({"mode": mode, "ratio": ratio, "amd_audit_share": amd_audit_share,
                                           **(pacing or {})})
    campaign = CampaignSettings.model_validate({"id": "itest", "ring_timeout_s": 20.0, "wrapup_timeout_s": 600.0,
                                                "pacing": knobs, **(campaign_settings or {})})
    settings = DialerSettings(
        ami=AmiSettings(host="127.0.0.1", ping_interval_s=0.3, ping_timeout_s=0.3, reconnect_delay_s=0.05),
        redis=RedisSettings(url=redis_url, prefix=prefix),
        metrics=MetricsSettings(enabled=False),
        http=HttpSettings(enabled=False),
        campaigns=[campaign],
        shutdown_grace_s=30.0,
    )
    leads = InMemoryLeadSource(requests if requests is not None else [
        DialRequest(lead_id=f"L{i}", number=f"+1212555{i:04d}", fields={"name": f"N{i}"}) for i in range(3000)
    ])
    team = [SimAgent(f"{prefix}a{i}", f"{100 + i}", campaign.id) for i in range(agents)]
    sim_agents = SimulatedAgents(mqtt_url, team, clock=clock, wrapup=traffic.wrapup, seed=seed)
    stop = asyncio.Event()
    marks: dict[str, float] = {}

    async def factory(_cs: CampaignSettings, _r: aioredis.Redis) -> LeadSource:
        return leads

    async with PbxSimulator(traffic, clock=clock, seed=seed, **(sim_options or {})) as sim:
        svc = Services(redis_url=redis_url, mqtt_url=mqtt_url, ami_host="127.0.0.1", ami_port=sim.port, pbx=None)
        box: dict[str, Daemon] = {}

        async def shift(daemon: Daemon) -> None:
            box["d"] = daemon
            if ledger_lives:
                await daemon.ledger_ready[campaign.id].wait()  # restored from Redis: what is added now stays
                ledger = daemon.engine.campaigns[campaign.id].pacer.ledger
                for _ in range(ledger_lives):
                    ledger.record_live(clock.now() - 3600.0, abandoned=False)
            async with asyncio.TaskGroup() as tg:
                tg.create_task(sim_agents.run())
                await sim_agents.logged_in.wait()
                # the shift starts with the first dial: on a cold host (a fresh venv compiling its
                # bytecode, the broker's first connections) the agents' Ready can take seconds of wall
                # time, which at 120x is minutes of the shift; a fault injected before dialing began
                # would test nothing. Bounded, so a daemon that never dials still fails the test.
                limit = clock.now() + 600.0
                while box["d"].engine.stats.placed == 0 and clock.now() < limit:
                    await clock.sleep(1.0)
                marks["start"] = clock.now()
                if during is not None:
                    await during(sim, daemon, clock, marks)
                await clock.sleep(max(0.0, marks["start"] + minutes * 60 - clock.now()))
                stop.set()

        daemon = await run_daemon(settings, svc, clock, factory, stop, on_ready=shift)
        redis = connect_redis(redis_url)
        try:
            records = await RedisStore(redis, prefix=prefix).call_records()
        finally:
            await redis.aclose()
        return ShiftResult(records, sim, daemon, sim_agents, leads, marks)


def assert_invariants(res: ShiftResult) -> None:
    """What every shift must satisfy, whatever happened during it."""
    ids = [r["call_id"] for r in res.records]
    assert len(ids) == len(set(ids)), "a call has two records"
    originated = {cid for cid in res.sim.calls if not cid.startswith("pbxsim-")}
    placed = res.daemon.engine.stats.placed
    assert set(ids) >= originated, f"calls with no record: {sorted(originated - set(ids))[:5]}"
    assert len(ids) == placed, f"{placed} calls placed but {len(ids)} records"
    for r in res.records:
        if r["outcome"] in ("delivered", "machine_message", "hung_up_before_message"):  # agentless: never an agent
            assert (r["abandoned"], r["agent_id"], r["connected_at"]) == ("0", "", ""), r
            assert r["message"], r
            assert bool(r["human_at"]) is (r["outcome"] != "machine_message"), r
        if r["human_at"]:
            assert r["outcome"] in {"connected", "abandoned", "hung_up_waiting", "delivered",
                                    "hung_up_before_message"}, r
            if r["outcome"] == "hung_up_waiting":
                assert float(r["wait_s"]) <= 2.0, r
            if r["outcome"] != "connected":
                assert r["connected_at"] == "", r
        if r["abandoned"] == "1":
            assert r["human_at"], r
    by_agent: dict[str, list[tuple[float, float]]] = {}
    for r in res.records:
        if r["connected_at"]:
            by_agent.setdefault(r["agent_id"], []).append((float(r["connected_at"]), float(r["ended_at"])))
    for agent, spans in by_agent.items():
        spans.sort()
        for (_s0, e0), (s1, _e1) in itertools.pairwise(spans):
            assert s1 >= e0, f"agent {agent} had two calls at once"
