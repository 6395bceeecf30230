"""What a simulated run measured, and the metrics the benchmark reports from it.

Abandon rates here use the truth the simulator knows: a *person* who answered (answering machines that
AMD let through are not people), abandoned if not connected to an agent within the hold time. "With
false positives" adds the people AMD took for machines and hung up on, the ones that really happened.
No dialer can count those; Ofcom has a campaign's rate include "a reasoned estimate" of them instead,
and "with estimated false positives" (`_est_fp`) is that count: every screened live answer brings
`fp_estimate` = f/(1-f) of them, f the AMD false-positive share the dialer is configured with (the
simulator sets the scenario's true f). The compliance ledger keeps that measure within the cap.

`metrics(first_day=k)` measures days k.. only: benchmark cells measure an established campaign (its
second shift), after a first shift in which the estimators learn and the compliance ledger builds the
budget a fresh 30-day period starts without; `first_day=0` gives the fresh campaign's figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["DAY_S", "ShiftResult", "worst_window_rate"]

DAY_S = 86400.0
# columns of ShiftResult.per_day
DIALS, CONTACTS, TALK, IDLE, LIVES, ABANDONS, FPS, SEEN_LIVES, SEEN_ABANDONS, HANGUPS, HANGUP_LIVES = range(11)


@dataclass(frozen=True, slots=True)
class ShiftResult:
    """Totals and event logs of one simulated run (one shift a day for `days` days)."""

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
    waits_t: np.ndarray  # when each of them was connected
    per_day: np.ndarray  # [days, 11] the counters above (and the hang-ups), day by day
    event_t: np.ndarray  # time of each person's answer outcome (connected, abandoned or AMD-dropped)
    event_abandoned: np.ndarray  # bool: abandoned (not connected within the hold time)
    event_fp: np.ndarray  # bool: a false positive of AMD
    decisions: int
    wall_s: float
    fp_estimate: float = 0.0  # estimated false positives per screened live answer, f/(1-f) (0: AMD off)
    mean_talk_s: float = 0.0  # the scenario's mean talk time with a person, T
    machine_handle_s: float = 0.0  # mean agent time (talk and wrap-up) an answering machine let through costs

    @property
    def logged_in_s(self) -> float:
        return self.agents * self.shift_s * self.days

    def metrics(self, first_day: int = 0, last_day: int | None = None) -> dict[str, float]:
        """The per-run figures the benchmark aggregates over seeds, for days `first_day`..`last_day`."""
        last = self.days - 1 if last_day is None else last_day
        if not 0 <= first_day <= last < self.days:
            raise ValueError(f"need 0 <= first_day <= last_day < {self.days}, got {first_day}, {last_day}")
        tot = self.per_day[first_day : last + 1].sum(axis=0)
        logged = self.agents * self.shift_s * (last + 1 - first_day)
        hours = logged / 3600.0
        contacts, lives, abandons, fps = tot[CONTACTS], tot[LIVES], tot[ABANDONS], tot[FPS]
        share = tot[TALK] / logged
        # answering machines that reached the dialer as live answers, per person who did (with AMD off, every
        # machine that answers): agents spend `machine_handle_s` on each, which T/(T+W) leaves out
        machines_per_person = max(float(tot[SEEN_LIVES] - lives), 0.0) / lives if lives else 0.0
        talk_mean = self.mean_talk_s
        bound_m = (
            talk_mean / (talk_mean / self.bound_talk_share + machines_per_person * self.machine_handle_s)
            if talk_mean > 0 and self.bound_talk_share > 0
            else self.bound_talk_share
        )
        t0 = first_day * DAY_S
        t1 = (last + 1) * DAY_S
        waits = self.waits[(self.waits_t >= t0) & (self.waits_t < t1)]
        n_wait = waits.shape[0] + abandons
        sel = (self.event_t >= t0) & (self.event_t < t1)
        t, ab, fp = self.event_t[sel], self.event_abandoned[sel], self.event_fp[sel]
        end = last * DAY_S + self.shift_s
        return {
            "talk_share": share,
            "talk_min_per_hour": share * 60.0,
            "bound_talk_min_per_hour": self.bound_talk_share * 60.0,
            "bound_talk_min_per_hour_with_machines": bound_m * 60.0,
            "contacts_per_agent_hour": contacts / hours,
            "contacts_per_agent_shift": contacts / hours * self.shift_s / 3600.0,
            "abandon_pct": 100.0 * abandons / lives if lives else 0.0,
            # what the dialer counted: every answer it saw as live, machines let through included; with AMD off
            # this is Ofcom's reasoned estimate (see docs/PACING.md, "AMD off: what the law counts")
            "abandon_pct_as_counted": 100.0 * tot[SEEN_ABANDONS] / tot[SEEN_LIVES] if tot[SEEN_LIVES] else 0.0,
            "abandon_pct_with_fp": 100.0 * (abandons + fps) / (lives + fps) if lives + fps else 0.0,
            "abandon_pct_worst_24h": 100.0 * worst_window_rate(t, ab, fp, t0, end, DAY_S, with_fp=False),
            "abandon_pct_worst_24h_with_fp": 100.0 * worst_window_rate(t, ab, fp, t0, end, DAY_S, with_fp=True),
            "abandon_pct_worst_24h_est_fp": 100.0
            * worst_window_rate(t, ab, fp, t0, end, DAY_S, with_fp=False, est_fp=self.fp_estimate),
            "abandon_pct_30d": 100.0 * worst_window_rate(t, ab, fp, t0, end, 30 * DAY_S, with_fp=False, periods=True),
            "wait_mean_s": float(waits.mean()) if waits.size else 0.0,
            "wait_p95_s": _p95_with_abandons(waits, int(abandons)),
            "wait_over_2s_pct": 100.0 * (float((waits > 2.0).sum()) + abandons) / n_wait if n_wait else 0.0,
            "idle_s_per_contact": float(tot[IDLE] / contacts) if contacts else float("inf"),
            "dials_per_contact": float(tot[DIALS] / contacts) if contacts else float("inf"),
            "lives": float(lives),
            # ringing dials the pacer hung up after the minimum ring (`Decision.hangup`), per 100 dials, and
            # the people among them who would still have answered, per 100 people who answered
            "hangup_pct_of_dials": 100.0 * tot[HANGUPS] / tot[DIALS] if tot[DIALS] else 0.0,
            "hangup_lost_pct_of_lives": 100.0 * tot[HANGUP_LIVES] / lives if lives else 0.0,
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


def worst_window_rate(
    t: np.ndarray,
    abandoned: np.ndarray,
    fp: np.ndarray,
    start: float,
    end: float,
    window_s: float,
    *,
    with_fp: bool,
    periods: bool = False,
    est_fp: float = 0.0,
) -> float:
    """The worst abandon rate over windows of `window_s` inside [start, end] (the whole span if none fits).

    `with_fp` counts the false positives that happened (`fp` events) as abandoned live answers; `est_fp`
    instead adds that many estimated false positives per person who passed AMD (use one or the other).

    Rolling windows (the UK 24-hour rule) are checked starting at, and ending at, every event; with
    `periods=True` successive fixed periods from `start` are used instead (the US 30-day rule), the last
    one possibly partial ("or portion thereof").
    """
    if t.size == 0:
        return 0.0
    num = abandoned.astype(float) + (fp.astype(float) if with_fp else 0.0)
    den = 1.0 - fp.astype(float) + (fp.astype(float) if with_fp else 0.0)
    if est_fp > 0.0:
        screened = est_fp * (1.0 - fp.astype(float))
        num = num + screened
        den = den + screened
    if periods or end - start < window_s:
        # calls still in flight at the end of the last shift resolve a little after it: they belong to it
        if periods:
            last = math.floor((end - start) / window_s)
            idx = np.minimum(np.floor((t - start) / window_s).astype(np.intp), last)
        else:
            idx = np.zeros(t.shape, np.intp)
        nsum = np.bincount(idx, weights=num)
        dsum = np.bincount(idx, weights=den)
        return float(np.max(np.where(dsum > 0, nsum / np.maximum(dsum, 1e-12), 0.0)))
    order = np.argsort(t, kind="stable")
    ts, num, den = t[order], num[order], den[order]
    cn = np.concatenate([[0.0], np.cumsum(num)])
    cd = np.concatenate([[0.0], np.cumsum(den)])
    starts = np.concatenate([ts, ts - window_s])
    starts = starts[(starts >= start) & (starts <= end - window_s)]
    if starts.size == 0:
        starts = np.array([start])
    lo = np.searchsorted(ts, starts, side="left")
    hi = np.searchsorted(ts, starts + window_s, side="right")
    n_w = cn[hi] - cn[lo]
    d_w = cd[hi] - cd[lo]
    return float(np.max(np.where(d_w > 0, n_w / np.maximum(d_w, 1e-12), 0.0)))
