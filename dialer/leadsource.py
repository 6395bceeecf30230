"""Where the daemon gets the next leads to dial, and where it reports what became of them.

`LeadSource` is the port; the Redis hopper of `dialer.hopper` implements it in production (through
`HopperLeadSource`), and `InMemoryLeadSource` serves tests and small runs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from dialer.engine.commands import DispositionMade
from dialer.engine.core import DialRequest
from dialer.engine.records import CallRecord
from dialer.errors import PolicyViolation
from dialer.hopper.types import CallbackMove, LeadList, RecycleReport

if TYPE_CHECKING:
    from dialer.hopper.hopper import SettleDials

__all__ = ["CallbackCheck", "DeadTakeSource", "InMemoryLeadSource", "LeadAdminSource", "LeadSource", "ManualDialLeads",
           "ManualDialPolicy", "OwnCallbackSource", "PreviewSource", "PreviewTakeSource", "ReturnSource", "put_back"]


class LeadSource(Protocol):
    async def take(self, n: int, now: float) -> list[DialRequest]: ...

    async def depth(self, now: float) -> int: ...

    async def record_result(self, record: CallRecord, target: object | None, now: float) -> None: ...

    async def record_disposition(self, disposition: DispositionMade, now: float) -> None: ...


@runtime_checkable
class PreviewSource(Protocol):
    """A lead source that can take back a lead it handed out unused (an agent skipped it in preview)."""

    async def give_back(self, request: DialRequest, now: float) -> None: ...


@runtime_checkable
class PreviewTakeSource(Protocol):
    """A lead source that tells the leads it hands out for agents' preview screens from those dialed at once (the
    hopper: a daemon restarted after a crash gives back a preview never dialed with no attempt counted)."""

    async def take_previews(self, n: int, now: float) -> list[DialRequest]: ...


@runtime_checkable
class DeadTakeSource(Protocol):
    """A lead source that stamps each take with the run of the process that took it (the hopper), so that a daemon
    restarted after a crash releases at once the leads the gone process took, once it took over that process's
    calls still up in Asterisk (their leads, `keep_leads`, and any with a number in `keep_numbers`, are left). It
    keeps each predictive dial's call id on its take (`note_calls`, with the request's target), so that the gone
    process's calls are ended by `settle` (their answer marks) rather than recorded lost."""

    async def release_dead_takes(self, now: float, *, keep_leads: Collection[str] = (),
                                 keep_numbers: Collection[str] = (), settle: SettleDials | None = None) -> object: ...

    async def note_calls(self, calls: Iterable[tuple[object, str]]) -> None: ...


@runtime_checkable
class ReturnSource(Protocol):
    """A lead source that can take back, due again at once, a lead it handed out that nobody looked at: its
    dial never went out, its campaign was paused or stopped, or its agent paused. `give_back` is an agent's
    skip, which may hold the lead a while."""

    async def put_back(self, request: DialRequest, now: float) -> None: ...


async def put_back(source: object, request: DialRequest, now: float) -> None:
    """Return an untouched lead to `source`: due again at once where it can (`ReturnSource`), else as a skip."""
    if isinstance(source, ReturnSource):
        await source.put_back(request, now)
    elif isinstance(source, PreviewSource):
        await source.give_back(request, now)


