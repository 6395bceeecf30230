"""How called parties behave: the traffic model shared by the PBX simulator and the shift simulator.

Pure and seeded: every draw takes a `numpy.random.Generator`, so a scenario replays exactly. The same
model feeds the TCP PBX simulator (`dialer.pbxsim`, one dial at a time) and the discrete-event shift
simulator (`pacing.sim`, many dials at once, vectorised), so benchmarks and the demo see the same people.

Times are seconds. `t` is seconds since the start of the shift (the live-answer profile depends on it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

__all__ = [
    "AmdSpec",
    "AmdVerdict",
    "DialFate",
    "DialFates",
    "DialOutcome",
    "LiveProfile",
    "LognormalSpec",
    "RingMix",
    "TrafficModel",
]


class DialOutcome(StrEnum):
    """What really happened at the far end (the truth, not what AMD said)."""

    LIVE = "live"
    MACHINE = "machine"
    BUSY = "busy"
    CONGESTION = "congestion"
    INVALID = "invalid"
    NO_ANSWER = "no_answer"


class AmdVerdict(StrEnum):
    """What answering-machine detection reports (Asterisk's AMDSTATUS)."""

    HUMAN = "HUMAN"
    MACHINE = "MACHINE"
    NOTSURE = "NOTSURE"
    HANGUP = "HANGUP"
    SKIPPED = "SKIPPED"


OUTCOME_CODES: tuple[DialOutcome, ...] = tuple(DialOutcome)


@dataclass(frozen=True, slots=True)
class LognormalSpec:
    """A lognormal given by its mean and coefficient of variation (std / mean)."""

    mean: float
    cv: float

    def __post_init__(self) -> None:
        if self.mean <= 0 or self.cv < 0:
            raise ValueError(f"lognormal needs mean > 0 and cv >= 0, got mean={self.mean} cv={self.cv}")

    @property
    def sigma(self) -> float:
        return math.sqrt(math.log1p(self.cv**2))

    @property
    def mu(self) -> float:
        return math.log(self.mean) - self.sigma**2 / 2

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.lognormal(self.mu, self.sigma, n) if self.cv > 0 else np.full(n, self.mean)


@dataclass(frozen=True, slots=True)
class RingMix:
    """Ring time until answer: a mixture of lognormals (quick answerers and slow ones)."""

    means: tuple[float, ...] = (8.0, 20.0)
    weights: tuple[float, ...] = (0.6, 0.4)
    cv: float = 0.3

    def __post_init__(self) -> None:
        if len(self.means) != len(self.weights) or not self.means:
            raise ValueError("RingMix needs as many weights as means")
        if abs(sum(self.weights) - 1.0) > 1e-9:
            raise ValueError(f"RingMix weights must sum to 1, got {sum(self.weights)}")

    @property
    def mean(self) -> float:
        return float(sum(m * w for m, w in zip(self.means, self.weights, strict=True)))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        comp = rng.choice(len(self.means), size=n, p=np.asarray(self.weights))
        sig = math.sqrt(math.log1p(self.cv**2))
        mus = np.log(np.asarray(self.means)) - sig**2 / 2
        return np.asarray(rng.lognormal(mus[comp], sig))


@dataclass(frozen=True, slots=True)
class LiveProfile:
    """How the live-answer probability moves during the shift, as a multiplier of the base value.

    kind:
      - "flat": constant.
      - "time_of_day": a smooth day curve (low mid-morning, dip at lunch, high early evening),
        period `period_s`, amplitude `amplitude`.
      - "halving": constant until `at_s`, then halved (a sudden change the pacer must catch).
      - "drift": slides linearly from 1 to `end_multiplier` over `period_s`.
    """

    kind: str = "flat"
    amplitude: float = 0.35
    period_s: float = 8 * 3600.0
    at_s: float = 4 * 3600.0
    end_multiplier: float = 0.5

    def __post_init__(self) -> None:
        if self.kind not in {"flat", "time_of_day", "halving", "drift"}:
            raise ValueError(f"unknown live profile kind {self.kind!r}")

    def multiplier(self, t: float) -> float:
        if self.kind == "flat":
            return 1.0
        if self.kind == "halving":
            return 1.0 if t < self.at_s else 0.5
        if self.kind == "drift":
            frac = min(1.0, max(0.0, t / self.period_s))
            return 1.0 + (self.end_multiplier - 1.0) * frac
        phase = 2 * math.pi * ((t % self.period_s) / self.period_s)
        return 1.0 + self.amplitude * (0.6 * math.sin(phase - math.pi / 2) + 0.4 * math.sin(2 * phase))


@dataclass(frozen=True, slots=True)
class AmdSpec:
    """Answering-machine detection: how long it listens and how often it is wrong."""

    enabled: bool = True
    human_delay_s: tuple[float, float] = (1.0, 2.5)
    machine_delay_s: tuple[float, float] = (2.5, 5.0)
    false_positive: float = 0.01  # a person classified as a machine (hung up on: counts as abandoned in UK)
    false_negative: float = 0.05  # a machine classified as a person (reaches an agent)


@dataclass(frozen=True, slots=True)
class DialFate:
    """One dial's fate, drawn up front. `ring_s` is the time from originate to answer or failure."""

    outcome: DialOutcome
    ring_s: float
    amd_verdict: AmdVerdict
    amd_delay_s: float
    talk_s: float
    patience_s: float


@dataclass(frozen=True, slots=True)
class DialFates:
    """Many fates at once (struct of arrays) for the vectorised shift simulator."""

    outcome: np.ndarray  # int8 index into OUTCOME_CODES
    ring_s: np.ndarray
    amd_machine: np.ndarray  # bool: AMD says machine (False: says human, or AMD off)
    amd_delay_s: np.ndarray
    talk_s: np.ndarray
    patience_s: np.ndarray

    def __len__(self) -> int:
        return int(self.outcome.shape[0])

    def row(self, i: int, amd_enabled: bool = True) -> DialFate:
        outcome = OUTCOME_CODES[int(self.outcome[i])]
        if outcome in (DialOutcome.LIVE, DialOutcome.MACHINE):
            if not amd_enabled:
                verdict = AmdVerdict.SKIPPED
            else:
                verdict = AmdVerdict.MACHINE if bool(self.amd_machine[i]) else AmdVerdict.HUMAN
        else:
            verdict = AmdVerdict.SKIPPED
        return DialFate(
            outcome=outcome,
            ring_s=float(self.ring_s[i]),
            amd_verdict=verdict,
            amd_delay_s=float(self.amd_delay_s[i]),
            talk_s=float(self.talk_s[i]),
            patience_s=float(self.patience_s[i]),
        )


@dataclass(frozen=True, slots=True)
class TrafficModel:
    """The called population of one campaign. Shares are per dial; no-answer takes what is left."""

    p_live: float = 0.3
    p_machine: float = 0.15
    p_busy: float = 0.05
    p_congestion: float = 0.01
    p_invalid: float = 0.01
    profile: LiveProfile = field(default_factory=LiveProfile)
    live_ring: RingMix = field(default_factory=RingMix)
    machine_ring: RingMix = field(default_factory=lambda: RingMix(means=(10.0, 18.0), weights=(0.5, 0.5)))
    remote_noanswer_s: tuple[float, float] = (25.0, 60.0)
    fail_after_s: tuple[float, float] = (0.5, 3.0)
    talk: LognormalSpec = field(default_factory=lambda: LognormalSpec(150.0, 1.0))
    wrapup: LognormalSpec = field(default_factory=lambda: LognormalSpec(30.0, 0.5))
    patience: LognormalSpec = field(default_factory=lambda: LognormalSpec(6.0, 0.5))
    amd: AmdSpec = field(default_factory=AmdSpec)

    def __post_init__(self) -> None:
        shares = (self.p_live, self.p_machine, self.p_busy, self.p_congestion, self.p_invalid)
        if any(p < 0 for p in shares) or sum(shares) > 1.0 + 1e-9:
            raise ValueError(f"dial shares must be >= 0 and sum to at most 1, got {shares}")

    def shares_at(self, t: float) -> np.ndarray:
        """Probabilities of each `DialOutcome` (in `OUTCOME_CODES` order) at shift time `t`."""
        live = min(self.p_live * self.profile.multiplier(t), 1.0 - self.p_busy - self.p_congestion)
        rest = [self.p_machine, self.p_busy, self.p_congestion, self.p_invalid]
        total = live + sum(rest)
        if total > 1.0:
            scale = (1.0 - live) / sum(rest)
            rest = [r * scale for r in rest]
        p = np.array([live, *rest, 0.0])
        p[-1] = max(0.0, 1.0 - p[:-1].sum())
        return p

    def sample(self, rng: np.random.Generator, t: float, n: int = 1) -> DialFates:
        """Draw `n` dial fates at shift time `t`."""
        outcome = rng.choice(len(OUTCOME_CODES), size=n, p=self.shares_at(t)).astype(np.int8)
        live = outcome == 0
        machine = outcome == 1
        ring = np.empty(n)
        if live.any():
            ring[live] = self.live_ring.sample(rng, int(live.sum()))
        if machine.any():
            ring[machine] = self.machine_ring.sample(rng, int(machine.sum()))
        failing = (outcome == 2) | (outcome == 3) | (outcome == 4)
        if failing.any():
            ring[failing] = rng.uniform(*self.fail_after_s, int(failing.sum()))
        noans = outcome == 5
        if noans.any():
            ring[noans] = rng.uniform(*self.remote_noanswer_s, int(noans.sum()))
        u = rng.random(n)
        amd_machine = np.where(live, u < self.amd.false_positive, u >= self.amd.false_negative) & (live | machine)
        amd_machine &= self.amd.enabled
        delay = np.where(
            amd_machine,
            rng.uniform(*self.amd.machine_delay_s, n),
            rng.uniform(*self.amd.human_delay_s, n),
        )
        if not self.amd.enabled:
            delay[:] = 0.0
        return DialFates(
            outcome=outcome,
            ring_s=ring,
            amd_machine=amd_machine,
            amd_delay_s=delay,
            talk_s=self.talk.sample(rng, n),
            patience_s=self.patience.sample(rng, n),
        )

    def sample_one(self, rng: np.random.Generator, t: float) -> DialFate:
        """One dial's fate (the PBX simulator's call)."""
        return self.sample(rng, t, 1).row(0, amd_enabled=self.amd.enabled)

    def sample_wrapup(self, rng: np.random.Generator, n: int = 1) -> np.ndarray:
        """Agent wrap-up times after a call."""
        return self.wrapup.sample(rng, n)
