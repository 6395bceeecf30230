"""What the side-by-side benchmarks on grid cells share: their command line, the process pool over
(cell, variant, seed), the mean per (cell, variant), and writing docs/bench/<name>.{json,md}.

Used by `bench.pacing_budget` (with and without the ledger's budget) and `bench.pacing_strict` (the two
abandon counts). The caller's module sets the BLAS thread count before numpy is imported.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

DOCS = Path(__file__).resolve().parent.parent / "docs" / "bench"

Task = tuple[int, str, int]  # (grid cell index, variant, seed)


def cell_args(doc: str | None, default_cells: Sequence[int], argv: list[str] | None) -> argparse.Namespace:
    """--cells (grid indices), --seeds (1.. as the grid uses them), --workers; `cells` parsed to a list."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", default=",".join(map(str, default_cells)), help="grid cell indices (bench.pacing)")
    ap.add_argument("--seeds", type=int, default=2, help="seeds per cell, 1.. as the grid uses (default 2)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)
    args.cells = [int(c) for c in args.cells.split(",") if c]
    return args


def run_cells(
    task: Callable[[Task], dict[str, Any]], args: argparse.Namespace, variants: Sequence[str]
) -> tuple[list[dict[str, Any]], float]:
    """Every (cell, variant, seed) in a process pool: the rows `task` returns, and the wall time."""
    tasks = [(c, v, s) for c in args.cells for v in variants for s in range(1, args.seeds + 1)]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as ex:
        rows = list(ex.map(task, tasks))
    return rows, time.perf_counter() - t0


def mean_by_cell(
    rows: list[dict[str, Any]], cells: Sequence[int], variants: Sequence[str], variant_key: str, keys: Sequence[str]
) -> list[dict[str, Any]]:
    """One object per (cell, variant): `keys` averaged over the seeds, with the talk share of the bound."""
    out = []
    for c in cells:
        for v in variants:
            rs = [r for r in rows if r["cell"] == c and r[variant_key] == v]
            obj: dict[str, Any] = {"cell": c, "scenario": rs[0]["scenario"], variant_key: v, "seeds": len(rs)}
            obj.update({k: float(np.mean([r[k] for r in rs])) for k in keys})
            obj["talk_share_of_bound"] = obj["talk_min_per_hour"] / obj["bound_talk_min_per_hour"]
            out.append(obj)
    return out


def write_outputs(name: str, out: list[dict[str, Any]], lines: list[str]) -> None:
    """docs/bench/<name>.json (the objects) and .md (the lines), and the table on stdout."""
    DOCS.mkdir(parents=True, exist_ok=True)
    (DOCS / f"{name}.json").write_text(json.dumps(out, indent=1) + "\n")
    (DOCS / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
