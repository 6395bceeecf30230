"""The dials a dead daemon process placed whose calls are gone by the restart, ended by what Asterisk kept of them.

A daemon killed without its shutdown (kill -9, OOM, its host lost) leaves its dials behind. Those still up in
Asterisk are taken over (`dialer.engine.orphans`); `Hopper.release_dead_takes` hands the next run the others whose
take kept the call id (`Hopper.note_calls`: a `DeadDial`). Recorded lost, as before, a person who answered one of
them while no daemon ran, waited in `dialer-connect`'s silence and hung up before the restart would never be
counted abandoned (no ledger entry, no 72-hour lock on the number) and be called again as after a no-answer. So
each is looked up first (`settle`):

    its record      `<prefix>:call:<call id>` (`RedisStore.call`): the dead process ended the call and wrote its
                    record before it died. Its ledger entry went first through the same outbox (`Engine._end` makes
                    it before the record), so nothing more is counted: the lead's result is written from that
                    record (`Written`). A connected call is left out (its result waits for a disposition that
                    never comes): recorded lost, as before
    its answer mark else what the dialplan marked of its answer (`dialer.ami.marks`, DBGet over each UTC day from
                    the take to now), as the resync after an AMI outage reads it (`link._end_marked`): a machine
                    ends `machine`; a person (HUMAN, NOTSURE, AMD off) `abandoned`, their lead locked 72 hours and
                    an abandon counted in the ledger at the answer's time, the mark's; no verdict (AMD still
                    listening, or the line dropped during it) `abandoned` too, the safe side. In an agentless
                    campaign nobody waited for an agent: a person `hung_up_before_message`, no verdict
                    `hung_up_screening`, neither an abandon (`Marked`). Unless the dead process's ledger already
                    counted the answer (`RedisStore.ledgered`: the entry, noted with its call, was written and
                    the record, the next queued write, was not): counted abandoned, the record is written and
                    nothing counted again; counted connected in time, no abandon: recorded lost, as before
    neither         no mark (never answered), or the marks unreadable (DBGet refused or unanswered: one WARNING,
                    `answer_marks`): recorded lost by the hopper, as before

When the person hung up is not known (between the answer and the restart): the record ends at the restart and
leaves the wait out. Pure but for `settle`'s two reads; the daemon writes what it returns
(`Daemon._release_dead_takes`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from dialer.ami import events as ev
from dialer.ami.marks import DEAD_RUN_CALLS, AnswerMark, DbPort, answer_marks
from dialer.engine.calls import CallOutcome
from dialer.engine.records import CallRecord, RecordError
from dialer.hopper.hopper import DeadDial
from pacing.ledger import LedgerEntry, LedgerEntryKind

__all__ = ["CallReader", "Marked", "Written", "end_of_mark", "settle"]

log = logging.getLogger(__name__)

# a person talked to an agent: the lead's result comes with the disposition, which the dead process took with it
_AWAITS_DISPOSITION = frozenset({CallOutcome.CONNECTED.value, CallOutcome.TRANSFER_FAILED.value})


class CallReader(Protocol):
    """What `settle` reads of the call records (`RedisStore.call`: the call's hash, empty when there is none) and
    of the compliance ledger (`RedisStore.ledgered`: how it counted the call's live answer, None if it did not)."""

    async def call(self, call_id: str) -> dict[str, str]: ...

    async def ledgered(self, call_id: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Written:
    """A dead dial the dead process ended itself: its record, as stored; the lead's result is written from it."""

    dial: DeadDial
    record: CallRecord


@dataclass(frozen=True, slots=True)
class Marked:
    """A dead dial ended by its answer mark: the record to write, and the abandon to count in the compliance ledger
    (at the answer's time; None: not an abandon)."""

    dial: DeadDial
    record: CallRecord
    abandon: LedgerEntry | None


def end_of_mark(dial: DeadDial, campaign_id: str, mark: AnswerMark, now: float, *,
                agentless_message: str | None = None) -> Marked:
    """How the dial ended, by its answer `mark` (see the module docstring), as of `now`. `agentless_message`: the
    campaign runs agentless (the message a person was to get, as `AgentlessPlan.label` names it); None: with
    agents."""
    t = dial.target
    taken = t.taken_at if t.taken_at is not None else now
    answered = min(max(mark.answered_at, taken), now)
    human: float | None = answered
    message = ""
    if mark.verdict is ev.AmdStatus.MACHINE:
        outcome, human = CallOutcome.MACHINE, None
    elif mark.verdict is None or mark.verdict is ev.AmdStatus.HANGUP:
        if agentless_message is None:
            outcome = CallOutcome.ABANDONED
        else:
            outcome, human = CallOutcome.HUNG_UP_SCREENING, None
    elif agentless_message is None:
        outcome = CallOutcome.ABANDONED
    else:
        outcome, message = CallOutcome.HUNG_UP_BEFORE_MESSAGE, agentless_message
    abandoned = outcome is CallOutcome.ABANDONED
    record = CallRecord(
        call_id=dial.call_id, campaign_id=campaign_id, lead_id=t.lead_id, number=t.number_e164, attempt=t.attempt,
        outcome=outcome.value, abandoned=abandoned, created_at=taken, originated_at=taken, answered_at=answered,
        human_at=human, connected_at=None, ended_at=now, agent_id=None,
        amd_status=mark.verdict.value if mark.verdict is not None else None, dial_status=None, hangup_cause=None,
        wait_s=None, talk_s=None, message=message, callback_at=t.callback_at,
        callback_for=t.callback_agent if t.callback_at is not None else None, zone=t.zone, lead_list=t.lead_list)
    return Marked(dial, record, LedgerEntry(answered, LedgerEntryKind.ABANDONED) if abandoned else None)


async def settle(dials: Sequence[DeadDial], campaign_id: str, *, records: CallReader, ami: DbPort, now: float,
                 agentless_message: str | None = None, timeout: float = 5.0) -> list[Written | Marked]:
    """The dials of `dials` that their record or their answer mark ends (see the module docstring); the others
    are for the hopper to record lost. A record that cannot be read raises (StateStoreError: nothing is settled,
    so nothing can be counted twice); one that is there but unreadable leaves its dial to be recorded lost."""
    stored = await asyncio.gather(*(records.call(d.call_id) for d in dials))
    out: list[Written | Marked] = []
    unrecorded: list[DeadDial] = []
    for dial, fields in zip(dials, stored, strict=True):
        if not fields.get("outcome"):
            unrecorded.append(dial)
            continue
        try:
            record = CallRecord.from_fields(fields)
        except RecordError as exc:
            log.warning(f"the record an earlier daemon process wrote of call {dial.call_id} is unreadable; its lead "
                        f"is recorded lost: {exc}", extra={"call_id": dial.call_id, "campaign_id": campaign_id,
                                                           "lead_id": dial.target.lead_id})
            continue
        if record.outcome not in _AWAITS_DISPOSITION:
            out.append(Written(dial, record))
    wanted = {d.call_id: (d.target.taken_at if d.target.taken_at is not None else now, now) for d in unrecorded}
    marks = await answer_marks(ami, wanted, timeout, calls=DEAD_RUN_CALLS)
    marked = [d for d in unrecorded if d.call_id in marks]
    # The dead process may have counted the live answer (its ledger entry and its call record are two queued
    # writes, and it died between them): counted not abandoned, the person reached an agent in time (left to be
    # recorded lost, as without a mark); counted abandoned, the record is written but the abandon not counted again.
    counted = await asyncio.gather(*(records.ledgered(d.call_id) for d in marked))
    for d, how in zip(marked, counted, strict=True):
        if how == "0":
            continue
        end = end_of_mark(d, campaign_id, marks[d.call_id], now, agentless_message=agentless_message)
        out.append(replace(end, abandon=None) if how is not None else end)
    return out
