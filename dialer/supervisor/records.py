"""Reading call records and dispositions back from Redis, typed, for the API and the reports.

The store writes flat strings (`CallRecord.to_fields`: "" for None, "1"/"0" for booleans). `typed()`
turns an entry back into numbers, booleans and None, by the field's name, so every reader agrees.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from dialer.engine.records import mask_number
from dialer.errors import StateStoreError
from dialer.store import RedisStore
from dialer.supervisor.errors import Invalid

__all__ = ["STREAM_ID", "CallQuery", "check_cursor", "iter_stream", "query_calls", "read_call", "typed"]

STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
_FLOATS = {"created_at", "originated_at", "answered_at", "human_at", "connected_at", "ended_at", "wait_s",
           "talk_s", "disposed_at", "callback_at"}
_INTS = {"attempt", "hangup_cause"}
_BOOLS = {"abandoned", "amd_audit", "surplus_hangup"}
_JSON = {"disposition_fields", "script_path"}


def check_cursor(before: str | None) -> bool:
    """Validate a paging cursor (a stream id from a previous page); False when nothing can precede it."""
    if before is None:
        return True
    ms, _, seq = before.partition("-")
    if not STREAM_ID.match(before) or int(ms) >= 1 << 64 or int(seq) >= 1 << 64:
        raise Invalid(f"before={before!r} is not a cursor from a previous page (like 1700000000000-0)")
    return before != "0-0" and not (int(ms) == 0 and int(seq) == 0)


def typed(fields: dict[str, str], *, mask: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in fields.items():
        if k in _FLOATS or k in _INTS:
            try:
                out[k] = None if v == "" else (int(v) if k in _INTS else float(v))
            except ValueError:
                out[k] = None
        elif k in _BOOLS:
            out[k] = v == "1"
        elif k in _JSON:
            try:
                out[k] = json.loads(v) if v else None
            except ValueError:
                out[k] = None
        else:
            out[k] = None if v == "" and k not in ("number", "outcome") else v
    if mask and "number" in out and out["number"]:
        out["number"] = mask_number(str(out["number"]))
    return out


async def iter_stream(store: RedisStore, key: str, *, chunk: int = 2000,
                      timeout_s: float = 10.0) -> AsyncIterator[tuple[str, dict[str, str]]]:
    """Every entry of a stream, oldest first, read in chunks."""
    start = "-"
    while True:
        try:
            async with asyncio.timeout(timeout_s):
                rows: Any = await store.r.xrange(key, min=start, max="+", count=chunk)
        except (RedisError, OSError, TimeoutError) as exc:
            raise StateStoreError(f"cannot read {key}: {exc!r}; check Redis") from exc
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

    def matches(self, f: dict[str, str]) -> bool:
        if self.campaign is not None and f.get("campaign_id") != self.campaign:
            return False
        if self.outcome is not None and f.get("outcome") != self.outcome:
            return False
        if self.agent is not None and f.get("agent_id") != self.agent:
            return False
        if self.lead is not None and f.get("lead_id") != self.lead:
            return False
        if self.abandoned is not None and (f.get("abandoned") == "1") != self.abandoned:
            return False
        if self.since is not None or self.until is not None:
            try:
                t = float(f.get("ended_at") or "nan")
            except ValueError:
                return False
            if self.since is not None and not t >= self.since:
                return False
            if self.until is not None and not t < self.until:
                return False
        return True


async def query_calls(store: RedisStore, q: CallQuery, *, mask: bool, timeout_s: float = 10.0) -> dict[str, Any]:
    """Newest first; `next` is the cursor (pass as `before`) when more may match."""
    if not check_cursor(q.before):
        return {"calls": [], "next": None, "scanned": 0}
    key = store.key("calls")
    top = f"({q.before}" if q.before else "+"
    found: list[dict[str, Any]] = []
    scanned = 0
    last_id: str | None = None
    exhausted = False
    while len(found) < q.limit and scanned < q.scan:
        try:
            async with asyncio.timeout(timeout_s):
                rows: Any = await store.r.xrevrange(key, max=top, min="-", count=min(1000, q.scan - scanned))
        except (RedisError, OSError, TimeoutError) as exc:
            raise StateStoreError(f"cannot read call records: {exc!r}; check Redis") from exc
        if not rows:
            exhausted = True
            break
        for entry_id, fields in rows:
            scanned += 1
            last_id = entry_id
            if q.matches(fields):
                found.append({"id": entry_id, **typed(dict(fields), mask=mask)})
                if len(found) >= q.limit:
                    break
        top = f"({last_id}"
    return {"calls": found, "next": None if exhausted or last_id is None else last_id, "scanned": scanned}


async def read_call(store: RedisStore, call_id: str, *, mask: bool) -> dict[str, Any] | None:
    """The call's hash (record plus disposition), or None."""
    fields = await store.call(call_id)
    return typed(fields, mask=mask) if fields else None
