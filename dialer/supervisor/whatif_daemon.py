"""The what-if replay checked end to end: a shift dialed by the real daemon against the PBX simulator,
its call records read back from Redis, fitted and replayed with the settings it ran with.

This is the path a supervisor uses (`POST /api/campaigns/{id}/whatif` reads the same records with the same
`CallRecord.from_fields` and `whatif.from_records`); what differs from the shift simulator's own check
(`whatif_check`) is everything between: AMI over TCP, the engine's state machines and hold rule, the
simulated agents' wrap-up over MQTT, the daemon's timers. The shift's truth is taken from its records:
talk share = talk time inside the shift / (agents x shift length), abandon rate = abandoned / live answers.

    python -m dialer.supervisor.whatif_daemon --agents 10 --hours 2 --seeds 1 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis

from agents.simulated import SimAgent, SimulatedAgents
from dialer.app import run_daemon, services
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
from dialer.engine.records import CallRecord
from dialer.leadsource import InMemoryLeadSource, LeadSource
from dialer.store import RedisStore, connect_redis
from dialer.supervisor.whatif import from_records, replay
from pacing import Mode, PacingKnobs
from pacing.traffic import TrafficModel

__all__ = ["daemon_case", "main"]


async def _shift(redis_url: str, agents: int, hours: float, seed: int, knobs: PacingSettings,
                 traffic: TrafficModel, speed: float) -> tuple[list[CallRecord], dict[str, float], float, float]:
    start = 1_709_650_800.0  # a Tuesday, 15:00 UTC; the clock starts here whatever the date
    clock = ScaledClock(speed, start=start)
    prefix = f"whatif{seed}x{int(time.time() * 1000) % 10**9}"
    campaign = CampaignSettings(id="upsell", amd=True, ring_timeout_s=20.0, wrapup_timeout_s=180.0, pacing=knobs)
    settings = DialerSettings(
        ami=AmiSettings(host="embedded", ping_interval_s=2.0, ping_timeout_s=2.0),
        redis=RedisSettings(url=redis_url, prefix=prefix), metrics=MetricsSettings(enabled=False),
        http=HttpSettings(enabled=False), campaigns=[campaign], shutdown_grace_s=0.0, clock_scale=speed,
    )
    team = [SimAgent(f"agent{i:03d}", f"{1000 + i}", campaign.id) for i in range(1, agents + 1)]
    stop = asyncio.Event()
    times: dict[str, float] = {}

    async def leads(cs: CampaignSettings, redis: aioredis.Redis) -> LeadSource:
        n = int(agents * hours * 200)
        return InMemoryLeadSource(DialRequest(f"L{i}", f"+1212{(seed * 7919 + i) % 10_000_000:07d}") for i in range(n))

    async with services(settings, clock, traffic=traffic, seed=seed) as svc:
        sim = SimulatedAgents(svc.mqtt_url, team, clock=clock, wrapup=traffic.wrapup, seed=seed)

        async def work(daemon: Daemon) -> None:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(sim.run(), name="simulated-agents")
                await sim.logged_in.wait()
                times["start"] = clock.now()
                await clock.sleep(hours * 3600.0)
                times["end"] = clock.now()
                stop.set()

        await run_daemon(settings, svc, clock, leads, stop, on_ready=work)
    redis = connect_redis(redis_url)
    try:
        store = RedisStore(redis, prefix=prefix)
        records = [CallRecord.from_fields(f) for f in await store.call_records()]
        disp: Any = await redis.xrange(store.key("dispositions"))
        await redis.delete(*[k async for k in redis.scan_iter(match=f"{prefix}:*")])
    finally:
        await redis.aclose()
    ended = {r.call_id: r.ended_at for r in records}
    wrap = {f["call_id"]: max(0.0, float(f["disposed_at"]) - ended[f["call_id"]]) for _id, f in disp or ()
            if f.get("call_id") in ended and not f.get("amends")}  # a late disposition came after the wrap-up
    return records, wrap, times["start"], times["end"]


def daemon_case(redis_url: str, agents: int, hours: float, seed: int, knobs: PacingKnobs,
                traffic: TrafficModel | None = None, speed: float = 60.0, replay_seeds: int = 3) -> dict[str, Any]:
    """One shift through the daemon and its replay: truth from the records next to the prediction."""
    traffic = traffic or TrafficModel()
    settings = PacingSettings(mode=knobs.mode, ratio=knobs.ratio, target_abandon=knobs.target_abandon)
    wall = time.perf_counter()
    records, wrap, start, end = asyncio.run(_shift(redis_url, agents, hours, seed, settings, traffic, speed))
    inside = [r for r in records if start <= r.ended_at < end + 600.0]
    h = from_records(inside, wrap, campaign="upsell", start=start, end=end, agents=agents, ring_timeout_s=20.0,
                     amd=True, hold_s=1.5)
    actual = h.actual()
    out = replay(h, [("as run", knobs)], seeds=replay_seeds, first_seed=500 + seed)
    pred: dict[str, Any] = out["variants"][0]  # type: ignore[index]
    t_share, t_ab = float(actual["talk_share"] or 0.0), float(actual["abandon_rate"] or 0.0)
    return {
        "case": f"daemon {agents}a {hours:g}h {knobs.mode.value}"
                + (f" {knobs.ratio:g}" if knobs.mode is Mode.POWER else "") + f" seed {seed}",
        "agents": agents, "mode": knobs.mode.value, "ratio": knobs.ratio, "dials": h.dials,
        "truth_talk_share": t_share, "pred_talk_share": float(pred["talk_share"]),
        "talk_share_err_pp": 100 * (float(pred["talk_share"]) - t_share),
        "truth_abandon": t_ab, "pred_abandon": float(pred["abandon_rate"]),
        "abandon_err_pp": 100 * (float(pred["abandon_rate"]) - t_ab),
        "truth_contacts": h.contacts, "pred_contacts": float(pred["contacts"]),
        "contacts_err_pct": 100 * (float(pred["contacts"]) - h.contacts) / h.contacts if h.contacts else 0.0,
        "wall_s": time.perf_counter() - wall,
    }


def main(argv: Sequence[str] | None = None) -> int:
    from agents.desk.harness import private_redis

    ap = argparse.ArgumentParser(prog="python -m dialer.supervisor.whatif_daemon", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agents", type=int, default=10)
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--speed", type=float, default=60.0,
                    help="virtual seconds per real second (above ~100 the daemon's 1.5 s hold is a few real ms)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    settings = [PacingKnobs(mode=Mode.PROGRESSIVE), PacingKnobs(mode=Mode.POWER, ratio=2.0)]
    rows = []
    with private_redis() as url:
        for knobs in settings:
            for seed in args.seeds:
                r = daemon_case(url, args.agents, args.hours, seed, knobs, speed=args.speed)
                rows.append(r)
                print(f"{r['case']:<40} talk share {100 * r['truth_talk_share']:.1f} / {100 * r['pred_talk_share']:.1f}"
                      f"  abandon % {100 * r['truth_abandon']:.2f} / {100 * r['pred_abandon']:.2f}"
                      f"  contacts {r['truth_contacts']} / {r['pred_contacts']:.0f}  ({r['wall_s']:.0f} s)", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
