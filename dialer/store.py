"""Live state and call records in Redis.

Call records go to a stream (`<prefix>:calls`, one entry per call, appended once when the call ends)
and to a hash per call (`<prefix>:call:<id>`, which the disposition later completes). Agent state is a
hash per agent. Writes go through an in-memory outbox: when Redis is slow or down, records wait there
and are retried in order, so nothing already accepted is lost while the daemon keeps dialing. A write
Redis refuses for good (an error reply such as WRONGTYPE: the key holds another type) would be refused
again on every retry: it is set aside with an ERROR naming it and counted (`RedisStore.refused`), so the
writes behind it go on.

Writes made outside the outbox (a lead's result, a do-not-call request, a suppression signal) retry while
Redis is away with `until_stored`.

A Redis that restarts with nothing on disk answers as before, empty. The daemon finds out by a marker it
writes once, `<prefix>:epoch` (`DataEpoch`: a random id and when it was made; SET NX, so the first daemon
on a Redis makes it and every later one adopts it): missing, or another one, means Redis lost (or someone
replaced) what it held. The daemon that finds the marker missing (or unreadable) first writes a new one
(compare-and-set on what it read) naming the epochs it follows (`DataEpoch.after`); a daemon that finds
another dialer's marker adopts it, holding for the same loss, instead of replacing it in turn
(`RedisStore.settle_epoch`). An unacknowledged loss is kept in `<prefix>:epoch:loss` (`StoreLoss`), so a daemon
restarted before a supervisor acknowledged it holds dialing too. `Persistence` is what `INFO persistence`
and `CONFIG GET save` say about the server keeping its data on disk.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import NoPermissionError, OutOfMemoryError, ReadOnlyError, RedisError, ResponseError, WatchError

from dialer.engine.commands import DispositionMade
from dialer.engine.records import CallRecord
from dialer.errors import StateStoreError

__all__ = ["DataEpoch", "EpochSeen", "Persistence", "RedisStore", "StoreLoss", "connect_redis", "end_if_cancelled",
           "redis_call", "refused_for_good", "until_stored"]

log = logging.getLogger(__name__)

Op = Callable[[aioredis.Redis], Awaitable[Any]]
Fields = dict[Any, Any]
T = TypeVar("T")


def connect_redis(url: str, *, timeout_s: float | None = None) -> aioredis.Redis:
    """A client for `redis://…`, `rediss://…` or `unix:///path/to/socket` URLs.

    `timeout_s` (the [redis] timeout) bounds making a connection. It is not the client's socket read timeout:
    the supervisor's blocking XREAD waits a whole wallboard interval for new records, longer than a command's
    deadline, so each call is bounded by its caller instead (`asyncio.timeout`, see `RedisStore`)."""
    if timeout_s is None:
        return aioredis.Redis.from_url(url, decode_responses=True)
    return aioredis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=timeout_s)


@asynccontextmanager
async def redis_call(what: str, timeout_s: float) -> AsyncIterator[None]:
    """The one translation of Redis errors into ours: run the body under a deadline (the [redis] timeout, or
    the caller's own when it waits longer on purpose); a Redis failure, a lost connection or no answer in
    time becomes `StateStoreError` saying what was being done and what to check. The Redis error stays its
    `__cause__` (`refused_for_good` reads it)."""
    try:
        async with asyncio.timeout(timeout_s):
            yield
    except TimeoutError as exc:
        raise StateStoreError(_no_answer(what, timeout_s)) from exc
    except (RedisError, OSError) as exc:
        raise StateStoreError(f"Redis failed while {what}: {exc}; check the Redis address ([redis] url) and "
                              "the server") from exc


# Error replies of a Redis that cannot take a write for a moment (a replica during a failover, memory full,
# loading its data, a script running, a snapshot failing) or whose access rules are being fixed: the same
# command succeeds later, so they are retried like a lost connection. Any other error reply says that the
# command itself is wrong (WRONGTYPE...) and would be refused again for ever.
_PASSING = frozenset({"READONLY", "OOM", "LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS",
                      "MISCONF", "NOPERM", "NOAUTH"})


def refused_for_good(exc: BaseException | None) -> bool:
    """Whether `exc` (a redis-py error, or our StateStoreError made from one) is an error reply Redis would
    give again to the same command, rather than Redis away or busy for a moment."""
    if isinstance(exc, StateStoreError):
        exc = exc.__cause__
    if not isinstance(exc, ResponseError) or isinstance(exc, ReadOnlyError | OutOfMemoryError | NoPermissionError):
        return False
    text = str(exc)
    _, sep, reply = text.partition("caused error: ")  # a pipeline's error names its command first
    code = (reply if sep else text).split(" ", 1)[0]
    return code not in _PASSING


def end_if_cancelled() -> None:
    """Raise CancelledError if the current task was cancelled and the cancellation got lost. Python 3.11's
    `asyncio.wait_for`, which redis-py awaits every command through, returns the command's result instead
    of raising when the cancellation comes as the command completes: a loop that goes on with its next write
    would never end, and the daemon's stop would wait for it for ever. Nothing here catches a cancellation
    on purpose, so a task still marked cancelling was asked to stop."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def until_stored(what: str, write: Callable[[], Awaitable[T]], *, retry_s: float = 1.0,
                       max_retry_s: float = 30.0, extra: Mapping[str, object] | None = None,
                       logger: logging.Logger = log) -> T:
    """`write()` until Redis takes it: while it raises StateStoreError because Redis is away (down, a
    failover, a timeout), wait `retry_s`, then twice as long each time up to `max_retry_s`, and again. Any
    other error, and a command Redis refuses for good (`refused_for_good`), propagate; cancelling (the
    daemon stopping) ends the wait, a write that went through as the cancellation came included (the
    cancellation the Redis client swallowed is raised after it: `end_if_cancelled`). The caller makes `write`
    safe to run again: it may have been applied by a try whose answer was lost."""
    delay = retry_s
    while True:
        end_if_cancelled()
        try:
            done = await write()
            end_if_cancelled()
            return done
        except StateStoreError as exc:
            if refused_for_good(exc):
                raise
            end_if_cancelled()
            logger.warning(f"{what} not written yet (Redis away), retrying in {delay:g} s: {exc}",
                           extra={**(extra or {}), "error": repr(exc)})
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_retry_s)


