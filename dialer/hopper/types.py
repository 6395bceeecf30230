"""What the hopper hands out and reports: frozen values the engine, the API and metrics read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

__all__ = ["CallbackMove", "DialTarget", "FillReport", "HopperState", "HopperStatus", "LeadList", "NumberInUse",
           "RecycleReport", "ScheduledCallback"]

_EMPTY: Mapping[str, int] = MappingProxyType({})

HopperState = Literal["ok", "empty", "blocked", "exhausted", "no_leads"]

# What moving one scheduled callback did: moved; not waiting among the callbacks (being dialed, on a preview
# screen, done); or not kept for the agent who asked.
CallbackMove = Literal["moved", "not_scheduled", "not_yours"]


@dataclass(frozen=True, slots=True)
class DialTarget:
    """One number to originate now. `attempt` counts this dial (1 for the first)."""

    campaign_id: str
    lead_id: str
    number_e164: str
    number_index: int
    attempt: int
    fields: Mapping[str, str]
    callback_agent: str | None = None
    is_callback: bool = False
    callback_at: float | None = None  # a callback: the time it was scheduled for
    zone: str | None = None  # the person's time zone (the first of their numbers' zones), for reports by local hour
    lead_list: str | None = None  # the list that brought the lead (its first), for reports by list
    # the person as the calling hours see them (all zones, all numbers, the address's region), so that a
    # callback's time is checked when the agent sets it, not only when the result is written
    zones: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    region: str | None = None
    # when it was taken (its score in the in-flight set): with `attempt`, the take's token. A preview left on
    # screen past `inflight_timeout_s` is recovered as lost and may be taken again; its stale target is then
    # refused by `Hopper.recheck` and `Hopper.give_back` (None: a target from before the token; only `attempt`)
    taken_at: float | None = None


@dataclass(frozen=True, slots=True)
class NumberInUse:
    """What holds a number an agent typed (manual dialing): `dnc` (a do-not-call list, or a person it names or
    the base lists for it asked not to be called), and the dial that has it out now, if any: a take
    (`out_campaign`, `out_lead`: a predictive dial, a preview on an agent's screen, another agent's manual call,
    whose lead's id starts with `hopper.MANUAL_LEAD_PREFIX`, in any campaign), or the manual call of `out_agent`
    (a mark an earlier version wrote, which lives its TTL at most)."""

    dnc: bool
    out_campaign: str | None = None
    out_lead: str | None = None
    out_agent: str | None = None


@dataclass(frozen=True, slots=True)
class ScheduledCallback:
    """A scheduled callback, as an agent's list (theirs) or a supervisor's (all) shows it."""

    lead_id: str
    at: float
    number_e164: str  # the lead's first number (the call may go to another, as the policy decides then)
    fields: Mapping[str, str]
    kept_for: str | None = None  # the agent who kept it for themselves (None: any agent's)


@dataclass(frozen=True, slots=True)
class RecycleReport:
    """What one `Hopper.recycle` did: leads that had reached the attempt cap, given another round."""

    campaign_id: str
    revived: int = 0  # back in the retry queue, due now (the policy still checks each before a dial)
    still_capped: int = 0  # at the campaign's max_attempts_total still: raise it first
    max_attempts_total: int = 0


@dataclass(frozen=True, slots=True)
class LeadList:
    """One list of a campaign: its name, how many new leads its imports brought (not those merged into
    leads of other lists), paused or not, and what became of those leads: results recorded (`dials`),
    contacts, sales, and leads finished (no more dials: sold, refused, attempt cap, do-not-call, ...).
    A lead imported again through another list still counts for the list that brought it."""

    name: str
    leads: int
    paused: bool
    dials: int = 0
    contacts: int = 0
    sales: int = 0
    finished: int = 0

    @property
    def remaining(self) -> int:
        """Leads of the list still to be worked (not finished)."""
        return max(0, self.leads - self.finished)


@dataclass(frozen=True, slots=True)
class FillReport:
    """What one `Hopper.fill` did."""

    campaign_id: str
    moved: int = 0
    fresh: int = 0
    retries: int = 0
    checked: int = 0
    recovered: int = 0
    depth: int = 0
    deferred: Mapping[str, int] = field(default_factory=lambda: _EMPTY)
    finished: Mapping[str, int] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class HopperStatus:
    """The hopper's depth and, when it cannot supply numbers, why (for metrics and the API).

    `state`: ok (numbers ready), empty (callable leads exist but are not filled yet), blocked (leads
    exist but none may be called now: `reason` says why and `next_callable_at` when that changes),
    exhausted (every lead is finished), no_leads (nothing was ever loaded).
    """

    campaign_id: str
    state: HopperState
    reason: str
    depth: int
    in_flight: int
    callbacks_due: int
    callbacks_scheduled: int
    fresh_in_hours: int
    fresh_outside_hours: int
    retries_due: int
    waiting: int
    waiting_by_reason: Mapping[str, int]
    finished_by_reason: Mapping[str, int]
    next_callable_at: float | None
    callbacks_kept_due: int = 0  # of `callbacks_due`, the ones kept for their agent (only they may call them yet)
    lists_paused: tuple[str, ...] = ()  # the lead lists a supervisor paused (their leads wait)