@runtime_checkable
class OwnCallbackSource(Protocol):
    """A lead source that keeps the callbacks an agent scheduled for themselves ("me") for that agent."""

    async def take_own_callbacks(self, agent_ids: Iterable[str], now: float) -> dict[str, DialRequest]:
        """For each of `agent_ids` that has one due, the callback it kept for itself (taken: dial it, or give
        it back as a preview's lead)."""
        ...

    async def own_callbacks(self, agent_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """The callbacks `agent_id` kept for themselves, earliest first: `lead_id`, `at`, `number`, `lead`."""
        ...

    async def scheduled_callbacks(self, limit: int = 50) -> list[dict[str, Any]]:
        """Every scheduled callback, earliest first: `lead_id`, `at`, `number`, `lead`, `kept_for`."""
        ...

    async def due_own_callbacks(self, agent_ids: Iterable[str], now: float) -> dict[str, list[str]]:
        """For each of `agent_ids` with due callbacks kept for them, their lead ids (nothing is taken)."""
        ...

    async def reassign_callbacks(self, from_agent: str, to_agent: str | None) -> int:
        """Keep `from_agent`'s scheduled callbacks for `to_agent` instead (None: anyone's); how many moved."""
        ...

    async def move_callback(self, lead_id: str, at: float | None, keep_for: str | None, *,
                            kept_for: str | None = None, now: float | None = None) -> CallbackMove:
        """Move one scheduled callback to `at` (None: same time), kept for `keep_for` (None: anyone); with
        `kept_for`, only if it is kept for that agent now; with `now`, a new time must be in the person's
        calling hours (else `PolicyViolation`)."""
        ...


@runtime_checkable
class CallbackCheck(Protocol):
    """A lead source whose contact policy can say, when an agent sets a callback, whether its time is allowed."""

    def callback_refusal(self, target: object | None, at: float, now: float) -> str | None:
        """Why a callback at `at` to the person of `target` would be refused, or None."""
        ...


@runtime_checkable
class LeadAdminSource(Protocol):
    """A lead source a supervisor can look into and manage lead by lead."""

    async def recycle(self, now: float) -> RecycleReport:
        """Revive the leads finished at the attempt cap whose attempts are under the cap as it is now."""
        ...

    async def explain(self, lead_id: str, now: float) -> dict[str, Any]:
        """Where the lead is, and the contact policy's verdict on dialing it now (LeadError: no such lead)."""
        ...

    async def lists(self) -> list[LeadList]:
        """The campaign's lead lists: name, new leads imported from it, paused or not."""
        ...

    async def pause_list(self, name: str, now: float) -> LeadList:
        """Hold the leads of list `name` until it is resumed (LeadError: no such list)."""
        ...

    async def resume_list(self, name: str, now: float) -> tuple[LeadList, int]:
        """Resume list `name`; how many of its leads came back due now (LeadError: no such list)."""
        ...


@runtime_checkable
class PreviewPolicy(Protocol):
    """A lead source that checks a lead it handed out (on an agent's preview screen) against the whole
    contact policy again right before the agent dials it."""

    async def recheck(self, request: DialRequest, now: float) -> None:
        """Raise PolicyViolation, saying why, when the lead may not be dialed now; the lead has then been
        released back to the source with that reason (nothing to give back)."""
        ...


@runtime_checkable
class ManualDialPolicy(Protocol):
    """A lead source that can check a number typed by an agent against its campaign's contact policy."""

    async def check_number(self, number: str, now: float, *, own: DialRequest | None = None) -> None:
        """Raise PolicyViolation, saying why, when `number` may not be called now (DNC, another dial has it out,
        calling hours). `own`: the preview being dialed, whose own take has the number out (not another dial)."""
        ...


@runtime_checkable
class ManualDialLeads(Protocol):
    """A lead source that makes a lead of its own for each manual dial (`HopperLeadSource`: a lead in the
    campaign's hopper, taken for the call, its number marked out as its takes mark theirs), so that the call's
    result is kept as any dial's: a callback, a follow-up, the contact rules."""

    async def take_manual(self, number: str, agent_id: str, now: float) -> DialRequest:
        """The lead of `agent_id`'s manual dial of `number` (after `check_number`), taken for the call: dial it.
        Raises PolicyViolation when another dial has the number out now."""
        ...

    async def drop_manual(self, request: DialRequest) -> None:
        """The dial of a lead `take_manual` made never began: the lead goes, as if never made."""
        ...


class InMemoryLeadSource:
    """A FIFO of dial requests; remembers what it was told (for tests and small demos)."""

    def __init__(self, requests: Iterable[DialRequest] = (), *, dnc: Iterable[str] = ()) -> None:
        self._queue: deque[DialRequest] = deque(requests)
        self.results: list[CallRecord] = []
        self.dispositions: list[DispositionMade] = []
        self.given_back: list[DialRequest] = []
        self.refuse: dict[str, str] = {}  # lead id -> why the contact policy refuses it now (`recheck`)
        self.released: list[tuple[DialRequest, str]] = []  # leads `recheck` refused, with the reason
        self.dnc: set[str] = set(dnc)

    def add(self, request: DialRequest) -> None:
        self._queue.append(request)

    async def take(self, n: int, now: float) -> list[DialRequest]:
        out: list[DialRequest] = []
        while self._queue and len(out) < n:
            out.append(self._queue.popleft())
        return out

    async def depth(self, now: float) -> int:
        return len(self._queue)

    async def record_result(self, record: CallRecord, target: object | None, now: float) -> None:
        self.results.append(record)

    async def record_disposition(self, disposition: DispositionMade, now: float) -> None:
        self.dispositions.append(disposition)

    async def give_back(self, request: DialRequest, now: float) -> None:
        """A skipped preview goes to the back of the queue."""
        self.given_back.append(request)
        self._queue.append(request)

    async def recheck(self, request: DialRequest, now: float) -> None:
        """Only the `refuse` map (tests): a refused lead is released with the reason, not queued again."""
        why = self.refuse.get(request.lead_id)
        if why is not None:
            self.released.append((request, why))
            raise PolicyViolation(f"lead {request.lead_id} may not be dialed now: {why}; it went back to the "
                                  "campaign's leads, take the next one")

    async def check_number(self, number: str, now: float, *, own: DialRequest | None = None) -> None:
        """Only the `dnc` set (no calling hours: tests and small demos)."""
        if number in self.dnc:
            raise PolicyViolation(f"{number} is on the do-not-call list; it must not be dialed")
