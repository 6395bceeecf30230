"""What the contact policy reads and what it decides: frozen values, no I/O objects.

`LeadView` is everything the policy needs to know about one lead at one moment (assembled by the hopper
from Redis in one round trip). `Verdict` says whether it may be dialed now, on which number, or why not
and until when. `DialResult` is what the engine reports after a dial; `ResultPlan` is what the policy
decides to do about it, which the hopper then writes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

from dialer.campaigns.vocab import Consent, Disposition, Outcome

__all__ = [
    "FINAL_BLOCKS",
    "Block",
    "DialResult",
    "LeadView",
    "NumberView",
    "ResultPlan",
    "Verdict",
]

_NO_MARKS: Mapping[str, str] = MappingProxyType({})
_NO_SUPS: Mapping[str, float] = MappingProxyType({})


class Block(StrEnum):
    """Why a lead may not be dialed. The first seven are final; the rest pass with time."""

    FINISHED = "finished"
    DNC = "do not call"
    CURRENT_SUBSCRIBER = "current subscriber"
    NO_CONSENT = "no consent"
    RECIDIVIST = "recidivist excluded"
    NO_NUMBER = "no dialable number"
    MAX_ATTEMPTS = "attempts exhausted"
    SUPPRESSED = "suppressed"
    BASE_CONTACT = "contacted recently in a base campaign"
    CONTACT_CAP = "too many contacts this month"
    ABANDON_LOCK = "72-hour lock after an abandoned call"
    DAY_CAP = "daily attempt cap reached"
    ROLLING_CAP = "24-hour attempt cap reached"
    NOT_DUE = "retry not due yet"
    OUTSIDE_HOURS = "outside calling hours"
    LIST_PAUSED = "list paused"


FINAL_BLOCKS = frozenset(
    {Block.FINISHED, Block.DNC, Block.CURRENT_SUBSCRIBER, Block.NO_CONSENT, Block.RECIDIVIST, Block.NO_NUMBER,
     Block.MAX_ATTEMPTS}
)


@dataclass(frozen=True, slots=True)
class NumberView:
    """One number of a lead as the policy sees it now."""

    e164: str
    dnc: bool = False
    dead: bool = False
    locked_until: float = 0.0


@dataclass(frozen=True, slots=True)
class LeadView:
    """One lead's contact state at one moment."""

    lead_id: str
    numbers: tuple[NumberView, ...]
    zones: tuple[str, ...]
    person: str = ""
    person_dnc: bool = False
    consent: Consent = Consent.UNKNOWN
    suppressions: Mapping[str, float] = field(default_factory=lambda: _NO_SUPS)
    attempts: int = 0
    day: str = ""
    attempts_day: int = 0
    next_index: int = 0
    retry_at: float = 0.0
    finished: str | None = None
    last_base_contact: float = 0.0
    month: str = ""
    contacts_in_month: int = 0
    prev_leaves: int = 0
    won_back: int = 0
    jumper_now: bool = False
    callback_at: float | None = None
    callback_agent: str | None = None
    region: str | None = None  # the address's region ("US-FL"), when the lead's import named one
    lists: tuple[str, ...] = ()  # the lists it came from (`dialer.leads.model.list_key`)
    recent_attempts: tuple[float, ...] = ()  # its last dials' times, oldest first (kept with a 24-hour cap)
    # the subscribers the operator's base lists now for its numbers (`subscriber:<id>`), its own person left out
    base_persons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Verdict:
    """Dial now on `number_index`, or not: `block` says why, `not_before` when to look again (None: never)."""

    ok: bool
    number_index: int = -1
    block: Block | None = None
    not_before: float | None = None
    detail: str = ""
    marks: Mapping[str, str] = field(default_factory=lambda: _NO_MARKS)

    @property
    def final(self) -> bool:
        return self.block in FINAL_BLOCKS


@dataclass(frozen=True, slots=True)
class DialResult:
    """How a dial ended, and the agent's disposition when the person was reached.

    `callback_agent` is the agent who keeps the callback ("mine"); None means anyone may take it.
    `abandoned`: the call was an abandon under the law whatever its outcome, e.g. a person connected to an
    agent more than 2 s after their greeting (outcome live, with the agent's disposition): their numbers get
    the abandon lock as after outcome `abandoned`.
    Call `Hopper.record_result` once per dial, after the disposition when the call reached an agent.
    """

    outcome: Outcome
    disposition: Disposition | None = None
    refusal_reason: str | None = None
    callback_at: float | None = None
    callback_agent: str | None = None
    agent: str | None = None
    abandoned: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.outcome, Outcome):
            object.__setattr__(self, "outcome", Outcome.parse(str(self.outcome)))
        if self.disposition is not None and not isinstance(self.disposition, Disposition):
            try:
                object.__setattr__(self, "disposition", Disposition(str(self.disposition).strip().lower()))
            except ValueError:
                allowed = ", ".join(d.value for d in Disposition)
                raise ValueError(f"unknown disposition {self.disposition!r}; use one of {allowed}") from None
        if self.disposition is not None and self.outcome is not Outcome.LIVE:
            raise ValueError(f"a disposition ({self.disposition}) needs outcome live, not {self.outcome}")
        if self.disposition is Disposition.CALLBACK:
            if self.callback_at is None or not math.isfinite(self.callback_at):
                raise ValueError("a callback disposition needs callback_at (epoch seconds)")
        elif self.callback_at is not None or self.callback_agent is not None:
            raise ValueError("callback_at/callback_agent only go with the callback disposition")
        if self.refusal_reason is not None and self.disposition is not Disposition.REFUSED:
            raise ValueError("refusal_reason only goes with the refused disposition")


@dataclass(frozen=True, slots=True)
class ResultPlan:
    """What to write after a dial: counters, locks, DNC, the lead's next step, follow-ups."""

    attempts: int
    day: str
    attempts_day: int
    month: str  # the person's local calendar month (YYYY-MM), the key of the monthly contact cap
    next_index: int
    dead: frozenset[int]
    next: Literal["retry", "callback", "finish"]
    at: float = 0.0
    finish_reason: str | None = None
    callback_agent: str | None = None
    lock_numbers: tuple[str, ...] = ()
    lock_until: float = 0.0
    dnc_numbers: tuple[str, ...] = ()
    dnc_person: bool = False
    contacted: bool = False
    base_contact: bool = False
    sale: bool = False
    won_back: bool = False
    decline_kind: str | None = None
    decline_until: float = 0.0
    follow_ups: tuple[tuple[str, float], ...] = ()
    last_outcome: str = ""
    recent_attempts: tuple[float, ...] | None = None  # to keep (a 24-hour cap is set); None: nothing to write
