"""How much could perfect agent forecasts buy? Our pacer against a clairvoyant copy of it.

The clairvoyant pacer is our predictive pacer with one thing changed: instead of forecasting when busy
agents become free from how long they have talked or wrapped up, it is told the exact instant (the
simulator's truth). Dial outcomes, ring times and AMD stay as uncertain as for any dialer. No real
dialer has this information, so its abandon/talk frontier bounds what any agent forecast could achieve
in this scenario; the gap between it and ours is all that better agent forecasting could still win.

    python -m bench.pacing_oracle            # telecom_upsell, 3 seeds per point, both cores
    python -m bench.pacing_oracle --seeds 1  # quicker
    python -m bench.pacing_oracle --cells 11,12,15,22,25 --seeds 4   # full-grid cells, at a 2.5 % aim

Without --cells: telecom_upsell at four aims, written to pacing_oracle.{json,md}. With --cells
(indexes of the full grid, as in `bench.pacing --full --no-frontier --cells`): each of those shift
cells at the 2.5 % aim, as a share of its bound T/(T+W), written to pacing_oracle_cells.{json,md}.
Both under --out (docs/bench by default).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from bench.pacing_grid import grid
from pacing import Mode, Pacer, PacingKnobs
from pacing.forecast import Curves, ForecastTables
from pacing.sim import simulate
from pacing.sim.scenario import Scenario, telecom_upsell
from pacing.types import CampaignSnapshot

DOCS = Path(__file__).resolve().parent.parent / "docs" / "bench"
AIMS = (1.0, 2.5, 4.0, 8.0)  # percent
_GRID = np.arange(64, dtype=float)


class ClairvoyantPacer(Pacer):
    """Our pacer told exactly when each busy agent will be ready (a bound, not a product)."""

    def __init__(self, knobs: PacingKnobs, **kw: Any) -> None:
        super().__init__(knobs, **kw)
        self._free_in = np.zeros(0)

    def peek_agents_free_at(self, free_in: np.ndarray) -> None:
        self._free_in = free_in

    def _curves(self, tab: ForecastTables, snap: CampaignSnapshot) -> Curves:
        c = super()._curves(tab, snap)
        k = c.supply.shape[0]
        exact = snap.ready_agents + np.searchsorted(np.sort(self._free_in), _GRID[:k], side="right")
        return Curves(
            supply=exact.astype(float),
            supply_var=np.zeros(k),
            demand=c.demand,
            demand_var=c.demand_var,
            dial_demand=c.dial_demand,
            dial_self=c.dial_self,
            dial_self_var=c.dial_self_var,
        )


def _knobs(aim: float, agents: int, max_calls_per_agent: float = 3.0) -> PacingKnobs:
    return PacingKnobs(
        mode=Mode.PREDICTIVE,
        target_abandon=aim,
        max_calls_per_agent=max_calls_per_agent,
        abandon_cap=max(0.03, 2 * aim),  # the ledger out of the way: the frontier, not the law
        max_channels=max(400, 10 * agents + 100),
        max_cps=1e6,
        amd_false_positive=0.0,
    )


def _scenario(cell: int) -> Scenario:
    return telecom_upsell(days=2) if cell < 0 else grid(False)[cell].scenario


def _task(args: tuple[str, float, int, int, float]) -> dict[str, Any]:
    kind, aim_pct, seed, cell, max_calls = args
    sc = _scenario(cell)
    knobs = _knobs(aim_pct / 100.0, sc.agents, max_calls)
    policy = ClairvoyantPacer(knobs, margin=0.0) if kind == "clairvoyant" else Pacer(knobs, margin=0.0)
    res = simulate(sc, policy, seed, kind)
    m = res.metrics(1)
    return {
        "policy": kind,
        "aim_pct": aim_pct,
        "seed": seed,
        "cell": cell,
        "contacts_per_agent_shift": m["contacts_per_agent_shift"],
        "talk_min_per_hour": m["talk_min_per_hour"],
        "bound_talk_min_per_hour": m["bound_talk_min_per_hour"],
        "abandon_pct": m["abandon_pct"],
    }


_POLICIES = ("ours", "clairvoyant")
_EXPLAINED = (
    "The clairvoyant pacer knows the exact instant each busy agent will be ready; dial outcomes stay "
    "uncertain. No dialer has that knowledge: its row bounds what any agent forecast could achieve."
)


def _run_all(tasks: list[tuple[str, float, int, int, float]], workers: int) -> tuple[list[dict[str, Any]], float]:
    """Every task's row, and the wall time they took on `workers` processes."""
    t0 = time.perf_counter()
    with ProcessPoolExecutor(workers) as ex:
        rows = list(ex.map(_task, tasks))
    return rows, time.perf_counter() - t0


