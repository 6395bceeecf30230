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
is not spent just before they expire (a window can also rise because old calls leave it), while
abandons about to leave it still count until they have left: the budget holds for every window that
closes within the look-ahead, not only for the first and the last.

What counts as a live answer (`AbandonCount`). By default every answer that reached the dialer as live:
with AMD off that includes the machines agents then hear, which is Ofcom's reasoned estimate (docs/PACING.md).
The `strict` count takes every abandon as a person and, of the answers connected in time, only those an
agent dispositioned as a person (`ContactClassified`, placed at the answer's minute): machines leave the
denominator and nothing leaves the numerator, so the people's true rate can never be above it. Those
persons arrive minutes after their answer (at the disposition), so the strict count only grows late
and its budget, resting on the persons confirmed so far, stays conservative. Both counts are kept at
all times, so switching takes effect at once.

Surviving a restart. The ledger is the law's memory, so a restarted daemon must not start from zero:
it would forget abandons already made in the current window. Everything the ledger learns comes as a
`LedgerEntry` (`ledger_entry(obs)`: a live answer, an abandon, a live answer AMD screened, a machine
verdict), which the daemon also writes durably as it happens; `export` and `restore` turn the ledger's
state into a small versioned `LedgerSnapshot` (per-minute buckets, the US period start and per-period
totals, whether AMD is in use) and back. `restore` merges: the durable history, plus what this ledger
recorded itself after the history was read (`already_counted` is an export taken at that moment). Until
the history is known the daemon `hold`s the ledger: the budget is at most 0, so predictive pacing adds
no exposure (it dials progressively) and says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from pacing.types import AbandonCount, ContactClassified, DialObserved, Jurisdiction, LiveAnswerObserved, Observation

__all__ = [
    "BUCKET_S",
    "LEDGER_SNAPSHOT_VERSION",
    "UK_WINDOW_S",
    "US_PERIOD_S",
    "ComplianceLedger",
    "LedgerBucket",
    "LedgerEntry",
    "LedgerEntryKind",
    "LedgerSnapshot",
    "LedgerStatus",
    "false_positives_per_screened",
    "ledger_entry",
]

US_PERIOD_S = 30 * 86400.0
UK_WINDOW_S = 86400.0
BUCKET_S = 60.0
_BUCKET_S = BUCKET_S
LEDGER_SNAPSHOT_VERSION = 1
_NO_BUCKET = -(1 << 60)


class LedgerEntryKind(StrEnum):
    """What one ledger entry records."""

    LIVE = "live"  # a live answer not abandoned (connected in time, or hung up within the 2 s)
    ABANDONED = "abandoned"  # a live answer abandoned
    SCREENED = "screened"  # a live answer that AMD screened (brings estimated false positives, UK)
    AMD = "amd"  # an AMD machine verdict: AMD is in use
    PERSON = "person"  # a live answer connected in time that its agent dispositioned as a person (at the answer)


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One event the ledger counts, at `at` (epoch seconds)."""

    at: float
    kind: LedgerEntryKind


def false_positives_per_screened(f: float) -> float:
    """People AMD takes for machines per live answer it lets through, for a false-positive share `f`."""
    return f / (1.0 - f)


def ledger_entry(obs: Observation) -> LedgerEntry | None:
    """The ledger entry an observation makes, or None when the ledger does not count it."""
    if isinstance(obs, LiveAnswerObserved):
        return LedgerEntry(obs.at, LedgerEntryKind.ABANDONED if obs.abandoned else LedgerEntryKind.LIVE)
    if isinstance(obs, ContactClassified):
        return LedgerEntry(obs.connected_at, LedgerEntryKind.PERSON) if obs.person else None
    if isinstance(obs, DialObserved) and obs.amd_delay_s is not None:
        screened = obs.outcome == "live" and not obs.amd_machine
        return LedgerEntry(obs.at, LedgerEntryKind.SCREENED if screened else LedgerEntryKind.AMD)
    return None


@dataclass(frozen=True, slots=True)
class LedgerBucket:
    """The counts of one minute (`minute` = floor(epoch seconds / 60)).

    `persons` are the live answers of the minute that were connected and later dispositioned as a person
    (the strict count); the strict count never takes more of them than `lives - abandons`.
    """

    minute: int
    lives: float = 0.0
    abandons: float = 0.0
    screened: float = 0.0
    persons: float = 0.0

    def __post_init__(self) -> None:
        if min(self.lives, self.abandons, self.screened, self.persons) < 0 or self.abandons > self.lives:
            raise ValueError(f"ledger bucket {self.minute}: counts must be >= 0 and abandons <= lives, got {self}")


@dataclass(frozen=True, slots=True)
class LedgerSnapshot:
    """A ledger's state, to keep across restarts: typed, versioned, plain numbers only.

    `buckets` are the minutes with anything in them, oldest first; `periods` are (US period index from
    `period_start`, lives, abandons, persons).
    """

    taken_at: float
    buckets: tuple[LedgerBucket, ...] = ()
    period_start: float | None = None
    periods: tuple[tuple[int, float, float, float], ...] = ()
    amd_in_use: bool = False
    total_lives: int = 0
    total_abandons: int = 0
    version: int = LEDGER_SNAPSHOT_VERSION
    bucket_s: float = BUCKET_S
    _by_minute: dict[int, LedgerBucket] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.version != LEDGER_SNAPSHOT_VERSION:
            raise ValueError(
                f"ledger snapshot version {self.version} is not {LEDGER_SNAPSHOT_VERSION}: "
                "it was written by another dialer version; run that version or migrate the data"
            )
        if self.bucket_s != BUCKET_S:
            raise ValueError(f"ledger snapshot buckets of {self.bucket_s} s, expected {BUCKET_S} s")
        for p, lives, abandons, persons in self.periods:
            if lives < 0 or abandons < 0 or persons < 0:
                raise ValueError(f"ledger period {p}: counts must be >= 0")
        for b in self.buckets:
            if b.minute in self._by_minute:
                raise ValueError(f"ledger snapshot has minute {b.minute} twice")
            self._by_minute[b.minute] = b
        if self.periods and self.period_start is None:
            raise ValueError("ledger snapshot has period totals but no period start")

    def bucket(self, minute: int) -> LedgerBucket | None:
        return self._by_minute.get(minute)


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
    held: str = ""  # why the budget is held at 0 (the history is not known yet), or ""
    count: AbandonCount = AbandonCount.ESTIMATE  # which answers `lives` counts


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
        abandon_count: AbandonCount = AbandonCount.ESTIMATE,
    ) -> None:
        if not 0.0 < cap < 1.0:
            raise ValueError(f"cap must be a fraction between 0 and 1, got {cap}")
        if not 0.0 <= amd_false_positive < 1.0:
            raise ValueError(f"amd_false_positive must be in [0, 1), got {amd_false_positive}")
        self.jurisdiction = jurisdiction
        self.cap = cap
        self.amd_false_positive = amd_false_positive
        self.count = abandon_count
        self.period_start = period_start
        self.horizon_s = horizon_s
        self.expiry_lookahead_s = expiry_lookahead_s
        nb = math.ceil((UK_WINDOW_S + expiry_lookahead_s + horizon_s) / _BUCKET_S) + 4
        self._nb = nb
        self._b_id = np.full(nb, _NO_BUCKET, dtype=np.int64)
        self._lives = np.zeros(nb)
        self._abandons = np.zeros(nb)
        self._screened = np.zeros(nb)  # live answers that went through AMD (for false-positive estimates)
        self._persons = np.zeros(nb)  # connected answers dispositioned as persons (the strict count)
        self._newest = _NO_BUCKET  # the newest minute in the ring
        self._periods: dict[int, list[float]] = {}  # US: period -> [lives, abandons, persons]
        self.amd_in_use = False
        self.total_lives = 0
        self.total_abandons = 0
        self.held = ""  # while set, the budget is at most 0 (history not known yet): the reason

    # ------------------------------------------------------------------ recording
    def configure(
        self, jurisdiction: Jurisdiction, cap: float, amd_false_positive: float,
        abandon_count: AbandonCount = AbandonCount.ESTIMATE,
    ) -> None:
        """Apply changed knobs; the history is kept (it serves both jurisdictions and both counts)."""
        self.jurisdiction = jurisdiction
        self.cap = cap
        self.amd_false_positive = amd_false_positive
        self.count = abandon_count

    def observe(self, obs: Observation) -> None:
        entry = ledger_entry(obs)
        if entry is not None:
            self.apply(entry)

    def apply(self, entry: LedgerEntry) -> None:
        """Count one entry (what `observe` does with the observation that made it)."""
        k = entry.kind
        if k is LedgerEntryKind.LIVE or k is LedgerEntryKind.ABANDONED:
            self.record_live(entry.at, k is LedgerEntryKind.ABANDONED)
            return
        if k is LedgerEntryKind.PERSON:
            self.record_person(entry.at)
            return
        self.amd_in_use = True
        if k is LedgerEntryKind.SCREENED:
            self._screened[self._slot(entry.at)] += 1.0

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
        per = self._periods.setdefault(self._period(at), [0.0, 0.0, 0.0])
        per[0] += 1.0
        per[1] += float(abandoned)

    def record_person(self, at: float) -> None:
        """A live answer at `at`, connected in time, that its agent dispositioned as a person (strict count)."""
        b = math.floor(at / _BUCKET_S)
        if b > self._newest - self._nb + 2:  # older minutes have left the ring: their slot is another's now
            self._persons[self._slot_of(b)] += 1.0
        self._periods.setdefault(self._period(at), [0.0, 0.0, 0.0])[2] += 1.0

    def _slot(self, at: float) -> int:
        return self._slot_of(math.floor(at / _BUCKET_S))

    def _slot_of(self, b: int) -> int:
        s = b % self._nb
        if self._b_id[s] != b:
            self._b_id[s] = b
            self._lives[s] = 0.0
            self._abandons[s] = 0.0
            self._screened[s] = 0.0
            self._persons[s] = 0.0
            self._newest = max(self._newest, b)
        return s

    def _period(self, at: float) -> int:
        start = self.period_start if self.period_start is not None else at
        return math.floor((at - start) / US_PERIOD_S)

    # ------------------------------------------------------------------ queries
    @property
    def fp_per_screened(self) -> float:
        """Estimated people taken for machines per live answer that AMD screened."""
        return false_positives_per_screened(self.amd_false_positive)

    def _uk_counts(self, start: float, end: float) -> tuple[float, float, float]:
        """(lives fully inside, abandons touching, screened fully inside) for the window (start, end].

        Lives as the configured count takes them: under the strict count, the abandons and the persons.
        """
        b0 = self._b_id * _BUCKET_S
        touching = (b0 + _BUCKET_S > start) & (b0 <= end)
        inside = touching & (b0 >= start)
        lives = self._lives[inside]
        if self.count is AbandonCount.STRICT:
            ab_in = self._abandons[inside]
            lives = ab_in + np.minimum(self._persons[inside], lives - ab_in)
        return (
            float(lives.sum()),
            float(self._abandons[touching].sum()),
            float(self._screened[inside].sum()),
        )

    def _period_counts(self, p: int) -> tuple[float, float]:
        """(lives as the configured count takes them, abandons) of US period `p`."""
        lives, ab, persons = self._periods.get(p, (0.0, 0.0, 0.0))
        if self.count is AbandonCount.STRICT:
            lives = ab + min(persons, lives - ab)
        return lives, ab

    def status(self, now: float) -> LedgerStatus:
        """Rate of the window the law would assess now, and the abandon budget for new exposure."""
        cap = self.cap
        if self.jurisdiction is Jurisdiction.UK:
            lives, ab, scr = self._uk_counts(now - UK_WINDOW_S, now)
            fp = scr * self.fp_per_screened if self.amd_in_use else 0.0
            rate = (ab + fp) / (lives + fp) if lives + fp > 0 else 0.0
            ahead = max(self.horizon_s, self.expiry_lookahead_s)
            bl, _ba, bs = self._uk_counts(now + ahead - UK_WINDOW_S, now)
            phi = self.fp_per_screened if self.amd_in_use else 0.0
            blocked = ""
            if phi > 0 and self.amd_false_positive >= cap:
                blocked = "AMD false positives alone exceed the cap: switch AMD off or tune it"
                budget = -math.inf
            else:
                # every window closing between now and `ahead` from now: the live answers (and their
                # estimated false positives) that stay in all of them, against the abandons (and false
                # positives) in any of them, i.e. still in the window that closes now
                budget = (cap * (bl + bs * phi) - (ab + scr * phi)) / ((1.0 + phi) * (1.0 - cap))
            if self.held:
                budget = min(budget, 0.0)
            return LedgerStatus(
                Jurisdiction.UK, now - UK_WINDOW_S, lives, ab, fp, rate, budget, blocked, self.held, self.count
            )
        start = self.period_start if self.period_start is not None else now
        p = self._period(now)
        lives, ab = self._period_counts(p)
        rate = ab / lives if lives > 0 else 0.0
        budget = (cap * lives - ab) / (1.0 - cap)
        if self._period(now + self.horizon_s) != p:
            budget = min(budget, 0.0)  # dials launched now may resolve in a fresh period
        if self.held:
            budget = min(budget, 0.0)
        return LedgerStatus(
            Jurisdiction.US, start + p * US_PERIOD_S, lives, ab, 0.0, rate, budget, "", self.held, self.count
        )

    def budget(self, now: float) -> float:
        """How many more abandons the assessed windows can absorb (worst case), possibly negative."""
        return self.status(now).budget

    # ------------------------------------------------------------------ holding, export and restore
    def hold(self, reason: str) -> None:
        """Cap the budget at 0 until `release`: the ledger does not know its history yet (a restart)."""
        if not reason:
            raise ValueError("a ledger hold needs a reason (it is shown in every decision)")
        self.held = reason

    def release(self) -> None:
        self.held = ""

    def export(self, now: float) -> LedgerSnapshot:
        """The ledger's state at `now` as a snapshot (every minute still in the ring, every period)."""
        used = np.flatnonzero((self._b_id != _NO_BUCKET) & ((self._lives + self._screened + self._persons) > 0))
        buckets = sorted(
            (LedgerBucket(int(self._b_id[i]), float(self._lives[i]), float(self._abandons[i]),
                          float(self._screened[i]), float(self._persons[i])) for i in used),
            key=lambda b: b.minute,
        )
        return LedgerSnapshot(
            taken_at=now,
            buckets=tuple(buckets),
            period_start=self.period_start,
            periods=tuple((p, v[0], v[1], v[2]) for p, v in sorted(self._periods.items())),
            amd_in_use=self.amd_in_use,
            total_lives=self.total_lives,
            total_abandons=self.total_abandons,
        )

    def restore(self, history: LedgerSnapshot, *, now: float, already_counted: LedgerSnapshot | None = None) -> None:
        """Take `history` (the durable record, e.g. read back after a restart) as this ledger's past.

        What this ledger recorded itself is kept on top, less `already_counted`: an `export` taken when
        the history was read, whose events the history already holds. With a different US period
        start, the ledger adopts the history's, and its own later live answers go to the earliest
        period they may belong to and its abandons to the latest (never understating the current one).
        """
        mine = self.export(now)
        base = already_counted if already_counted is not None else LedgerSnapshot(taken_at=-math.inf)
        merged: dict[int, list[float]] = {
            b.minute: [b.lives, b.abandons, b.screened, b.persons] for b in history.buckets
        }
        for b in mine.buckets:
            old = base.bucket(b.minute)
            d = (b.lives, b.abandons, b.screened, b.persons) if old is None else (
                b.lives - old.lives, b.abandons - old.abandons, b.screened - old.screened, b.persons - old.persons)
            if any(x > 0 for x in d):
                row = merged.setdefault(b.minute, [0.0, 0.0, 0.0, 0.0])
                for j in range(4):
                    row[j] += max(0.0, d[j])
        self._b_id[:] = _NO_BUCKET
        self._lives[:] = 0.0
        self._abandons[:] = 0.0
        self._screened[:] = 0.0
        self._persons[:] = 0.0
        self._newest = _NO_BUCKET
        for minute in sorted(merged):  # oldest first: where two minutes share a slot, the newer wins
            s = self._slot_of(minute)
            self._lives[s], self._abandons[s], self._screened[s], self._persons[s] = merged[minute]

        own_start = mine.period_start
        start = history.period_start if history.period_start is not None else own_start
        periods: dict[int, list[float]] = {p: [lv, ab, ps] for p, lv, ab, ps in history.periods}
        base_periods = {p: (lv, ab, ps) for p, lv, ab, ps in base.periods}
        for p, lv, ab, ps in mine.periods:
            b_lv, b_ab, b_ps = base_periods.get(p, (0.0, 0.0, 0.0))
            d_lv, d_ab, d_ps = max(0.0, lv - b_lv), max(0.0, ab - b_ab), max(0.0, ps - b_ps)
            if d_lv <= 0 and d_ab <= 0 and d_ps <= 0:
                continue
            if own_start is None or start is None or own_start == start:
                q_lives = q_abandons = p
            else:
                lo = max(own_start + p * US_PERIOD_S, base.taken_at)
                hi = max(lo, min(own_start + (p + 1) * US_PERIOD_S, now))
                q_lives = math.floor((lo - start) / US_PERIOD_S)
                q_abandons = math.floor((hi - start) / US_PERIOD_S)
            periods.setdefault(q_lives, [0.0, 0.0, 0.0])[0] += d_lv
            periods.setdefault(q_abandons, [0.0, 0.0, 0.0])[1] += d_ab
            # persons follow their live answers: the earliest period, where they raise the current one least
            periods.setdefault(q_lives, [0.0, 0.0, 0.0])[2] += d_ps
        self.period_start = start
        self._periods = periods
        self.amd_in_use = history.amd_in_use or mine.amd_in_use
        self.total_lives = history.total_lives + max(0, mine.total_lives - base.total_lives)
        self.total_abandons = history.total_abandons + max(0, mine.total_abandons - base.total_abandons)
