"""The compliance ledger: abandon-rate law enforced inside the pacing loop, before a breach.

Theory of operation. An abandoned call is a live answer not connected to an agent within 2 s. The law
caps abandoned / live answers per campaign over a window: the US (FCC) over each successive 30-day
period of a campaign, the UK (Ofcom) over any 24 hours, counting estimated AMD false positives (people
that AMD took for a machine and hung up on) as abandoned live calls.

The ledger turns the events seen so far into a *budget*: how many more abandons the window can absorb,
in the worst case that nothing else happens, without crossing the cap. The pacer keeps its *exposure*
(dials in flight plus people waiting, minus ready agents: the most abandons the calls already launched
could produce if every one answered live and no busy agent freed) within that budget. Since every dial
resolves within `horizon_s`, counting only the live answers that will still be inside the window
`horizon_s` from now makes the guarantee hold for every window that closes before those dials resolve;
decisions follow each other far more often than that, so it holds for every window while the pacer
runs. Progressive dialing has zero exposure, so the budget never stops it (unless AMD false positives
alone break the UK cap: then nothing may be dialed with AMD on, and the ledger says so).

Two details keep it conservative. UK windows use 60 s buckets: live answers count only from buckets
entirely inside the window, abandons from any bucket that touches it. And live answers about to leave
the rolling window within `expiry_lookahead_s` are not relied on, so budget resting on yesterday's calls
is not spent just before they expire (a window can also rise because old calls leave it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pacing.types import DialObserved, Jurisdiction, LiveAnswerObserved, Observation

__all__ = ["UK_WINDOW_S", "US_PERIOD_S", "ComplianceLedger", "LedgerStatus"]

US_PERIOD_S = 30 * 86400.0
UK_WINDOW_S = 86400.0
_BUCKET_S = 60.0


@dataclass(frozen=True, slots=True)
class LedgerStatus:
    """The ledger's view at `now`, for decisions, metrics and the wallboard."""

    jurisdiction: Jurisdiction
    window_start: float
    lives: float
    abandons: float
    false_positives: float
    rate: float
    budget: float
    blocked: str = ""