UNREADABLE = "unreadable:"  # the id `DataEpoch.read` gives a marker it cannot read


@dataclass(frozen=True, slots=True)
class DataEpoch:
    """The marker of one life of the Redis data set: a random id and when it was made (epoch seconds)."""

    id: str
    created_at: float
    # the ids of the epochs this one replaced after their losses, newest first (at most `LINEAGE`): which data
    # sets it follows, for whoever looks into a loss
    after: tuple[str, ...] = ()

    LINEAGE = 16

    @classmethod
    def new(cls, now: float) -> DataEpoch:
        return cls(uuid.uuid4().hex, now)

    def successor(self, now: float) -> DataEpoch:
        """The marker that replaces this lost one."""
        return DataEpoch(uuid.uuid4().hex, now, (self.id, *self.after)[:self.LINEAGE])

    @property
    def readable(self) -> bool:
        """Whether a dialer wrote it (`read` names one that cannot be read `unreadable:...`)."""
        return not self.id.startswith(UNREADABLE)

    def dumps(self) -> str:
        got: dict[str, object] = {"id": self.id, "created_at": self.created_at}
        if self.after:
            got["after"] = list(self.after)
        return json.dumps(got)

    @classmethod
    def loads(cls, text: str) -> DataEpoch:
        """Raises ValueError: a marker someone else wrote counts as another epoch (`DataEpoch.read`)."""
        try:
            got = json.loads(text)
            after = got.get("after", [])
            return cls(str(got["id"]), float(got["created_at"]),
                       tuple(str(a) for a in after) if isinstance(after, list) else ())
        except (TypeError, KeyError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a data-epoch marker: {text[:80]!r}") from exc

    @classmethod
    def read(cls, text: str) -> DataEpoch:
        """The marker Redis holds; one that cannot be read has an id of its own, so it never passes for ours."""
        try:
            return cls.loads(text)
        except ValueError:
            return cls(f"{UNREADABLE}{text[:40]}", 0.0)


@dataclass(frozen=True, slots=True)
class EpochSeen:
    """What `RedisStore.settle_epoch` found: the marker Redis holds now, and the loss when it is not the one
    the daemon worked in (`adopted`: another daemon on this Redis had replaced the lost marker already), and
    what the marker's key held when read ("nothing", or that marker's id)."""

    epoch: DataEpoch
    loss: StoreLoss | None = None
    adopted: bool = False
    found: str = ""


@dataclass(frozen=True, slots=True)
class StoreLoss:
    """A loss of Redis's data the daemon found and no supervisor has acknowledged yet."""

    detected_at: float
    previous: str  # the id of the epoch that was lost
    found: str  # what the marker's key held instead: "nothing", or the other epoch's id

    def dumps(self) -> str:
        return json.dumps({"detected_at": self.detected_at, "previous": self.previous, "found": self.found})

    @classmethod
    def loads(cls, text: str) -> StoreLoss:
        try:
            got = json.loads(text)
            return cls(float(got["detected_at"]), str(got["previous"]), str(got["found"]))
        except (TypeError, KeyError, ValueError) as exc:
            # unreadable, it still says a loss was not acknowledged: hold rather than dial
            return cls(0.0, "?", f"an unreadable loss record ({exc})")


@dataclass(frozen=True, slots=True)
class Persistence:
    """Whether the Redis server keeps its data on disk: the append-only file, RDB snapshots (`save`, "" when
    off, None when CONFIG could not be read: managed Redis often disables it), or `unknown` saying why not."""

    aof: bool = False
    save: str | None = None
    unknown: str = ""

    @property
    def keeps_nothing(self) -> bool:
        """Known to keep nothing on disk: a restart comes back empty."""
        return not self.unknown and not self.aof and self.save == ""

    @property
    def verified(self) -> bool:
        """Known to keep its data on disk (AOF, or RDB snapshots)."""
        return not self.unknown and (self.aof or bool(self.save))

    def describe(self) -> str:
        if self.unknown:
            return f"unknown ({self.unknown})"
        if self.aof:
            return "append-only file (appendonly yes)"
        if self.save:
            return f"RDB snapshots only (save {self.save}): a crash loses the writes since the last snapshot"
        if self.save is None:
            return "no append-only file; whether RDB snapshots are on is unknown (CONFIG GET save refused)"
        return "nothing on disk (appendonly no, save \"\")"


class RedisStore:
    """The daemon's Redis writes, with an outbox that survives Redis outages."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = "dialer", timeout_s: float = 2.0) -> None:
        self.r = client
        self.prefix = prefix
        self._timeout = timeout_s
        self._outbox: deque[tuple[str, Op]] = deque()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self.failures = 0  # writes that failed: retried (Redis away), or set aside (refused)
        self.refused = 0  # of those, the writes Redis refused for good, set aside (see `_write_head`)
        # set when a queued write goes through after Redis was away (a reconnect): the daemon then checks that
        # Redis still holds its data (`DataEpoch`) before it trusts it again; the watcher clears it
        self.reconnected = asyncio.Event()

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
        async with redis_call("answering PING", self._timeout):
            await self.r.ping()

    # ------------------------------------------------------------------ writes (queued)
    def append_call_record(self, record: CallRecord) -> None:
        fields: Fields = record.to_fields()
        calls, call = self.key("calls"), self.key("call", record.call_id)

        async def op(r: aioredis.Redis) -> None:
            async with r.pipeline(transaction=True) as p:
                p.hset(call, mapping=fields)
                p.xadd(calls, fields)
                await p.execute()

        self._enqueue(f"record {record.call_id} ({call}, {calls})", op)

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
        if d.subscriber_id:  # whose earlier contact it is, beside the number (`ContactHistory.warm`)
            fields["subscriber_id"] = d.subscriber_id
        call, stream = self.key("call", d.call_id), self.key("dispositions")
        if not d.final:  # the agent had transferred the call: a note, not the call's disposition
            notes = self.key("transfer_dispositions")

            async def note(r: aioredis.Redis) -> None:
                await r.xadd(notes, fields, maxlen=1_000_000, approximate=True)

            self._enqueue(f"transfer note {d.call_id} ({notes})", note)
            return

        async def op(r: aioredis.Redis) -> None:
            async with r.pipeline(transaction=True) as p:
                p.hset(call, mapping=fields)
                p.xadd(stream, fields)
                await p.execute()

        self._enqueue(f"disposition {d.call_id} ({call}, {stream})", op)

    def append_preview_skip(self, fields: Fields) -> None:
        """Journal a lead an agent skipped in preview mode (stream `<prefix>:preview_skips`)."""
        stream = self.key("preview_skips")

        async def op(r: aioredis.Redis) -> None:
            await r.xadd(stream, fields, maxlen=1_000_000, approximate=True)

        self._enqueue(f"preview skip ({stream})", op)

    def set_agent(self, agent_id: str, fields: Fields) -> None:
        key = self.key("agent", agent_id)

        async def op(r: aioredis.Redis) -> None:
            await r.hset(key, mapping=fields)

        self._enqueue(f"agent {agent_id} ({key})", op)

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

        self._enqueue(f"agent state {agent_id} ({stream})", op)

    async def journal_dnc_request(self, call_id: str, fields: Mapping[str, str], *,
                                  timeout_s: float | None = None) -> None:
        """Journal the do-not-call request made on call `call_id` (stream `<prefix>:dnc_requests`) now, not
        through the outbox: the caller applies the request first and retries both while Redis is away
        (`until_stored`), so a journal line it waits for is one it knows is written. StateStoreError when Redis
        fails or does not answer within `timeout_s` (the store's deadline unless given)."""
        stream = self.key("dnc_requests")
        what = f"journaling the do-not-call request of call {call_id} in {stream} (the request itself is applied)"
        async with redis_call(what, self._timeout if timeout_s is None else timeout_s):
            await self.r.xadd(stream, dict(fields))  # type: ignore[arg-type]

    def enqueue(self, what: str, op: Op) -> None:
        """Queue a write of another module (e.g. `dialer.ledger_store`): written in order, retried until done
        (or set aside if Redis refuses it for good). `what` names it in the logs: say which keys it writes."""
        self._enqueue(what, op)

    def read_in_order(self, what: str, read: Callable[[aioredis.Redis], Awaitable[T]]) -> asyncio.Future[T]:
        """Read behind every write queued so far: the result reflects all of them and none queued later.

        The read waits in the outbox like a write (retried while Redis is down); the returned future
        resolves with its result. Cancelling the future drops the read. A read Redis refuses for good is set
        aside like such a write, and its future never resolves: `read` should catch the error replies it can
        live with (a key of another type), as `read_agents` does.
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
            what, op = self._outbox[0]
            try:
                async with asyncio.timeout(self._timeout):
                    await op(self.r)
            except ResponseError as exc:
                if not refused_for_good(exc):
                    raise
                # retried, it would be refused for ever, and every write behind it would wait for ever
                self._outbox.popleft()
                self.failures += 1
                self.refused += 1
                log.error(f"Redis refused a queued command for good; set aside, the writes behind it go on: {what}: "
                          f"{exc}. Fix or delete that key", extra={"action": what, "error": repr(exc)})
                return
            self._outbox.popleft()

    async def run_outbox(self, retry_delay_s: float = 0.5) -> None:
        """Drain the outbox in order, forever; on failure (Redis away) keep the item and retry. Cancel to stop."""
        failed = False
        while True:
            while self._outbox:
                end_if_cancelled()
                try:
                    await self._write_head()
                except (RedisError, OSError, TimeoutError) as exc:
                    self.failures += 1
                    failed = True
                    what = self._outbox[0][0] if self._outbox else "?"
                    log.warning("redis write failed, will retry", extra={"action": what, "error": repr(exc)})
                    await asyncio.sleep(retry_delay_s)
                    continue
                if failed:
                    failed = False
                    self.reconnected.set()
            end_if_cancelled()
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

    # ------------------------------------------------------------------ the data epoch and persistence
    async def claim_epoch(self, mine: DataEpoch) -> DataEpoch:
        """Write `mine` as the data-epoch marker unless Redis holds one (SET NX); return the one Redis holds
        now. Raises StateStoreError."""
        key = self.key("epoch")
        async with redis_call(f"writing the data-epoch marker {key}", self._timeout):
            if await self.r.set(key, mine.dumps(), nx=True):
                return mine
            text = await self.r.get(key)
        if text is None:  # deleted between the two: ours next time round
            return await self.claim_epoch(mine)
        return DataEpoch.read(str(text))

    async def settle_epoch(self, mine: DataEpoch, now: float, held: StoreLoss | None) -> EpochSeen:
        """Whether Redis still holds `mine`, the marker of the data set the daemon works in; when not, Redis lost
        its data: the loss is recorded in `<prefix>:epoch:loss` (`held`, the loss not acknowledged yet, or a new
        one) so that a restarted daemon still holds, and the marker is
          adopted when a dialer wrote it (another daemon on this Redis, or this one through an answer lost on the
            way, found the loss and replaced it already, or a daemon started on the emptied Redis claimed a
            fresh one): any marker not ours is already one after the loss, and replacing it would make that
            daemon find a loss of its own, and replace ours in turn, for ever (whether or not the two epochs
            follow the same one);
          replaced by `mine.successor` only when missing or unreadable, and only if it still holds what was
            read (WATCH: two daemons finding the same loss at once write one marker; the second adopts it).
        Raises StateStoreError."""
        key, loss_key = self.key("epoch"), self.key("epoch", "loss")
        async with redis_call(f"checking the data-epoch marker {key}", self._timeout):
            for _ in range(8):  # another writer between the read and the write: read again
                try:
                    return await self._settle_epoch(key, loss_key, mine, now, held)
                except WatchError:
                    continue
        raise StateStoreError(f"the data-epoch marker {key} kept changing while it was read: another program "
                              "writes it; check which, and that every dialer on this Redis runs this version")

    async def _settle_epoch(self, key: str, loss_key: str, mine: DataEpoch, now: float,
                            held: StoreLoss | None) -> EpochSeen:
        async with self.r.pipeline(transaction=True) as p:
            await p.watch(key, loss_key)
            text = await p.get(key)
            found = None if text is None else DataEpoch.read(str(text))
            if found is not None and found.id == mine.id:
                return EpochSeen(found, found=found.id)
            recorded_text = await p.get(loss_key)
            recorded = None if recorded_text is None else StoreLoss.loads(str(recorded_text))
            if found is not None and found.readable:
                loss = recorded or held or StoreLoss(now, mine.id, found.id)
                if recorded is None:  # acknowledged at the other daemon already: this one's supervisor has not
                    p.multi()  # type: ignore[no-untyped-call]
                    p.set(loss_key, loss.dumps())
                    await p.execute()
                return EpochSeen(found, loss, adopted=True, found=found.id)
            new = mine.successor(now)
            seen = "nothing" if found is None else found.id
            loss = held or StoreLoss(now, mine.id, seen)
            p.multi()  # type: ignore[no-untyped-call]
            p.set(key, new.dumps())
            p.set(loss_key, loss.dumps())
            await p.execute()
            return EpochSeen(new, loss, found=seen)

    async def read_loss(self) -> StoreLoss | None:
        """The loss not acknowledged yet, if any. Raises StateStoreError."""
        async with redis_call("reading the data-loss record", self._timeout):
            text = await self.r.get(self.key("epoch", "loss"))
        return None if text is None else StoreLoss.loads(str(text))

    async def clear_loss(self) -> None:
        """A supervisor acknowledged the loss. Raises StateStoreError."""
        async with redis_call("deleting the data-loss record", self._timeout):
            await self.r.delete(self.key("epoch", "loss"))

    async def persistence(self) -> Persistence:
        """What the server says of keeping its data on disk. Never raises: what cannot be read is `unknown`."""
        try:
            async with redis_call("reading INFO persistence", self._timeout):
                info: Any = await self.r.info("persistence")
        except StateStoreError as exc:
            return Persistence(unknown=f"INFO persistence failed: {exc}")
        aof = str(info.get("aof_enabled", "0")) == "1"
        try:
            async with redis_call("reading CONFIG GET save", self._timeout):
                got: Any = await self.r.config_get("save")
        except StateStoreError:  # CONFIG disabled or renamed (managed Redis), or not allowed to this user
            return Persistence(aof=aof, save=None, unknown="" if aof else
                               "CONFIG GET save refused (managed Redis?) and the append-only file is off")
        return Persistence(aof=aof, save=str(got.get("save", "")).strip())

    # ------------------------------------------------------------------ reads
    async def call_records(self, count: int = 1_000_000, *, page: int = 10_000) -> list[dict[str, str]]:
        """The stream's call records, oldest first, at most `count`. Read `page` entries at a time, each within
        the store's deadline: a long stream may take longer in all, but a Redis that stops answering fails it
        (StateStoreError) instead of hanging the caller."""
        out: list[dict[str, str]] = []
        start = "-"
        while len(out) < count:
            n = min(page, count - len(out))
            async with redis_call("reading the call records", self._timeout):
                entries: Any = await self.r.xrange(self.key("calls"), min=start, count=n)
            out.extend(dict(fields) for _id, fields in entries or ())
            if not entries or len(entries) < n:
                break
            start = f"({entries[-1][0]}"
        return out

    async def ledgered(self, call_id: str) -> str | None:
        """How the compliance ledger counted the call's live answer ("1" abandoned, "0" not; `LedgerStore.record`),
        None when it holds no note of it (not counted, or a week past)."""
        async with redis_call(f"reading the ledger's note of call {call_id}", self._timeout):
            got: Any = await self.r.get(self.key("ledgered", call_id))
        return None if got is None else str(got.decode() if isinstance(got, bytes) else got)

    async def call(self, call_id: str) -> dict[str, str]:
        """The call's hash (record plus disposition), empty if there is none; read within the store's deadline,
        so a half-open Redis makes it fail (StateStoreError) instead of hanging the request that asked."""
        async with redis_call(f"reading call {call_id}", self._timeout):
            fields: Any = await self.r.hgetall(self.key("call", call_id))
        return dict(fields)


def _no_answer(what: str, timeout_s: float) -> str:
    return (f"Redis did not answer within {timeout_s:g} s while {what}; check that Redis is up and not overloaded "
            "([redis] url, timeout_s)")
