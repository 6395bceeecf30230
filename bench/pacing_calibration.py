"""Check the loss model against Monte Carlo of the exact loss process, on snapshots of simulated shifts.

    python -m bench.pacing_calibration            # 5, 20 and 100 agents, telecom_upsell's traffic

For decisions where the pacer launched dials, it redraws every agent's free time and every dial's
live-answer time from the same forecast tables the model used, runs the first-come-first-served loss
process with the 2 s grace exactly, and compares the abandons the batch adds (lost(n) - lost(0)) with
the model's estimate. This is the check behind "within 0.7-1.2x of the truth" in docs/PACING.md.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
from dataclasses import replace

import numpy as np

from pacing import CampaignSnapshot, Decision, Mode, Pacer, PacingKnobs
from pacing import forecast as F
from pacing import predictive as P
from pacing.estimators import RING_BIN_S, RING_BINS
from pacing.sim import simulate, telecom_upsell
from pacing.types import Jurisdiction, Observation


def _times(rows: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Sample event times (whole seconds; K = never within the grid) from per-entity CDF rows."""
    if rows.shape[0] == 0:
        return np.zeros((n, 0))
    u = rng.random((n, rows.shape[0]))
    return np.asarray((rows[None, :, :] < u[:, :, None]).sum(axis=2), dtype=float)


def _lost(ready: int, waiting: int, free_t: np.ndarray, live_t: np.ndarray) -> np.ndarray:
    """E[sup_t (D(t) - S(t + 2))+] per sample: the loss process's abandons over the horizon."""
    t = np.arange(F.K - P.GRACE_STEPS)
    s = ready + (free_t[:, :, None] <= t[None, None, :] + P.GRACE_STEPS).sum(1)
    d = waiting + (live_t[:, :, None] <= t[None, None, :]).sum(1)
    return np.asarray(np.maximum((d - s).max(axis=1), 0))


def check(agents: int, samples: int, seed: int) -> tuple[float, float, int]:
    rng = np.random.default_rng(seed)
    pacer = Pacer(PacingKnobs(mode=Mode.PREDICTIVE, max_channels=10_000, max_cps=1e6), margin=0.0)
    pacer.ledger.record_live(-1.0, False)
    for _ in range(100_000):  # an established campaign: the ledger must not be what limits
        pacer.ledger.record_live(-1.0, False)
    snaps: list[tuple[CampaignSnapshot, Decision]] = []

    class Recorder:
        def observe(self, obs: Observation) -> None:
            pacer.observe(obs)

        def decide(self, snap: CampaignSnapshot) -> Decision:
            d = pacer.decide(snap)
            if snap.now > 3600 and d.launch > 0 and rng.random() < 0.05:
                snaps.append((snap, d))
            return d

    sc = replace(telecom_upsell(), agents=agents, shift_s=3 * 3600.0, jurisdiction=Jurisdiction.US)
    simulate(sc, Recorder(), seed)
    tab = pacer.tables
    assert tab is not None
    model, truth = [], []
    for snap, d in snaps[:samples]:
        c = pacer._curves(tab, snap)  # the supply and demand curves exactly as the pacer builds them
        lost, _ = P._Model(c, tab.new_live, 0.0).score(np.array([0, d.launch]))
        rows_s = np.array(
            [tab.talk_free[np.searchsorted(F.TALK_EDGES, e, side="right") - 1] for e in snap.talking_elapsed]
            + [tab.wrap_free[np.searchsorted(F.WRAP_EDGES, e, side="right") - 1] for e in snap.wrapup_elapsed]
        ).reshape(-1, F.K)
        rows_d = np.array(
            [tab.ring_live[min(int(e / RING_BIN_S), RING_BINS - 1)] for e in snap.ringing_elapsed]
            + [tab.screen_live[min(int(e / 0.1), tab.screen_live.shape[0] - 1)] for e in snap.screening_elapsed]
        ).reshape(-1, F.K)
        n_mc = 2000
        free_t = _times(rows_s, n_mc, rng)
        live0 = _times(rows_d, n_mc, rng)
        new = _times(np.repeat(tab.new_live[None, :], d.launch, axis=0), n_mc, rng)
        base = _lost(snap.ready_agents, snap.waiting_humans, free_t, live0).mean()
        more = _lost(snap.ready_agents, snap.waiting_humans, free_t, np.concatenate([live0, new], axis=1)).mean()
        model.append(float(lost[1] - lost[0]))
        truth.append(float(more - base))
    return float(np.mean(model)), float(np.mean(truth)), len(model)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agents", default="5,20,100")
    ap.add_argument("--samples", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    print("agents  snapshots  model: abandons added per batch  Monte Carlo  model/MC")
    for n in (int(x) for x in args.agents.split(",")):
        m, t, k = check(n, args.samples, args.seed)
        print(f"{n:6d}  {k:9d}  {m:31.4f}  {t:11.4f}  {m / t if t else float('nan'):8.2f}")


if __name__ == "__main__":
    main()