def _means(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[str, float]:
    return {key: float(np.mean([r[key] for r in rows])) for key in keys}


def _write(
    out: Path, stem: str, points: list[dict[str, Any]], head: list[str], columns: list[str], table: list[str]
) -> None:
    """`stem`.json (the points) and `stem`.md (`head`, what the clairvoyant pacer is, the table) under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(points, indent=1) + "\n")
    lines = [
        *head,
        "",
        _EXPLAINED,
        "",
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
        *table,
    ]
    (out / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _cells_main(cells: list[int], seeds: int, workers: int, max_calls: float, out: Path) -> None:
    full = grid(False)
    bad = [c for c in cells if not 1 <= c < len(full) or full[c].kind != "shift"]
    if bad:
        raise SystemExit(f"--cells: {bad} are not shift cells of the full grid (1 to 30); see bench.pacing_grid")
    aim = 2.5
    tasks = [(k, aim, 1 + s, c, max_calls) for c in cells for k in _POLICIES for s in range(seeds)]
    rows, wall = _run_all(tasks, workers)
    points = []
    for c in cells:
        for k in _POLICIES:
            rs = [r for r in rows if r["policy"] == k and r["cell"] == c]
            share = [100.0 * r["talk_min_per_hour"] / r["bound_talk_min_per_hour"] for r in rs]
            points.append(
                {
                    "cell": c,
                    "scenario": full[c].name,
                    "agents": full[c].scenario.agents,
                    "p_live": full[c].factors["p_live"],
                    "amd": full[c].factors["amd"],
                    "policy": k,
                    "aim_pct": aim,
                    "max_calls_per_agent": max_calls,
                    "seeds": len(rs),
                    "talk_share_of_bound_pct": float(np.mean(share)),
                    **_means(rs, ("talk_min_per_hour", "bound_talk_min_per_hour", "abandon_pct")),
                }
            )
    extra = "" if max_calls == 3.0 else f" --max-calls-per-agent {max_calls:g}"
    head = [
        "# Grid cells: our pacer against a clairvoyant one",
        "",
        f"Command: `python -m bench.pacing_oracle --cells {','.join(map(str, cells))} --seeds {seeds}{extra}` "
        f"({wall:.0f} s wall, {workers} workers; seeds 1 to {seeds}, second shift of the cell's 2-day run, aimed at "
        f"{aim:g} % with no margin and the ledger's cap raised, so the aim alone sets the abandon rate; "
        f"at most {max_calls:g} dials in flight per agent).",
    ]
    columns = ["cell", "scenario", "AMD", "policy", "talk min/h", "bound", "share of bound %", "abandon %"]
    table = [
        f"| {p['cell']} | {p['scenario']} | {p['amd']} | {p['policy']} | {p['talk_min_per_hour']:.2f} | "
        f"{p['bound_talk_min_per_hour']:.2f} | {p['talk_share_of_bound_pct']:.1f} | {p['abandon_pct']:.2f} |"
        for p in points
    ]
    _write(out, "pacing_oracle_cells", points, head, columns, table)


def _upsell_main(seeds: int, workers: int, out: Path) -> None:
    tasks = [(k, a, 1000 + s, -1, 3.0) for a in AIMS for k in _POLICIES for s in range(seeds)]
    rows, wall = _run_all(tasks, workers)
    points = []
    for a in AIMS:
        for k in _POLICIES:
            rs = [r for r in rows if r["policy"] == k and r["aim_pct"] == a]
            points.append(
                {
                    "policy": k,
                    "aim_pct": a,
                    "seeds": len(rs),
                    **_means(rs, ("contacts_per_agent_shift", "talk_min_per_hour", "abandon_pct")),
                }
            )
    head = [
        "# telecom_upsell: our pacer against a clairvoyant one",
        "",
        f"Command: `python -m bench.pacing_oracle --seeds {seeds}` ({wall:.0f} s wall, {workers} workers; "
        "second shift of a 2-day run, ledger cap raised so the aim alone sets the abandon rate).",
    ]
    columns = ["policy", "aim %", "contacts/agent-shift", "talk min/h", "abandon %"]
    table = [
        f"| {p['policy']} | {p['aim_pct']:g} | {p['contacts_per_agent_shift']:.1f} | "
        f"{p['talk_min_per_hour']:.2f} | {p['abandon_pct']:.2f} |"
        for p in points
    ]
    _write(out, "pacing_oracle", points, head, columns, table)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=3, help="seeds per point (default 3)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--cells", help="comma-separated shift cells of the full grid, at the 2.5 %% aim")
    ap.add_argument(
        "--max-calls-per-agent", type=float, default=3.0, help="with --cells: the knob's value (default 3, its default)"
    )
    ap.add_argument("--out", type=Path, default=DOCS, help="output folder (default docs/bench)")
    args = ap.parse_args(argv)
    if not args.cells:
        _upsell_main(args.seeds, args.workers, args.out)
        return
    try:
        cells = [int(c) for c in args.cells.split(",")]
    except ValueError:
        raise SystemExit(f"--cells: expected comma-separated integers, got {args.cells!r}") from None
    _cells_main(cells, args.seeds, args.workers, args.max_calls_per_agent, args.out)


if __name__ == "__main__":
    main()
