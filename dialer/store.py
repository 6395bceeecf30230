"""Live state and call records in Redis.

Call records go to a stream (`<prefix>:calls`, one entry per call, appended once when the call ends)
and to a hash per call (`<prefix>:call:<id>`, which the disposition later completes). Agent state is a
hash per agent. Writes go through an in-memory outbox: when Redis is slow or down, records wait there
and are retried in order, so nothing already accepted is lost while the daemon keeps dialing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from dialer.engine.commands import DispositionMade
from dialer.engine.records import CallRecord
from dialer.errors import StateStoreError

__all__ = ["RedisStore", "connect_redis"]

log = logging.getLogger(__name__)

Op = Callable[[aioredis.Redis], Awaitable[Any]]
Fields = dict[Any, Any]
T = TypeVar("T")


def connect_redis(url: str) -> aioredis.Redis:
    """A client for `redis://…`, `rediss://…` or `unix:///path/to/socket` URLs."""
    return aioredis.Redis.from_url(url, decode_responses=True)


class RedisStore:
    """The daemon's Redis writes, with an outbox that survives Redis outages."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = "dialer", timeout_s: float = 2.0) -> None:
        self.r = client
        self.prefix = prefix
        self._timeout = timeout_s
        self._outbox: deque[tuple[str, Op]] = deque()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self.failures = 0

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    @property
    def timeout_s(self) -> float:
        """The deadline of each Redis call."""
        return self._timeout

    @property
    def backlog(self) -> int:
        return len(self._outbox)

    async def ping(self) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await self.r.ping()
        except (RedisError, OSError, TimeoutError) as exc:
            raise StateStoreError(f"Redis did not answer PING: {exc!r}; check [redis] url") from exc

    # ------------------------------------------------------------------ writes (queued)
    def append_call_record(self, record: CallRecord) -> None:
        fields: Fields = record.to_fields()
        calls, call = self.key("calls"), self.key("call", record.call_id)

        async def op(r: aioredis.Redis) -> None:
            async with r.pipeline(transaction=True) as p:
                p.hset(call, mapping=fields)
                p.xadd(calls, fields)
                await p.execute()

        self._enqueue(f"record {record.call_id}", op)

    def add_disposition(self, d: DispositionMade) -> None:
        fields: Fields = {
            "call_id": d.call_id,
            "agent_id": d.agent_id,
            "disposition": d.code,
            "disposition_fields": json.dumps(d.fields, ensure_ascii=False),
            "script_path": json.dumps(list(d.script_path)),
            "disposed_at": str(d.at),
        }
        if d.amends:  # a late disposition: the call's record now says this, not `amends`
            fields["amends"] = d.amends
        call, stream = self.key("call", d.call_id), self.key("dispositions")
        if not d.final:  # the agent had transferred the call: a note, not the call's disposition
            notes = self.key("transfer_dispositions")

            async def note(r: aioredis.Redis) -> None:
                await r.xadd(notes, fields, maxlen=1_000_000, approximate=True)

            self._enqueue(f"transfer note {d.call_id}", note)
            return

        async def op(r: aioredis.Redis) -> None:
            async with r.pipeline(transaction=True) as p:
                p.hset(call, mapping=fields)
                p.xadd(stream, fields)
                await p.execute()

        self._enqueue(f"disposition {d.call_id}", op)

    def append_preview_skip(self, fields: Fields) -> None:
        """Journal a lead an agent skipped in preview mode (stream `<prefix>:preview_skips`)."""
        stream = self.key("preview_skips")

        async def op(r: aioredis.Redis) -> None:
            await r.xadd(stream, fields, maxlen=1_000_000, approximate=True)

        self._enqueue("preview skip", op)

    def set_agent(self, agent_id: str, fields: Fields) -> None:
        key = self.key("agent", agent_id)

        async def op(r: aioredis.Redis) -> None:
            await r.hset(key, mapping=fields)

        self._enqueue(f"agent {agent_id}", op)

    def read_agents(self) -> asyncio.Future[dict[str, dict[str, str]]]:
        """Every agent's hash (`<prefix>:agent:<id>`), read behind the writes queued so far; a key that
        is not a hash is skipped."""
        prefix = self.key("agent", "")

        async def read(r: aioredis.Redis) -> dict[str, dict[str, str]]:
            out: dict[str, dict[str, str]] = {}
            async for key in r.scan_iter(match=f"{prefix}*", count=500):
                name = str(key)
                try:
                    got = await r.hgetall(name)
                except ResponseError:
                    continue
                out[name[len(prefix):]] = {str(k): str(v) for k, v in got.items()}
            return out

        return self.read_in_order("agents read", read)

    def append_agent_state(self, agent_id: str, *, campaign: str, state: str, at: float, reason: str) -> None:
        """Journal an agent state change (stream `<prefix>:agent_states`, for per-agent reports)."""
        fields: Fields = {"agent_id": agent_id, "campaign": campaign, "state": state, "at": str(at), "reason": reason}
        stream = self.key("agent_states")

        async def op(r: aioredis.Redis) -> None:
            await r.xadd(stream, fields, maxlen=1_000_000, approximate=True)

        self._enqueue(f"agent state {agent_id}", op)

    def enqueue(self, what: str, op: Op) -> None:
        """Queue a write of another module (e.g. `dialer.ledger_store`): written in order, retried until done."""
        self._enqueue(what, op)

    def read_in_order(self, what: str, read: Callable[[aioredis.Redis], Awaitable[T]]) -> asyncio.Future[T]:
        """Read behind every write queued so far: the result reflects all of them and none queued later.

        The read waits in the outbox like a write (retried while Redis is down); the returned future
        resolves with its result. Cancelling the future drops the read.
        """
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()

        async def op(r: aioredis.Redis) -> None:
            if fut.done():
                return
            value = await read(r)
            if not fut.done():
                fut.set_result(value)

        self._enqueue(what, op)
        return fut

    def _enqueue(self, what: str, op: Op) -> None:
        self._outbox.append((what, op))
        self._wake.set()

    async def _write_head(self) -> None:
        async with self._lock:
            if not self._outbox:
                return
            _what, op = self._outbox[0]
            async with asyncio.timeout(self._timeout):
                await op(self.r)
            self._outbox.popleft()

    async def run_outbox(self, retry_delay_s: float = 0.5) -> None:
        """Drain the outbox in order, forever; on failure keep the item and retry. Cancel to stop."""
        while True:
            while self._outbox:
                try:
                    await self._write_head()
                except (RedisError, OSError, TimeoutError) as exc:
                    self.failures += 1
                    what = self._outbox[0][0] if self._outbox else "?"
                    log.warning("redis write failed, will retry", extra={"action": what, "error": repr(exc)})
                    await asyncio.sleep(retry_delay_s)
            self._wake.clear()
            await self._wake.wait()

    async def flush(self, timeout_s: float = 10.0) -> None:
        """Write everything queued now (used at shutdown). Raises StateStoreError if Redis stays down."""
        try:
            async with asyncio.timeout(timeout_s):
                while self._outbox:
                    await self._write_head()
        except (RedisError, OSError, TimeoutError) as exc:
            raise StateStoreError(
                f"{len(self._outbox)} Redis writes still queued at shutdown: {exc!r}; check Redis"
            ) from exc

    # ------------------------------------------------------------------ reads
    async def call_records(self, count: int = 1_000_000) -> list[dict[str, str]]:
        """Every call record in the stream, oldest first."""
        try:
            entries: Any = await self.r.xrange(self.key("calls"), count=count)
        except (RedisError, OSError) as exc:
            raise StateStoreError(f"cannot read call records: {exc!r}") from exc
        return [dict(fields) for _id, fields in entries or ()]

    async def call(self, call_id: str) -> dict[str, str]:
        try:
            fields: Any = await self.r.hgetall(self.key("call", call_id))
            return dict(fields)
        except (RedisError, OSError) as exc:
            raise StateStoreError(f"cannot read call {call_id}: {exc!r}") from exc
