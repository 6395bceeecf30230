"""What a simulated shift measured, and the metrics the benchmark reports from it.

Abandon rates here use the truth the simulator knows: a *person* who answered (answering machines that
AMD let through are not people), abandoned if not connected to an agent within the hold time. "With
false positives" adds the people AMD took for machines and hung up on, as the UK counts them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DAY_S", "ShiftResult", "window_rates"]

DAY_S = 86400.0


@dataclass(frozen=True, slots=True)
class ShiftResult:
    """Totals and event logs of one simulated run (one or more shifts)."""

    scenario: str
    policy: str
    seed: int
    agents: int
    days: int
    shift_s: float
    bound_talk_share: float
    dials: int
    contacts: int  # people connected to an agent during shifts
    talk_s: float  # agent time talking to people, within shifts
    idle_s: float  # agent time ready and waiting, within shifts
    lives: int  # people who answered and passed AMD
    abandons: int  # of those, not connected within the hold time
    false_positives: int  # people AMD classified as machines (hung up on)
    seen_lives: int  # live answers as the dialer saw them (includes machines AMD let through)
    seen_abandons: int
    waits: np.ndarray  # wait of each connected person, seconds
    event_t: np.ndarray  # time of each person's answer outcome (connected, abandoned or AMD-dropped)
    event_abandoned: np.ndarray  # bool: abandoned (not connected within the hold time)
    event_fp: np.ndarray  # bool: a false positive of AMD
    decisions: int
    wall_s: float

    @property
    def logged_in_s(self) -> float:
        return self.agents * self.shift_s * self.days

    def metrics(self) -> dict[str, float]:
        """The per-run figures the benchmark aggregates over seeds."""
        hours = self.logged_in_s / 3600.0
        share = self.talk_s / self.logged_in_s
        ab = self.abandons / self.lives if self.lives else 0.0
        ab_fp = (self.abandons + self.false_positives) / (self.lives + self.false_positives) if self.lives else 0.0
        waits = self.waits
        n_wait = waits.shape[0] + self.abandons
        w24, w24_fp = window_rates(self, 86400.0, with_fp=False), window_rates(self, 86400.0, with_fp=True)
        w30 = window_rates(self, 30 * 86400.0, with_fp=False, periods=True)
        return {
            "talk_share": share,
            "talk_min_per_hour": share * 60.0,
            "bound_talk_min_per_hour": self.bound_talk_share * 60.0,
            "contacts_per_agent_hour": self.contacts / hours,
            "contacts_per_agent_shift": self.contacts / hours * 8.0,
            "abandon_pct": 100.0 * ab,
            "abandon_pct_with_fp": 100.0 * ab_fp,
            "abandon_pct_worst_24h": 100.0 * w24,
            "abandon_pct_worst_24h_with_fp": 100.0 * w24_fp,
            "abandon_pct_30d": 100.0 * w30,
            "wait_mean_s": float(waits.mean()) if waits.size else 0.0,
            "wait_p95_s": _p95_with_abandons(waits, self.abandons),
            "wait_over_2s_pct": 100.0 * (float((waits > 2.0).sum()) + self.abandons) / n_wait if n_wait else 0.0,
            "idle_s_per_contact": self.idle_s / self.contacts if self.contacts else float("inf"),
            "dials_per_contact": self.dials / self.contacts if self.contacts else float("inf"),
        }


def _p95_with_abandons(waits: np.ndarray, abandons: int) -> float:
    """95th percentile of the wait after answer, counting abandoned people as waiting forever."""
    n = waits.shape[0] + abandons
    if n == 0:
        return 0.0
    k = int(np.ceil(0.95 * n)) - 1
    if k >= waits.shape[0]:
        return float("inf")
    return float(np.sort(waits)[k])


def window_rates(r: ShiftResult, window_s: float, *, with_fp: bool, periods: bool = False) -> float:
    """The worst abandon rate over windows of `window_s` that fit in the run (the whole run if none does).

    `periods=True` uses successive fixed periods from the start (the US 30-day rule) instead of
    rolling windows (the UK 24-hour rule).
    """
    t = r.event_t
    ab = r.event_abandoned.astype(float)
    fp = r.event_fp.astype(float)
    num = ab + (fp if with_fp else 0.0)
    den = (1.0 - fp) + (fp if with_fp else 0.0)
    run_end = (r.days - 1) * DAY_S + r.shift_s
    if t.size == 0:
        return 0.0
    if periods or run_end < window_s:
        edges = np.arange(0.0, max(run_end, window_s) + window_s, window_s) if periods else np.array([0.0, run_end + 1])
        idx = np.searchsorted(edges, t, side="right") - 1
        nsum = np.bincount(idx, weights=num, minlength=edges.shape[0])
        dsum = np.bincount(idx, weights=den, minlength=edges.shape[0])
        rates = np.where(dsum > 0, nsum / np.maximum(dsum, 1e-12), 0.0)
        return float(rates.max())
    order = np.argsort(t, kind="stable")
    t, num, den = t[order], num[order], den[order]
    cn = np.concatenate([[0.0], np.cumsum(num)])
    cd = np.concatenate([[0.0], np.cumsum(den)])
    # rolling windows that fit in the run, starting at each event or ending at each event
    starts = np.concatenate([t, t - window_s])
    starts = starts[(starts >= 0.0) & (starts <= run_end - window_s)]
    if starts.size == 0:
        starts = np.array([0.0])
    lo = np.searchsorted(t, starts, side="left")
    hi = np.searchsorted(t, starts + window_s, side="right")
    n_w = cn[hi] - cn[lo]
    d_w = cd[hi] - cd[lo]
    rates = np.where(d_w > 0, n_w / np.maximum(d_w, 1e-12), 0.0)
    return float(rates.max())
