"""Answer marks: what `dialer-connect` leaves in Asterisk's database (AstDB) at each answer, read back over AMI.

An answer made while the AMI link is down sends its events into the void; if the person then hangs up in the
silence of `Wait(600)` before the link is back, `CoreShowChannels` has no row for the call either, and the
daemon could only call it lost (retried as a no-answer: no abandon counted, no 72-hour lock). So the dialplan
writes, on the answered leg (docs/DIALPLAN_CONTRACT.md, "Answer marks"):

    at the answer       DB(dialer_ans/<yyyymmdd>/<call id>) = <epoch>:ANSWERED
    at AMD's verdict    DB(dialer_ans/<yyyymmdd>/<call id>) = <epoch>:<AMDStatus>   (same key, same epoch)

`<yyyymmdd>` is the UTC day of the answer, so the dialplan can drop whole old days (`DBdeltree`) without the
daemon's help: deleting AstDB entries over AMI (DBDel, DBDelTree) needs write class `system`, which the
daemon's AMI user must never have; reading them (DBGet) needs `reporting`, which it has for CoreShowChannels.

Asterisk answers `DBGet` with `Response: Success` (`EventList: start`, "Result will follow"), one
`DBGetResponse` event (`Family`, `Key`, `Val`) and `DBGetComplete`; a key that is not there with `Response:
Error`, "Database entry not found"; a user without the write class with "Permission denied".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from dialer.ami import actions
from dialer.ami.events import AmdStatus
from dialer.errors import AmiConnectionError, AmiError

if TYPE_CHECKING:
    from dialer.ami.client import AmiResponse

__all__ = ["ANSWERED", "DEAD_RUN_CALLS", "MARK_FAMILY", "OUTAGE_CALLS", "AnswerMark", "DbPort", "answer_marks",
           "mark_key", "mark_keys", "mark_of_reply", "parse_mark"]

log = logging.getLogger(__name__)

MARK_FAMILY = "dialer_ans"
ANSWERED = "ANSWERED"  # the mark's status between the answer and AMD's verdict
NOT_FOUND = "Database entry not found"
DAY_S = 86_400.0
CLOCK_SLACK_S = 60.0  # Asterisk's clock and ours may disagree this much around midnight
GRANT = ("give the dialer's AMI user write=reporting in manager.conf (DBGet needs reporting or system; "
         "never grant system)")


@dataclass(frozen=True, slots=True)
class AnswerMark:
    """A call's answer as the dialplan recorded it: when, and AMD's verdict (None: none was reached, AMD still
    listened or the line dropped during it)."""

    call_id: str
    answered_at: float
    verdict: AmdStatus | None


class DbPort(Protocol):
    """What reading the marks needs from an AMI client (`AmiClient.send`)."""

    async def send(self, action: actions.AmiAction, timeout: float = ..., *, check: bool = ...) -> AmiResponse: ...


def _day(at: float) -> str:
    return time.strftime("%Y%m%d", time.gmtime(at))


def mark_key(call_id: str, answered_at: float) -> str:
    """The key (under family `MARK_FAMILY`) of the mark of an answer at `answered_at`."""
    return f"{_day(answered_at)}/{call_id}"


def mark_keys(call_id: str, since: float, until: float) -> list[str]:
    """Every key the mark of an answer between `since` and `until` may have (one per UTC day; the slack covers
    a few seconds of clock difference with Asterisk at midnight)."""
    start, end = since - CLOCK_SLACK_S, max(since, until) + CLOCK_SLACK_S
    points = [start + i * DAY_S for i in range(int((end - start) // DAY_S) + 1)] + [end]
    return [f"{day}/{call_id}" for day in dict.fromkeys(_day(p) for p in points)]


def parse_mark(call_id: str, value: str) -> AnswerMark:
    """`<epoch>:<status>` as the dialplan writes it; AmiError when it is not one."""
    epoch, _, status = value.strip().partition(":")
    try:
        answered_at = float(epoch)
    except ValueError:
        raise AmiError(f"answer mark of call {call_id} unreadable: {value!r} (expected <epoch>:<status>; "
                       "check [dialer-connect] in extensions.conf against docs/DIALPLAN_CONTRACT.md)") from None
    if status == ANSWERED:
        return AnswerMark(call_id, answered_at, None)
    try:
        return AnswerMark(call_id, answered_at, AmdStatus(status))
    except ValueError:
        raise AmiError(f"answer mark of call {call_id} has an unknown status {status!r} (expected ANSWERED or "
                       f"one of {', '.join(AmdStatus)})") from None


def mark_of_reply(call_id: str, reply: AmiResponse) -> AnswerMark | None:
    """The mark in a DBGet answer; None when the key is not there; AmiError when Asterisk refused the action."""
    if not reply.ok:
        if reply.message == NOT_FOUND:
            return None
        raise AmiError(f"Asterisk refused DBGet ({reply.message or reply.response}): {GRANT}")
    for fields in reply.events:
        event = dict(fields)
        if event.get("event") == "DBGetResponse":
            return parse_mark(call_id, event.get("val", ""))
    raise AmiError("DBGet answered Success without a DBGetResponse event")


async def _lookup(ami: DbPort, call_id: str, keys: list[str], timeout: float) -> AnswerMark | None:
    for key in keys:
        reply = await ami.send(actions.db_get(MARK_FAMILY, key), timeout)
        mark = mark_of_reply(call_id, reply)
        if mark is not None:
            return mark
    return None


OUTAGE_CALLS = "calls answered during the AMI outage and gone since"
DEAD_RUN_CALLS = "calls an earlier daemon process placed, answered while no daemon ran and gone since"


async def answer_marks(ami: DbPort, wanted: Mapping[str, tuple[float, float]],
                       timeout: float = 5.0, *, calls: str = OUTAGE_CALLS) -> dict[str, AnswerMark]:
    """The marks of the calls `wanted` names (call id -> the span its answer may lie in), read concurrently,
    each DBGet under `timeout`. Any failure (refused, unanswered, unreadable) is logged as a WARNING and gives
    no marks at all: the caller then ends those calls as before the marks existed (lost). `calls` says in the
    WARNING which calls those are (the resync's after an AMI outage, `OUTAGE_CALLS`; a dead process's at a
    restart, `DEAD_RUN_CALLS`)."""
    if not wanted:
        return {}
    ids = list(wanted)
    found = await asyncio.gather(*(_lookup(ami, cid, mark_keys(cid, *wanted[cid]), timeout) for cid in ids),
                                 return_exceptions=True)
    failure = next((f for f in found if isinstance(f, BaseException)), None)
    if isinstance(failure, AmiConnectionError):
        log.warning("answer marks not read: DBGet unanswered (Asterisk overloaded, the connection half-open, or "
                    f"an Asterisk that does not end DBGet with DBGetComplete); {calls} are counted lost, not "
                    f"abandoned; check that {GRANT}", extra={"error": str(failure), "calls": len(ids)})
        return {}
    if isinstance(failure, AmiError):
        log.warning(f"answer marks not read; {calls} are counted lost, not abandoned: {failure}",
                    extra={"error": str(failure), "calls": len(ids)})
        return {}
    if failure is not None:
        raise failure
    return {cid: mark for cid, mark in zip(ids, found, strict=True) if isinstance(mark, AnswerMark)}
