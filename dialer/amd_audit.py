"""The AMD audit: estimating the share of people AMD takes for answering machines, from agents' dispositions.

Theory of operation. Under UK rules the compliance ledger counts people that AMD took for a machine and
hung up on (false positives) as abandoned calls, at a share f of the live answers it screened
(`PacingKnobs.amd_false_positive`). Nobody hears those calls, so f can only be configured, or measured
on a sample: the engine hands a small random share of machine verdicts (`amd_audit_share`) to a spare
agent (`dialer.engine.calls`, state AUDITING), and the agent's disposition says who answered. The
campaign's machine disposition (kind `machine` in its disposition set; code `machine` by default) means
AMD was right; any other disposition means a person: a false positive.

The audit samples machine verdicts, so persons / audited estimates q = P(person | machine verdict). The
ledger's f is another share: people taken for machines among the people AMD screened, f = FP / (FP + L)
with L the live answers AMD let through (each brings f / (1 - f) false positives). With M machine
verdicts, FP = q M, so f = q M / (q M + L): the same q means a larger f on a list full of machines.
Taking q for f would understate the false positives wherever machine verdicts outnumber live answers,
so the daemon also counts M and L (every AMD verdict of the campaign) and converts.

The estimate is cautious without being paralysing. Once `min_samples` audits are in, q is the upper
95 % point of a Beta posterior for persons / audited whose prior is the configured share (turned into q
at the campaign's mix of machine verdicts and live answers) worth `prior_audits` audits; that q becomes
f as above, and the campaign's effective share is the larger of f and the configured one. A plain
upper bound of a small sample would not do: 0 persons in 50 audits bound q at 7.1 % (Wilson), so with as
many machine verdicts as live answers a perfect AMD would read f = 6.7 %, over the 3 % cap, and a UK
campaign's predictive pacing would stop, and with it the audits that could clear it. With the prior,
a clean sample of 50 reads f = 1.7 % (configured 1 %), while an AMD that really hangs up on 5 % of the
people it screens reads about 4 % after 50 audits and blocks predictive, as it must (the ledger and
the campaign status say why and how many clean audits would clear it).

Counts live in Redis (`dialer.ledger_store`, hash `<prefix>:amd_audit:<campaign>`, fields machines and
persons), written through the store's outbox as dispositions arrive and read back with the ledger at
start-up; `AmdAudit.mark_read` / `restore` merge what was counted meanwhile, as the ledger does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from agents.dispositions import DispositionKind, DispositionSet
from pacing.ledger import false_positives_per_screened

__all__ = ["POSTERIOR_Z", "AmdAudit", "is_person", "person_share_upper"]

POSTERIOR_Z = 1.6448536269514722  # one-sided 95 %
_MAX_SHARE = 0.99  # PacingKnobs needs a share below 1


def person_share_upper(persons: int, audited: int, prior: float, prior_audits: float, z: float = POSTERIOR_Z) -> float:
    """Upper point (mean + z sd) of the Beta posterior of persons / audited, the prior centred on `prior`
    and worth `prior_audits` audits."""
    if not 0 <= persons <= audited:
        raise ValueError(f"persons must be between 0 and audited ({audited}), got {persons}")
    if not 0.0 <= prior <= 1.0 or prior_audits < 0:
        raise ValueError(f"need a prior share in [0, 1] and prior_audits >= 0, got {prior}, {prior_audits}")
    a = persons + prior_audits * prior
    n = audited + prior_audits
    if n <= 0:
        return 1.0
    mean = a / n
    return min(1.0, mean + z * math.sqrt(mean * (1.0 - mean) / (n + 1.0)))


def is_person(code: str, dispositions: DispositionSet | None) -> bool:
    """Whether an agent's disposition says a person answered (on an audit call: AMD was wrong).

    Used for AMD audits and for the ledger's strict count. The campaign's codes of kind `machine` mean
    a machine; with no disposition set known, the code `machine` does. Any other code means the agent
    talked to someone.
    """
    if dispositions is None:
        return code != DispositionKind.MACHINE.value
    spec = dispositions.get(code)
    return spec is None or spec.kind is not DispositionKind.MACHINE


@dataclass(slots=True)
class AmdAudit:
    """One campaign's audit sample and the false-positive share the pacer should use."""

    configured: float
    min_samples: int = 50
    share: float = 0.02
    machines: int = 0  # audits the agent disposed as a machine
    persons: int = 0  # audits the agent disposed as anything else
    verdict_machines: int = 0  # M: every AMD machine verdict of the campaign
    verdict_humans: int = 0  # L: every live answer AMD screened (human verdict)
    prior_audits: float = 100.0  # how many audits the configured share is worth as a prior
    _at_read: tuple[int, int, int, int] = (0, 0, 0, 0)

    def __post_init__(self) -> None:
        if not 0.0 <= self.configured < 1.0:
            raise ValueError(f"configured amd_false_positive must be in [0, 1), got {self.configured}")
        if self.min_samples < 1:
            raise ValueError(f"amd_audit_min_samples must be at least 1, got {self.min_samples}")

    @property
    def audited(self) -> int:
        return self.machines + self.persons

    def record(self, person: bool) -> None:
        if person:
            self.persons += 1
        else:
            self.machines += 1

    def note_verdict(self, machine: bool) -> None:
        """One AMD verdict of the campaign: a machine, or a live answer let through."""
        if machine:
            self.verdict_machines += 1
        else:
            self.verdict_humans += 1

    def _counts(self) -> tuple[int, int, int, int]:
        return (self.machines, self.persons, self.verdict_machines, self.verdict_humans)

    def reset(self) -> None:
        """Start a new sample (AMD was tuned: the old one no longer says how it errs)."""
        self.machines = self.persons = self.verdict_machines = self.verdict_humans = 0
        self._at_read = (0, 0, 0, 0)

    def mark_read(self) -> None:
        """The stored counts are being read now: what is recorded from here on comes on top of them."""
        self._at_read = self._counts()

    def restore(self, machines: int, persons: int, verdict_machines: int = 0, verdict_humans: int = 0) -> None:
        """Take the stored counts (read after `mark_read`), keeping what was recorded since on top."""
        stored = (machines, persons, verdict_machines, verdict_humans)
        if min(stored) < 0:
            raise ValueError(f"stored AMD audit counts must be >= 0, got {stored}")
        merged = tuple(s + max(0, mine - base) for s, mine, base in zip(stored, self._counts(), self._at_read,
                                                                         strict=True))
        self.machines, self.persons, self.verdict_machines, self.verdict_humans = merged
        self._at_read = self._counts()

    def _machine_ratio(self) -> float | None:
        """Machine verdicts per screened live answer so far (None before any live answer)."""
        machines = max(self.verdict_machines, self.audited)  # every audit was a machine verdict
        return machines / self.verdict_humans if self.verdict_humans > 0 and machines > 0 else None

    def _prior_q(self) -> float:
        """The configured f as a person share of machine verdicts: q = f / (1 - f) / (M / L)."""
        ratio = self._machine_ratio()
        f = self.configured
        return min(0.5, f if ratio is None else false_positives_per_screened(f) / ratio)

    def _f_of(self, q: float) -> float:
        ratio = self._machine_ratio()
        if ratio is None:
            return q
        fp = q * ratio
        return fp / (fp + 1.0) if fp > 0 else 0.0

    def person_share_upper(self) -> float | None:
        """Upper 95 % point of q = P(person | machine verdict), or None below `min_samples` audits."""
        if self.audited < self.min_samples:
            return None
        return person_share_upper(self.persons, self.audited, self._prior_q(), self.prior_audits)

    def estimate(self) -> float | None:
        """The audit's upper point for f (the ledger's false-positive share), or None below `min_samples`."""
        q = self.person_share_upper()
        return None if q is None else self._f_of(q)

    def effective(self) -> float:
        """The share the campaign's pacer uses: the configured one, or the estimate when it is larger."""
        est = self.estimate()
        return self.configured if est is None else min(_MAX_SHARE, max(self.configured, est))

    def explain(self, cap: float | None = None) -> str:
        """One sentence on where the effective share comes from (and, at or above `cap`, what to do)."""
        est = self.estimate()
        eff = self.effective()
        if est is None:
            text = (f"AMD false-positive share {eff:.2%} as configured ({self.audited} of "
                    f"{self.min_samples} audits needed for an estimate)")
        elif est > self.configured:
            text = (f"AMD false-positive share {eff:.2%}: from {self.persons} persons in {self.audited} AMD audits "
                    f"(upper 95% point, the configured {self.configured:.2%} worth {self.prior_audits:g} audits as "
                    f"a prior), over {self.verdict_machines} machine verdicts and {self.verdict_humans} screened "
                    "live answers")
        else:
            text = (f"AMD false-positive share {eff:.2%} as configured (the audit's upper point, {est:.2%} from "
                    f"{self.persons} persons in {self.audited}, is lower)")
        if cap is not None and eff >= cap and est is not None and est > self.configured:
            more = self.audits_to_clear(cap)
            after = f"{more} more audits without a person would bring it under" if more is not None else \
                "more audits alone do not bring it under"
            text += (f", at or above the {cap:.0%} cap, so predictive dials nothing: dial progressive meanwhile "
                     f"(audits go on; raise amd_audit_share for more); {after} the cap; or tune AMD or switch it off")
        return text

    def audits_to_clear(self, cap: float) -> int | None:
        """How many more audits, all machines, bring the effective share under `cap` at the campaign's
        present mix of machine verdicts and live answers (None: never, e.g. the configured share is not
        under it, or no live answer was screened yet)."""
        if self.configured >= cap:
            return None
        if self.effective() < cap:
            return 0
        if self._machine_ratio() is None:
            return None
        prior = self._prior_q()

        def clears(more: int) -> bool:
            q = person_share_upper(self.persons, self.audited + more, prior, self.prior_audits)
            return self._f_of(q) < cap

        hi = 1
        while not clears(hi):
            hi *= 2
            if hi > 1 << 40:  # the bound shrinks like 1/n: unreachable only if the cap is ~0
                return None
        lo = hi // 2
        while hi - lo > 1:  # not clears(lo), clears(hi)
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if clears(mid) else (mid, hi)
        return hi

    def view(self, cap: float | None = None) -> dict[str, Any]:
        """The supervisor's view (campaign status payload)."""
        est = self.estimate()
        eff = self.effective()
        return {
            "share": self.share,
            "min_samples": self.min_samples,
            "audited": self.audited,
            "persons": self.persons,
            "machines": self.machines,
            "verdict_machines": self.verdict_machines,
            "verdict_humans": self.verdict_humans,
            "person_share_upper": self.person_share_upper(),
            "estimate": est,
            "configured_false_positive": self.configured,
            "effective_false_positive": eff,
            "source": "audit" if est is not None and est > self.configured else "configured",
            "why": self.explain(cap),
        }
