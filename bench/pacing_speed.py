"""How fast the shift simulator runs: an 8-hour shift of 100 agents, progressive and predictive.

    OPENBLAS_NUM_THREADS=1 python -m bench.pacing_speed

Runs, one after the other in this process, telecom_upsell's traffic with 100 agents for one 8-hour
shift: progressive (the simulator's own cost: no model), predictive with a 2 s decision timer (the
grid's) and with a 1 s timer. Reports wall and CPU seconds, decisions, and the predictive pacer's extra
CPU per decision beyond the progressive run. The ratio to the progressive run, measured side by side,
is the figure that survives a busy machine. Writes docs/bench/pacing_speed.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from pacing import Mode, Pacer, PacingKnobs
from pacing.sim import simulate
from pacing.sim.scenario import telecom_upsell

DOCS = Path(__file__).resolve().parent.parent / "docs" / "bench"


def _one(mode: Mode, timer_s: float, seed: int) -> dict[str, Any]:
    sc = replace(telecom_upsell(), name="speed-n100", agents=100, decide_every_s=timer_s)
    knobs = PacingKnobs(mode=mode, max_channels=2000, max_cps=1e6)
    w0, c0 = time.perf_counter(), time.process_time()
    res = simulate(sc, Pacer(knobs), seed, mode.value)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    m = res.metrics(0)
    return {
        "policy": mode.value,
        "timer_s": timer_s,
        "wall_s": wall,
        "cpu_s": cpu,
        "decisions": res.decisions,
        "contacts_per_agent_shift": m["contacts_per_agent_shift"],
        "abandon_pct": m["abandon_pct"],
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    rows = [
        _one(Mode.PROGRESSIVE, 2.0, args.seed),
        _one(Mode.PREDICTIVE, 2.0, args.seed),
        _one(Mode.PREDICTIVE, 1.0, args.seed),
    ]
    base = rows[0]["cpu_s"]
    for r in rows:
        r["cpu_vs_progressive"] = r["cpu_s"] / base
        extra = r["cpu_s"] - base
        r["pacer_us_per_decision"] = 1e6 * extra / r["decisions"] if r["policy"] == "predictive" else 0.0
    DOCS.mkdir(parents=True, exist_ok=True)
    (DOCS / "pacing_speed.json").write_text(json.dumps(rows, indent=1) + "\n")
    lines = [
        "# Shift simulator speed: 8 hours, 100 agents",
        "",
        f"Command: `OPENBLAS_NUM_THREADS=1 python -m bench.pacing_speed --seed {args.seed}` (one process, runs "
        "one after the other; telecom_upsell's traffic with 100 agents).",
        "",
        "| policy | decision timer s | wall s | CPU s | CPU vs progressive | decisions | extra CPU us per decision "
        "| contacts/agent-shift | abandon % |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['policy']} | {r['timer_s']:g} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | "
            f"{r['cpu_vs_progressive']:.2f}x | {r['decisions']} | {r['pacer_us_per_decision']:.0f} | "
            f"{r['contacts_per_agent_shift']:.1f} | {r['abandon_pct']:.2f} |"
        )
    (DOCS / "pacing_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