class ComplianceLedger:
    """Live answers and abandons of one campaign, by the windows the law uses."""

    def __init__(
        self,
        jurisdiction: Jurisdiction = Jurisdiction.US,
        cap: float = 0.03,
        *,
        amd_false_positive: float = 0.01,
        period_start: float | None = None,
        horizon_s: float = 120.0,
        expiry_lookahead_s: float = 3600.0,
    ) -> None:
        if not 0.0 < cap < 1.0:
            raise ValueError(f"cap must be a fraction between 0 and 1, got {cap}")
        if not 0.0 <= amd_false_positive < 1.0:
            raise ValueError(f"amd_false_positive must be in [0, 1), got {amd_false_positive}")
        self.jurisdiction = jurisdiction
        self.cap = cap
        self.amd_false_positive = amd_false_positive
        self.period_start = period_start
        self.horizon_s = horizon_s
        self.expiry_lookahead_s = expiry_lookahead_s
        nb = math.ceil((UK_WINDOW_S + expiry_lookahead_s + horizon_s) / _BUCKET_S) + 4
        self._nb = nb
        self._b_id = np.full(nb, -(1 << 60), dtype=np.int64)
        self._lives = np.zeros(nb)
        self._abandons = np.zeros(nb)
        self._screened = np.zeros(nb)  # live answers that went through AMD (for false-positive estimates)
        self._periods: dict[int, list[float]] = {}  # US: period -> [lives, abandons]
        self.amd_in_use = False
        self.total_lives = 0
        self.total_abandons = 0

    # ------------------------------------------------------------------ recording
    def configure(self, jurisdiction: Jurisdiction, cap: float, amd_false_positive: float) -> None:
        """Apply changed knobs; the history is kept (it serves both jurisdictions)."""
        self.jurisdiction = jurisdiction
        self.cap = cap
        self.amd_false_positive = amd_false_positive

    def observe(self, obs: Observation) -> None:
        if isinstance(obs, LiveAnswerObserved):
            self.record_live(obs.at, obs.abandoned)
        elif isinstance(obs, DialObserved) and obs.amd_delay_s is not None:
            self.amd_in_use = True
            if obs.outcome == "live" and not obs.amd_machine:
                self._screened[self._slot(obs.at)] += 1.0

    def record_live(self, at: float, abandoned: bool) -> None:
        """One live answer: connected in time, or abandoned."""
        if self.period_start is None:
            self.period_start = at
        s = self._slot(at)
        self._lives[s] += 1.0
        self.total_lives += 1
        if abandoned:
            self._abandons[s] += 1.0
            self.total_abandons += 1
        per = self._periods.setdefault(self._period(at), [0.0, 0.0])
        per[0] += 1.0
        per[1] += float(abandoned)

    def _slot(self, at: float) -> int:
        b = math.floor(at / _BUCKET_S)
        s = b % self._nb
        if self._b_id[s] != b:
            self._b_id[s] = b
            self._lives[s] = 0.0
            self._abandons[s] = 0.0
            self._screened[s] = 0.0
        return s

    def _period(self, at: float) -> int:
        start = self.period_start if self.period_start is not None else at
        return math.floor((at - start) / US_PERIOD_S)

    # ------------------------------------------------------------------ queries
    @property
    def fp_per_screened(self) -> float:
        """Estimated people taken for machines per live answer that AMD screened."""
        f = self.amd_false_positive
        return f / (1.0 - f)

    def _uk_counts(self, start: float, end: float) -> tuple[float, float, float]:
        """(lives fully inside, abandons touching, screened fully inside) for the window (start, end]."""
        b0 = self._b_id * _BUCKET_S
        touching = (b0 + _BUCKET_S > start) & (b0 <= end)
        inside = touching & (b0 >= start)
        return (
            float(self._lives[inside].sum()),
            float(self._abandons[touching].sum()),
            float(self._screened[inside].sum()),
        )

    def status(self, now: float) -> LedgerStatus:
        """Rate of the window the law would assess now, and the abandon budget for new exposure."""
        cap = self.cap
        if self.jurisdiction is Jurisdiction.UK:
            lives, ab, scr = self._uk_counts(now - UK_WINDOW_S, now)
            fp = scr * self.fp_per_screened if self.amd_in_use else 0.0
            rate = (ab + fp) / (lives + fp) if lives + fp > 0 else 0.0
            ahead = max(self.horizon_s, self.expiry_lookahead_s)
            bl, ba, bs = self._uk_counts(now + ahead - UK_WINDOW_S, now)
            phi = self.fp_per_screened if self.amd_in_use else 0.0
            blocked = ""
            if phi > 0 and self.amd_false_positive >= cap:
                blocked = "AMD false positives alone exceed the cap: switch AMD off or tune it"
                budget = -math.inf
            else:
                fpb = bs * phi
                budget = (cap * (bl + fpb) - (ba + fpb)) / ((1.0 + phi) * (1.0 - cap))
            return LedgerStatus(Jurisdiction.UK, now - UK_WINDOW_S, lives, ab, fp, rate, budget, blocked)
        start = self.period_start if self.period_start is not None else now
        p = self._period(now)
        lives, ab = self._periods.get(p, [0.0, 0.0])
        rate = ab / lives if lives > 0 else 0.0
        budget = (cap * lives - ab) / (1.0 - cap)
        if self._period(now + self.horizon_s) != p:
            budget = min(budget, 0.0)  # dials launched now may resolve in a fresh period
        return LedgerStatus(Jurisdiction.US, start + p * US_PERIOD_S, lives, ab, 0.0, rate, budget)

    def budget(self, now: float) -> float:
        """How many more abandons the assessed windows can absorb (worst case), possibly negative."""
        return self.status(now).budget
