"""The pacing core's vocabulary: knobs in, snapshots in, observations in, decisions out.

These are the only types that cross between the pacing core and its callers (the daemon's engine and the
shift simulator). They are frozen and carry plain numbers and numpy arrays, never I/O objects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

__all__ = [
    "MIN_RING_S",
    "AbandonCount",
    "AgentFreed",
    "CampaignSnapshot",
    "ContactClassified",
    "Decision",
    "DialObserved",
    "Jurisdiction",
    "LiveAnswerObserved",
    "Mode",
    "Observation",
    "PacingKnobs",
    "Reason",
    "TalkObserved",
    "WrapupObserved",
]

_EMPTY = np.zeros(0)

MIN_RING_S = 15.0  # FCC 47 CFR 64.1200(a)(6) and Ofcom: an unanswered call rings at least 15 s before we cut it


class Mode(StrEnum):
    """Pacing modes a supervisor can pick."""

    PREVIEW = "preview"
    PROGRESSIVE = "progressive"
    POWER = "power"
    PREDICTIVE = "predictive"
    AGENTLESS = "agentless"


class Jurisdiction(StrEnum):
    """Which abandon-rate law the compliance ledger enforces."""

    US = "us"  # FCC: 3% of live answers per campaign over 30 days
    UK = "uk"  # Ofcom: 3% per campaign over any 24 hours, AMD false positives counted


class AbandonCount(StrEnum):
    """Which answers the compliance ledger counts as live (see docs/PACING.md, "AMD off: what the law counts").

    `estimate`: every answer that reached the dialer as live; with AMD off that is Ofcom's reasoned
    estimate, abandons over all answers. `strict`: every abandon counted as a person, and only the
    connected answers an agent dispositioned as a person in the denominator (machines out).
    """

    ESTIMATE = "estimate"
    STRICT = "strict"


class Reason(StrEnum):
    """Why a decision launched the number it did."""

    DIALING = "dialing"
    NO_READY_AGENTS = "no ready agents"
    HOPPER_EMPTY = "hopper empty"
    ABANDON_BUDGET = "abandon budget spent"
    OUTSIDE_HOURS = "outside hours"
    PAUSED = "campaign paused"
    ENOUGH_IN_FLIGHT = "enough calls in flight"
    PREVIEW_MODE = "preview: agents ask for leads"
    FEW_AGENTS = "too few agents for predictive: progressive"
    FEW_SAMPLES = "too few samples for predictive: progressive"
    TRUNK_LIMIT = "trunk or calls-per-second limit"
    ABANDON_TARGET = "predicted abandon at target"
    MAX_CALLS = "maximum calls per agent reached"
    LEDGER_UNKNOWN = "compliance ledger not restored yet: progressive"
    PBX_LINK_DOWN = "PBX connection down or resyncing"  # set by the daemon's engine, never by the pacer
    # set by the daemon, never by the pacer: Redis came back empty; held until a supervisor acknowledges
    STATE_STORE_LOST = "Redis lost the dialer's data: held until a supervisor acknowledges"


@dataclass(frozen=True, slots=True)
class PacingKnobs:
    """What a supervisor may change while a campaign runs; applied at the next decision."""

    mode: Mode = Mode.PROGRESSIVE
    ratio: float = 1.0
    target_abandon: float = 0.025
    max_calls_per_agent: float = 3.0
    min_agents_predictive: int = 3
    jurisdiction: Jurisdiction = Jurisdiction.US
    abandon_cap: float = 0.03
    max_channels: int = 200
    max_cps: float = 50.0
    amd_false_positive: float = 0.01  # estimated share of people AMD takes for machines (UK ledger)
    abandon_count: AbandonCount = AbandonCount.ESTIMATE
    # predictive: a dial that has rung this long may be hung up when its live answer would most likely
    # find no agent (None: never). Both FCC and Ofcom let an unanswered call be cut after 15 s of ringing.
    surplus_hangup_after_s: float | None = 15.0
    # power: the dials beyond one per ready agent stay within the compliance ledger's abandon budget, as
    # predictive's do, so a supervisor's ratio cannot break the cap. False dials the ratio whatever the
    # ledger says: a plain power dialer, kept for the benchmarks' fixed-ratio baseline and for load tests.
    power_within_budget: bool = True

    def __post_init__(self) -> None:
        if not 1.0 <= self.ratio <= 10.0:
            raise ValueError(f"ratio must be between 1 and 10, got {self.ratio}")
        if not 0.0 < self.target_abandon <= self.abandon_cap:
            raise ValueError(
                f"target_abandon must be above 0 and at most the cap {self.abandon_cap}, got {self.target_abandon}"
            )
        if self.max_calls_per_agent < 1.0:
            raise ValueError(f"max_calls_per_agent must be at least 1, got {self.max_calls_per_agent}")
        if not 0.0 < self.abandon_cap < 1.0:
            raise ValueError(f"abandon_cap must be a fraction between 0 and 1, got {self.abandon_cap}")
        if self.min_agents_predictive < 1:
            raise ValueError(f"min_agents_predictive must be at least 1, got {self.min_agents_predictive}")
        if self.max_channels < 0 or self.max_cps <= 0:
            raise ValueError(f"max_channels must be >= 0 and max_cps > 0, got {self.max_channels}, {self.max_cps}")
        if self.surplus_hangup_after_s is not None and not self.surplus_hangup_after_s >= MIN_RING_S:
            raise ValueError(
                f"surplus_hangup_after_s must be at least {MIN_RING_S:g} s (the law's shortest ring before an "
                f"unanswered call may be cut) or None to never hang up a ringing dial, "
                f"got {self.surplus_hangup_after_s}"
            )
        if not 0.0 <= self.amd_false_positive < 1.0:
            raise ValueError(f"amd_false_positive must be in [0, 1), got {self.amd_false_positive}")


@dataclass(frozen=True, slots=True)
class CampaignSnapshot:
    """The live state of one campaign at `now`, as the pacer needs it.

    Elapsed arrays hold, for each agent or dial in that condition, the seconds it has been there so far;
    the forecasts use them (remaining talk given elapsed talk, live answers given ring time so far).
    """

    now: float
    ready_agents: int
    logged_in_agents: int
    talking_elapsed: np.ndarray = field(default_factory=lambda: _EMPTY)
    wrapup_elapsed: np.ndarray = field(default_factory=lambda: _EMPTY)
    ringing_elapsed: np.ndarray = field(default_factory=lambda: _EMPTY)
    screening_elapsed: np.ndarray = field(default_factory=lambda: _EMPTY)
    waiting_humans: int = 0
    hopper_depth: int = 1 << 30
    lines_in_use: int = 0
    dials_last_second: int = 0
    paused: bool = False
    within_hours: bool = True

    @property
    def in_flight(self) -> int:
        """Dials not yet resolved to a person or a failure (ringing, or answered and under AMD)."""
        return int(self.ringing_elapsed.shape[0] + self.screening_elapsed.shape[0])


@dataclass(frozen=True, slots=True)
class Decision:
    """How many calls to launch now, and why. Kept in a ring buffer and exported as metrics."""

    now: float
    mode: Mode
    launch: int
    reason: Reason
    predicted_abandon: float = 0.0
    expected_free_agents: float = 0.0
    expected_live: float = 0.0
    ready_agents: int = 0
    in_flight: int = 0
    detail: str = ""
    waiting_humans: int = 0
    talking: int = 0
    wrapping: int = 0
    progressive_launch: int = 0
    target_abandon: float = 0.0
    abandon_budget: float = math.inf
    p_live: float = 0.0
    mean_talk_s: float = 0.0
    mean_wrap_s: float = 0.0
    # indices into the snapshot's `ringing_elapsed`: dials to hang up now, each rung at least
    # `PacingKnobs.surplus_hangup_after_s`, whose live answer would most likely have been abandoned
    hangup: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class DialObserved:
    """A dial resolved. `outcome` is a `pacing.traffic.DialOutcome` value as the dialer saw it
    (after AMD), `ring_s` from originate to answer or failure, `amd_delay_s` from answer to verdict.

    `hung_up`: we hung the dial up while it rang (a `Decision.hangup`); `outcome` is then "no_answer"
    and the estimators take the dial as censored at `ring_s`: how it would have ended is unknown."""

    at: float
    outcome: str
    ring_s: float
    amd_delay_s: float | None = None
    amd_machine: bool = False
    hung_up: bool = False


@dataclass(frozen=True, slots=True)
class LiveAnswerObserved:
    """A live answer ended its wait: connected to an agent after `wait_s`, or abandoned."""

    at: float
    abandoned: bool
    wait_s: float


@dataclass(frozen=True, slots=True)
class TalkObserved:
    """A talk period ended (customer or agent hung up)."""

    at: float
    talk_s: float


@dataclass(frozen=True, slots=True)
class WrapupObserved:
    """A wrap-up period ended (disposition or timeout)."""

    at: float
    wrap_s: float


@dataclass(frozen=True, slots=True)
class ContactClassified:
    """An agent dispositioned a call connected to them in time: a person, or an answering machine.

    `at` is the disposition's time, `connected_at` the time of that call's live answer (its
    `LiveAnswerObserved`): the strict count puts the person in the windows of the answer.
    """

    at: float
    connected_at: float
    person: bool


@dataclass(frozen=True, slots=True)
class AgentFreed:
    """An agent became ready (for estimators of agent availability)."""

    at: float


Observation = DialObserved | LiveAnswerObserved | TalkObserved | WrapupObserved | AgentFreed | ContactClassified
