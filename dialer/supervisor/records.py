"""Reading call records and dispositions back from Redis, typed, for the API and the reports.

The store writes flat strings (`CallRecord.to_fields`: "" for None, "1"/"0" for booleans). Every reader
parses an entry once with `CallRecord.from_fields` (the record's own field types, so every reader agrees);
the reports take the parsed record itself (`report_io.load`), and `view()` turns it into the API's dict, with
the call's disposition fields when the entry is the call's hash (a dict only at the edge, for JSON). A record
that cannot be parsed is skipped and logged by the listings and reports, and named in the error of a single
call's read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from typing import Any

from dialer.engine.records import CallRecord, RecordError, mask_number
from dialer.store import RedisStore, redis_call
from dialer.supervisor.errors import Invalid, SupervisorError

__all__ = ["PSEUDONYM_PREFIX", "STREAM_ID", "CallQuery", "Unreadable", "check_cursor", "iter_stream", "lead_pseudonym",
           "parse_or_skip", "query_calls", "read_call", "typed", "view"]

log = logging.getLogger(__name__)

STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
_RECORD_FIELDS = frozenset(f.name for f in dataclass_fields(CallRecord))
_KEEP_EMPTY = frozenset({"number", "outcome"})  # the API's shape: every other empty text reads null
# the disposition's fields in the call's hash (`RedisStore.add_disposition`), beside the record's
_DISPOSED_AT = "disposed_at"
_JSON = frozenset({"disposition_fields", "script_path"})
# What a read-only token (a wallboard TV, a report reader) sees of a call: the record's fields but the recording's
# file name (a dialplan may name it by the number; the number itself is masked), and of the disposition its code,
# who made it, when, and the script's path. Not what the agent collected (`disposition_fields`: addresses, contact
# phones, notes) nor `subscriber_id`. A list of what may be shown rather than of what may not: a field a later
# version stores is hidden from read-only until it is named here.
_READ_ONLY = (_RECORD_FIELDS - {"recording"}) | {_DISPOSED_AT, "disposition", "script_path", "amends"}
# A lead's id may be personal data: an import gives a lead without one the id s-<subscriber_id> or n<the E.164
# digits of its number> (dialer/leads/rows.py). Read-only sees it as a pseudonym instead, keyed by a secret of this
# daemon process: the same lead reads the same while the daemon runs (a report's flagged lead can be looked up in
# the call records with ?lead=<pseudonym>), and nobody without the key can tell which number or subscriber it is,
# nor test a guess. A restart draws a new key: a pseudonym is not an id to keep.
_PSEUDONYM_KEY = secrets.token_bytes(32)
PSEUDONYM_PREFIX = "anon-"


def lead_pseudonym(lead_id: str, key: bytes = _PSEUDONYM_KEY) -> str:
    """What a read-only token sees of a lead id: "anon-" and 16 hex digits of its HMAC-SHA256 under this daemon's
    key ("" stays "": no lead)."""
    if not lead_id:
        return lead_id
    return PSEUDONYM_PREFIX + hmac.new(key, lead_id.encode(), hashlib.sha256).hexdigest()[:16]


class Unreadable(SupervisorError):
    """A stored call record that cannot be parsed (written by hand, or damaged)."""

    status = 500


def check_cursor(before: str | None) -> bool:
    """Validate a paging cursor (a stream id from a previous page); False when nothing can precede it."""
    if before is None:
        return True
    ms, _, seq = before.partition("-")
    if not STREAM_ID.match(before) or int(ms) >= 1 << 64 or int(seq) >= 1 << 64:
        raise Invalid(f"before={before!r} is not a cursor from a previous page (like 1700000000000-0)")
    return before != "0-0" and not (int(ms) == 0 and int(seq) == 0)


def view(rec: CallRecord, stored: Mapping[str, str], *, mask: bool = False) -> dict[str, Any]:
    """The API's dict of a parsed record: the fields `stored` holds, in its order, the record's from `rec`, the
    disposition's (in a call's hash) parsed, any other as its text (an empty text reads null). `mask` (a
    read-only token): the number masked, the lead id a pseudonym (`lead_pseudonym`), and only the fields of
    `_READ_ONLY`: no personal data."""
    out: dict[str, Any] = {}
    for k, v in stored.items():
        if mask and k not in _READ_ONLY:
            continue
        if k in _RECORD_FIELDS:
            value = getattr(rec, k)
            out[k] = None if value == "" and k not in _KEEP_EMPTY else value
        elif k == _DISPOSED_AT:
            try:
                out[k] = float(v) if v else None
            except ValueError:
                out[k] = None
        elif k in _JSON:
            try:
                out[k] = json.loads(v) if v else None
            except ValueError:
                out[k] = None
        else:
            out[k] = None if v == "" else v
    if mask and out.get("number"):
        out["number"] = mask_number(str(out["number"]))
    if mask and out.get("lead_id"):
        out["lead_id"] = lead_pseudonym(str(out["lead_id"]))
    return out


def typed(stored: Mapping[str, str], *, mask: bool = False) -> dict[str, Any]:
    """`view` of a stored record (raises RecordError if it cannot be parsed)."""
    return view(CallRecord.from_fields(stored), stored, mask=mask)


def parse_or_skip(entry_id: str, stored: Mapping[str, str], reader: str) -> CallRecord | None:
    """The record of a stream entry, or None (logged, naming `reader`) when it cannot be parsed."""
    try:
        return CallRecord.from_fields(stored, record_id=entry_id)
    except RecordError as exc:
        log.warning("%s: %s; the record is skipped", reader, exc)
        return None


async def iter_stream(store: RedisStore, key: str, *, chunk: int = 2000,
                      timeout_s: float | None = None) -> AsyncIterator[tuple[str, dict[str, str]]]:
    """Every entry of a stream, oldest first, read in chunks, each within `timeout_s` (the [redis] timeout
    unless told)."""
    timeout_s = store.timeout_s if timeout_s is None else timeout_s
    start = "-"
    while True:
        async with redis_call(f"reading {key}", timeout_s):
            rows: Any = await store.r.xrange(key, min=start, max="+", count=chunk)
        for entry_id, fields in rows or ():
            yield entry_id, dict(fields)
        if not rows or len(rows) < chunk:
            return
        start = f"({rows[-1][0]}"


@dataclass(frozen=True, slots=True)
class CallQuery:
    campaign: str | None = None
    outcome: str | None = None
    agent: str | None = None
    lead: str | None = None
    abandoned: bool | None = None
    since: float | None = None
    until: float | None = None
    limit: int = 100
    before: str | None = None
    scan: int = 100_000

    def matches(self, rec: CallRecord, *, mask: bool = False) -> bool:
        """`mask` (a read-only caller): `lead` is a lead's pseudonym, as read-only sees lead ids, and matches
        nothing else (a number's n<digits> id gives read-only no answer about that number)."""
        if self.campaign is not None and rec.campaign_id != self.campaign:
            return False
        if self.outcome is not None and rec.outcome != self.outcome:
            return False
        if self.agent is not None and rec.agent_id != self.agent:
            return False
        if self.lead is not None and (lead_pseudonym(rec.lead_id) if mask else rec.lead_id) != self.lead:
            return False
        if self.abandoned is not None and rec.abandoned != self.abandoned:
            return False
        if self.since is not None and not rec.ended_at >= self.since:
            return False
        return self.until is None or rec.ended_at < self.until


async def query_calls(store: RedisStore, q: CallQuery, *, mask: bool,
                      timeout_s: float | None = None) -> dict[str, Any]:
    """Newest first; `next` is the cursor (pass as `before`) when more may match. Each page of the stream is
    read within `timeout_s` (the [redis] timeout unless told). `mask` (read-only): each record as `view` masks it,
    and `q.lead` a lead's pseudonym."""
    timeout_s = store.timeout_s if timeout_s is None else timeout_s
    if not check_cursor(q.before):
        return {"calls": [], "next": None, "scanned": 0}
    key = store.key("calls")
    top = f"({q.before}" if q.before else "+"
    found: list[dict[str, Any]] = []
    scanned = 0
    last_id: str | None = None
    exhausted = False
    while len(found) < q.limit and scanned < q.scan:
        async with redis_call("reading the call records", timeout_s):
            rows: Any = await store.r.xrevrange(key, max=top, min="-", count=min(1000, q.scan - scanned))
        if not rows:
            exhausted = True
            break
        for entry_id, fields in rows:
            scanned += 1
            last_id = entry_id
            rec = parse_or_skip(entry_id, fields, "call records API")
            if rec is not None and q.matches(rec, mask=mask):
                found.append({"id": entry_id, **view(rec, fields, mask=mask)})
                if len(found) >= q.limit:
                    break
        top = f"({last_id}"
    return {"calls": found, "next": None if exhausted or last_id is None else last_id, "scanned": scanned}


async def read_call(store: RedisStore, call_id: str, *, mask: bool) -> dict[str, Any] | None:
    """The call's hash (record plus disposition), or None."""
    stored = await store.call(call_id)
    if not stored:
        return None
    try:
        return typed(stored, mask=mask)
    except RecordError as exc:
        raise Unreadable(f"{exc}: the stored call cannot be shown; fix or delete {store.key('call', call_id)}") from exc
