"""The audit log: who changed what, and who listened to whom, in a Redis stream.

One entry per supervisor action (`<prefix>:audit`, capped at about `keep` entries): the token name and
role, the action, its target, the details as JSON, and both clocks (the daemon's `now`, which is
virtual in simulations, and the wall clock). Listening in on a call is only started after its entry is
written: when Redis cannot take the entry, the listen is refused. Other actions have already happened
when they are audited; if Redis is down their entry goes to the error log instead, in full.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from dialer.clock import Clock
from dialer.errors import StateStoreError
from dialer.store import RedisStore, redis_call
from dialer.supervisor.auth import Principal
from dialer.supervisor.records import check_cursor

__all__ = ["AuditLog"]

log = logging.getLogger(__name__)


class AuditLog:
    def __init__(self, store: RedisStore, clock: Clock, *, keep: int = 100_000, timeout_s: float | None = None) -> None:
        self._store = store
        self._clock = clock
        self._keep = keep
        self._timeout = store.timeout_s if timeout_s is None else timeout_s  # the [redis] timeout unless told
        self.key = store.key("audit")

    def _entry(self, who: Principal, action: str, target: str, details: dict[str, Any]) -> dict[str, str]:
        return {
            "at": f"{self._clock.now():.3f}",
            "wall": f"{time.time():.3f}",
            "who": who.name,
            "role": who.role.label,
            "action": action,
            "target": target,
            "details": json.dumps(details, sort_keys=True, default=str),
        }

    async def write(self, who: Principal, action: str, target: str, **details: Any) -> None:
        """Append an entry; raises StateStoreError when Redis cannot take it."""
        entry = self._entry(who, action, target, details)
        async with redis_call("writing the audit log", self._timeout):
            await self._store.r.xadd(self.key, entry, maxlen=self._keep, approximate=True)  # type: ignore[arg-type]

    async def record(self, who: Principal, action: str, target: str, **details: Any) -> None:
        """Append an entry for an action already done; never raises (logs the entry when Redis is down)."""
        try:
            await self.write(who, action, target, **details)
        except StateStoreError as exc:
            log.error("audit entry not stored", extra={"action": action, "error": str(exc),
                                                       "audit": self._entry(who, action, target, details)})

    async def read(self, limit: int = 100, before: str | None = None) -> list[dict[str, Any]]:
        """Newest first; `before` is a stream id from a previous page."""
        if not check_cursor(before):
            return []
        top = f"({before}" if before else "+"
        async with redis_call("reading the audit log", self._timeout):
            rows: Any = await self._store.r.xrevrange(self.key, max=top, min="-", count=limit)
        out: list[dict[str, Any]] = []
        for entry_id, fields in rows or ():
            item: dict[str, Any] = {"id": entry_id, **fields}
            item["at"] = float(fields.get("at", 0.0))
            item["wall"] = float(fields.get("wall", 0.0))
            try:
                item["details"] = json.loads(fields.get("details", "{}"))
            except ValueError:
                item["details"] = {}
            out.append(item)
        return out
