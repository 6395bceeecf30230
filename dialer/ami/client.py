"""`AmiClient`: the daemon's one AMI connection, a panoramisk `Manager` with its hazards fenced off.

Theory of operation. One connection is a `_Session`: a fresh panoramisk `Manager` (subclassed only to
switch off its own reconnect, pinger and action replay), one `lost` future that says why the
connection ended, and the futures of the actions in flight on it. When the connection ends, for any
reason (EOF, socket error, a `Shutdown` event, our watchdog declaring it half-open), `lost` is set
and every in-flight action fails at once with `AmiConnectionError`: panoramisk would otherwise leave
their futures pending forever, or worse, re-send them after the next `FullyBooted`. Nothing is ever
re-sent: an Originate sent just before a drop may or may not have reached Asterisk, so the client
reports `OriginateFailed(may_exist=True)` and the engine decides (after resyncing with
`core_show_channels()` on `AmiConnected(reconnect=True)`). An Originate submitted while there is no
connection is never written: it comes back as `OriginateFailed(sent=False)`, and its lead goes back to
the hopper uncounted.

Tasks: `__aenter__` logs in (raising `AmiConnectionError` that says what to check), then starts a
TaskGroup holding the supervisor (ping watchdog, then reconnect with exponential backoff) and one
task per pending Originate, each under a deadline of its ring timeout plus a margin. `__aexit__`
sends Logoff, cancels them all and ends the event stream.

Events: a single `'*'` handler parses each message with `parse_event` and `put_nowait`s it; it
catches everything, so no handler error can reach panoramisk's `data_received` (where it would drop
the connection). Events of a new connection are held back until its `AmiConnected` is queued, so the
stream reads: ..., AmiDisconnected, AmiConnected, FullyBooted, ...
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import panoramisk
from panoramisk.ami_protocol import AMIProtocol

from dialer.ami import actions
from dialer.ami.actions import AmiAction, OriginateAction
from dialer.ami.events import (
    AmiConnected,
    AmiDisconnected,
    AmiEvent,
    ChannelRow,
    FullyBooted,
    MalformedEvent,
    OriginateFailed,
    OriginateResponse,
)
from dialer.ami.parse import parse_channel_row, parse_event
from dialer.ami.wire import MAX_LINE
from dialer.clock import Clock
from dialer.errors import AmiConnectionError, AmiError, ConfigError, OriginateError

__all__ = ["AmiClient", "AmiResponse"]

log = logging.getLogger(__name__)

# panoramisk lowercases action names when it checks this list; Originate must never be replayed.
FORGETABLE_ACTIONS = ("ping", "login", "logoff", "originate")
MAX_MESSAGE = 4 * MAX_LINE  # an unfinished AMI message held at most this long (real ones are a few KiB)


@dataclass(frozen=True, slots=True)
class AmiResponse:
    """The answer to an action sent with `AmiClient.send`. `fields` keys are lowercased."""

    ok: bool
    response: str
    message: str
    fields: tuple[tuple[str, str], ...] = ()
    events: tuple[tuple[tuple[str, str], ...], ...] = ()

    def get(self, key: str, default: str | None = None) -> str | None:
        """A header of the (first) response, case-insensitive."""
        low = key.lower()
        return next((v for k, v in self.fields if k == low), default)


def _pairs(msg: Any) -> tuple[tuple[str, str], ...]:
    return tuple(
        (str(k).lower(), v if isinstance(v, str) else ",".join(map(str, v)))
        for k, v in msg.items()
        if str(k).lower() != "content" or v
    )


def _describe(exc: object) -> str:
    if exc is None:
        return "Asterisk closed the connection"
    if isinstance(exc, BaseException):
        return f"connection error: {exc!r}"
    return "Asterisk sent Shutdown"  # AMIProtocol passes the Shutdown message itself


def _split_unfinished_char(data: bytes) -> tuple[bytes, bytes]:
    """`data` cut before a UTF-8 character its last bytes begin but do not finish: (whole, unfinished)."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 == 0x80:  # a continuation byte: the character began further back
            continue
        length = 2 if byte & 0xE0 == 0xC0 else 3 if byte & 0xF0 == 0xE0 else 4 if byte & 0xF8 == 0xF0 else 1
        return (data[:-back], data[-back:]) if length > back else (data, b"")
    return data, b""  # not UTF-8 (four continuation bytes): passed on, for the decoder to drop


class _CheckedProtocol(AMIProtocol):  # type: ignore[misc]
    """panoramisk's protocol, plus a report of every line that is not `Key: Value`, and a bound on a message.

    panoramisk skips such lines silently; an operator needs to know where and what they were. The
    report names the connection's line number and the start of the line; the stream then goes on
    exactly as before (the line is still ignored).

    panoramisk keeps an unfinished message whole and joins and re-splits it on every read, as this class
    does with its unfinished line: a line or message that never ends (binary junk, a runaway header) would
    grow without bound and cost time quadratic in its length inside the event loop, stopping every other
    task. So a line longer than `MAX_LINE` or a message longer than `MAX_MESSAGE` (real ones are a few KiB)
    is dropped: counted as a garbage line and as an unreadable message, logged, and the input skipped up to
    the blank line that ends it; the connection goes on.

    panoramisk decodes each read on its own, ignoring what does not decode, so a UTF-8 character split
    between two reads (a caller name, a file name) vanished from the message. The bytes of a character
    still unfinished at the end of a read are held back and go with the next read.
    """

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._partial = ""
        self._lineno = 0
        self.garbage_lines = 0
        self._skipping = False  # dropping a runaway message up to its end
        self._tail = b""  # while skipping: the last bytes read, for an end split across reads
        self._unfinished_char = b""

    def data_received(self, data: bytes) -> None:
        data, self._unfinished_char = _split_unfinished_char(self._unfinished_char + data)
        if not data:
            return
        if self._skipping:
            data = self._skip(data)
            if not data:
                return
        try:
            lines = (self._partial + data.decode("utf-8", "replace")).split("\r\n")
            self._partial = lines.pop()
            for line in lines:
                self._lineno += 1
                if line and ": " not in line and not line.endswith(":") and not line.startswith("Asterisk Call"):
                    self.garbage_lines += 1
                    log.warning("AMI line %d is not 'Key: Value'; skipped: %r", self._lineno, line[:80])
        except Exception:  # a report must never break the stream
            log.exception("AMI line check failed")
        super().data_received(data)
        unfinished = len(self.queue[-1]) if self.queue else 0
        if len(self._partial) > MAX_LINE or unfinished > MAX_MESSAGE:
            self._runaway(len(self._partial), unfinished)

    def _runaway(self, line: int, message: int) -> None:
        what = f"line {self._lineno + 1} longer than {MAX_LINE} bytes" if line > MAX_LINE else \
            f"message longer than {MAX_MESSAGE} bytes"
        log.warning("AMI %s (%r...); dropped up to the end of its message, connection kept", what,
                    self._partial[:80])
        self.garbage_lines += 1
        on_unreadable = getattr(self.factory, "on_unreadable", None)
        if callable(on_unreadable):
            on_unreadable()
        self.queue.clear()
        self._partial = ""
        self._skipping = True
        self._tail = b""

    def _skip(self, data: bytes) -> bytes:
        """While dropping a runaway message: the bytes after the blank line that ends it (b"" if not yet)."""
        joined = self._tail + data
        end = joined.find(b"\r\n\r\n")
        if end < 0:
            self._lineno += data.count(b"\r\n")
            self._tail = joined[-3:]
            return b""
        self._lineno += joined.count(b"\r\n", len(self._tail), end + 4)
        self._skipping = False
        self._tail = b""
        return joined[end + 4:]

    def handle_message(self, message: Any) -> None:
        # An exception here would end panoramisk's loop over the read's messages and asyncio would close the
        # transport: the connection dropped, and every later event of the read was lost. Two events run
        # together (the blank line between them missing) did it: panoramisk makes the repeated `Event`
        # header a list, then calls .lower() on it.
        try:
            super().handle_message(message)
        except Exception as exc:
            log.warning("AMI message before line %d unreadable (%r); skipped, connection kept: %.160s",
                        self._lineno, exc, "; ".join(f"{k}: {v}" for k, v in dict(message).items()))
            on_unreadable = getattr(self.factory, "on_unreadable", None)
            if callable(on_unreadable):
                on_unreadable()


class _Manager(panoramisk.Manager):  # type: ignore[misc]
    """panoramisk's Manager minus its reconnect loop, unchecked pinger and action replay."""

    def __init__(self, on_lost: Callable[[str], None], on_unreadable: Callable[[], None], **config: Any) -> None:
        super().__init__(**config)
        self._on_lost = on_lost
        self.on_unreadable = on_unreadable  # the protocol's report of a message it could not read

    def connection_lost(self, exc: object) -> None:
        self._connected = False
        pinger = getattr(self, "pinger", None)
        if pinger is not None:
            pinger.cancel()
            self.pinger = None
        self._on_lost(_describe(exc))

    def ping(self) -> None:
        """Our watchdog pings, under a timeout; panoramisk's pinger never checks the Pong."""

    def send_awaiting_actions(self, *_: Any) -> None:
        """Never replay actions after FullyBooted (a replayed Originate dials twice)."""


class _Session:
    """One AMI connection: its manager, why it ended, and the actions in flight on it."""

    def __init__(self, lost: asyncio.Future[str]) -> None:
        self.lost = lost
        self.manager: Any = None
        self.inflight: set[asyncio.Future[Any]] = set()
        self.early: list[AmiEvent] | None = []
        self.booted: asyncio.Future[None] = lost.get_loop().create_future()  # FullyBooted seen

    def on_lost(self, reason: str) -> None:
        if self.lost.done():
            return
        self.lost.set_result(reason)
        err = AmiConnectionError(f"AMI connection lost: {reason}")
        for fut in self.inflight:
            if not fut.done():
                fut.set_exception(err)

    def close(self, reason: str) -> None:
        self.on_lost(reason)
        manager, self.manager = self.manager, None
        if manager is None:
            return
        protocol = manager.protocol
        manager.close()
        if protocol is not None:
            protocol.transport.abort()  # close() would wait for a half-open peer to read our buffer

    def forget(self, action_id: str) -> None:
        if self.manager is not None and self.manager.protocol is not None:
            self.manager.protocol.responses.pop(action_id, None)


class _End:
    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class AmiClient:
    """Typed asyncio AMI client; use as `async with AmiClient(...) as ami:`."""

    def __init__(
        self,
        *,
        host: str,
        port: int = 5038,
        username: str,
        secret: str,
        events: str = "call,user,reporting",
        ping_interval: float = 10.0,
        ping_timeout: float = 5.0,
        connect_timeout: float = 10.0,
        reconnect_delay: float = 1.0,
        reconnect_max_delay: float = 30.0,
        max_pending_originates: int = 1000,
        originate_margin: float = 10.0,
        boot_wait: float = 60.0,
        clock: Clock | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        for name, value in (
            ("ping_interval", ping_interval),
            ("ping_timeout", ping_timeout),
            ("connect_timeout", connect_timeout),
            ("reconnect_delay", reconnect_delay),
            ("reconnect_max_delay", reconnect_max_delay),
            ("originate_margin", originate_margin),
            ("boot_wait", boot_wait),
        ):
            if not value > 0:
                raise ConfigError(f"AmiClient {name} must be > 0 seconds, got {value!r}")
        if max_pending_originates < 1:
            raise ConfigError(f"max_pending_originates must be >= 1, got {max_pending_originates}")
        self._login = actions.login(username, secret, events)
        self._host, self._port, self._username, self._events = host, port, username, events
        self._ping_interval, self._ping_timeout = ping_interval, ping_timeout
        self._connect_timeout = connect_timeout
        self._reconnect_delay, self._reconnect_max_delay = reconnect_delay, reconnect_max_delay
        self._max_pending = max_pending_originates
        self._originate_margin = originate_margin
        self._boot_wait = boot_wait
        masks = {c.strip().lower() for c in events.split(",")}
        self._reads_system = bool(masks & {"system", "all", "on"})
        self._told_no_system = False
        # Asterisk (or the PBX simulator on a scaled clock) counts the ring Timeout in call time; the
        # network timeouts above are real seconds and are never scaled.
        self._clock = clock
        self._monotonic = monotonic  # how long an outage lasted, said when the link is back (real seconds)
        self._queue: asyncio.Queue[AmiEvent | _End] = asyncio.Queue()
        self._pending: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._tg: asyncio.TaskGroup | None = None
        self._session: _Session | None = None
        self._closing = False
        self._ids = itertools.count(1)
        self.handler_errors = 0
        self.malformed_events = 0

    # --- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> AmiClient:
        if self._tg is not None:
            raise AmiError("this AmiClient is already in use; enter it with one `async with` at a time")
        self._queue, self._closing = asyncio.Queue(), False
        self._pending.clear()
        session = await self._open()
        tg = asyncio.TaskGroup()
        await tg.__aenter__()
        self._tg, self._session = tg, session
        self._go_live(session, reconnect=False)
        log.info("AMI connected to %s:%s as user %r (events %s)", self._host, self._port, self._username,
                 self._events)
        self._spawn(self._supervise(session), "ami-supervisor")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._closing = True
        session, tg = self._session, self._tg
        try:
            if session is not None and not session.lost.done():
                try:
                    await self._request(session, actions.logoff().as_dict(), 1.0)
                except (AmiError, TimeoutError):
                    pass
                session.close("client closed")
        finally:
            for task in list(self._tasks):
                task.cancel()
            try:
                if tg is not None:
                    # Our tasks are cancelled already; passing the body's exception on would wrap it
                    # in an ExceptionGroup.
                    await tg.__aexit__(None, None, None)
            finally:
                if self._session is not None:
                    self._session.close("client closed")  # one a reconnect may have opened meanwhile
                self._tg = self._session = None
                self._queue.put_nowait(_End())

    @property
    def connected(self) -> bool:
        """Logged in right now."""
        return self._session is not None and not self._session.lost.done()

    @property
    def pending_originates(self) -> int:
        """Originates sent (or about to be) with no outcome yet; export it as a gauge."""
        return len(self._pending)

    @property
    def backlog(self) -> int:
        """Events queued and not yet consumed (the queue is unbounded: dropping events loses calls)."""
        return self._queue.qsize()

    async def events(self) -> AsyncIterator[AmiEvent]:
        """Every typed event, the client's own included, in arrival order; ends when the client closes."""
        while True:
            item = await self._queue.get()
            if isinstance(item, _End):
                self._queue.put_nowait(item)  # every later iterator ends too
                if item.error is not None:
                    raise AmiConnectionError(f"AMI client stopped: {item.error!r}") from item.error
                return
            yield item

    # --- actions -----------------------------------------------------------------------------

    def submit_originate(self, action: OriginateAction) -> None:
        """Start an Originate without waiting; its OriginateResponse or OriginateFailed comes as an event.

        Raises OriginateError when this call id is already pending or `max_pending_originates` are.
        """
        if self._tg is None or self._closing:
            raise AmiConnectionError("AmiClient is not running: submit Originates inside `async with`")
        call_id = action.call_id
        if call_id in self._pending:
            raise OriginateError(f"call {call_id} already has an Originate pending; wait for its outcome")
        if len(self._pending) >= self._max_pending:
            raise OriginateError(
                f"{len(self._pending)} Originates already pending (max_pending_originates): "
                "dial slower or raise the cap"
            )
        self._pending[call_id] = asyncio.get_running_loop().time()
        try:
            self._spawn(self._originate(action), f"originate-{call_id}")
        except BaseException:
            self._pending.pop(call_id, None)
            raise

    async def send(self, action: AmiAction, timeout: float = 10.0, *, check: bool = False) -> AmiResponse:
        """Send one action and return Asterisk's answer.

        An `Error` answer is returned with `ok=False` (a Redirect of a channel that just hung up is a
        normal race), or raised as AmiError when `check` is set. No answer within `timeout`, or no
        connection, raises AmiConnectionError.
        """
        result = await self._call(action, timeout)
        msgs = result if isinstance(result, list) else [result]
        first = msgs[0]
        response = str(first.get("Response", ""))
        reply = AmiResponse(
            ok=response in ("Success", "Follows", "Goodbye"),
            response=response,
            message=str(first.get("Message", "")),
            fields=_pairs(first),
            events=tuple(_pairs(m) for m in msgs[1:]),
        )
        if check and not reply.ok:
            raise AmiError(f"Asterisk refused {action.name}: {reply.message or reply.response}")
        return reply

    async def core_show_channels(self, timeout: float = 10.0) -> list[ChannelRow]:
        """Every live channel, typed, for resyncing calls after a reconnect."""
        result = await self._call(actions.core_show_channels(), timeout)
        msgs = result if isinstance(result, list) else [result]
        if msgs[0].get("Response") not in ("Success", None):
            raise AmiError(
                f"CoreShowChannels refused ({msgs[0].get('Message')}): give the AMI user write=reporting"
            )
        rows: list[ChannelRow] = []
        for msg in msgs:
            if msg.get("Event") != "CoreShowChannel":
                continue
            row = parse_channel_row(msg)
            if isinstance(row, MalformedEvent):
                self.malformed_events += 1
                log.warning("CoreShowChannels: skipped an unreadable row: %s", row.problem)
            else:
                rows.append(row)
        return rows

    async def _call(self, action: AmiAction, timeout: float) -> Any:
        session = self._session
        if session is None or session.lost.done():
            raise AmiConnectionError(f"not connected to AMI at {self._host}:{self._port}; {action.name} not sent")
        try:
            return await self._request(session, action.as_dict(), timeout)
        except TimeoutError:
            raise AmiConnectionError(
                f"no answer to {action.name} within {timeout:g} s: Asterisk is overloaded or the "
                "connection is half-open (the ping watchdog will reconnect)"
            ) from None

    async def _request(self, session: _Session, action: dict[str, str], timeout: float) -> Any:
        """Send on `session`, await the answer (a panoramisk Message or list of them) under `timeout`."""
        if session.lost.done():
            raise AmiConnectionError(f"AMI connection lost: {session.lost.result()}")
        action_id = action.setdefault("ActionID", f"dialer/{next(self._ids)}")  # '/' is never in a call id
        fut = asyncio.ensure_future(session.manager.send_action(action))
        session.inflight.add(fut)
        try:
            return await _answer_within(fut, timeout)
        finally:
            session.inflight.discard(fut)
            if not fut.done() or fut.cancelled():
                session.forget(action_id)  # a late answer then flows as a plain event

    async def _originate(self, action: OriginateAction) -> None:
        call_id = action.call_id
        try:
            session = self._session
            if session is None or session.lost.done():
                # Never written to a socket: no call was tried, so no attempt is counted on the lead.
                self._emit(OriginateFailed(call_id, "not connected to AMI; the Originate was not sent", sent=False))
                return
            deadline = action.wait_ms / 1000 + self._originate_margin  # the Timeout header: ring plus set-up
            if self._clock is not None:
                deadline = self._clock.to_real(deadline)
            try:
                result = await self._request(session, action.as_dict(), deadline)
            except TimeoutError:
                self._emit(OriginateFailed(call_id, f"no OriginateResponse within {deadline:g} s", True))
                return
            except AmiConnectionError as exc:
                self._emit(OriginateFailed(call_id, str(exc), True))
                return
            self._emit(_originate_outcome(call_id, result))
        except Exception as exc:  # a bug here must not cancel the whole TaskGroup
            log.exception("Originate %s: unexpected error", call_id)
            self._emit(OriginateFailed(call_id, f"internal error: {exc!r}", True))
        finally:
            self._pending.pop(call_id, None)

    # --- connection --------------------------------------------------------------------------

    async def _open(self) -> _Session:
        loop = asyncio.get_running_loop()
        session = _Session(loop.create_future())
        where = f"{self._host}:{self._port}"
        manager = _Manager(
            session.on_lost,
            self._count_unreadable,
            host=self._host,
            port=self._port,
            loop=loop,
            events=self._events,
            forgetable_actions=FORGETABLE_ACTIONS,
        )
        manager.register_event("*", lambda _m, msg: self._on_message(session, msg))
        try:
            async with asyncio.timeout(self._connect_timeout):
                try:
                    transport, protocol = await loop.create_connection(_CheckedProtocol, self._host, self._port)
                except OSError as exc:
                    raise AmiConnectionError(
                        f"cannot connect to AMI at {where} ({exc}): check that Asterisk runs and that "
                        "manager.conf [general] has enabled=yes, this port and a matching bindaddr"
                    ) from exc
                done: asyncio.Future[Any] = loop.create_future()
                done.set_result((transport, protocol))
                manager.connection_made(done)  # panoramisk's own wiring of a fresh protocol
                if manager.pinger is not None:
                    manager.pinger.cancel()
                session.manager = manager
                try:
                    reply = await self._request(session, self._login.as_dict(), self._connect_timeout)
                except AmiConnectionError as exc:
                    raise AmiConnectionError(
                        f"AMI at {where} closed the connection during login ({exc}): check the username "
                        "and secret in manager.conf and its permit/deny ACL for this host"
                    ) from exc
        except TimeoutError:
            session.close("connect timed out")
            raise AmiConnectionError(
                f"no AMI login answer from {where} within {self._connect_timeout:g} s: check the host "
                "and port (is it Asterisk's AMI?) and the network path"
            ) from None
        except BaseException:
            session.close("connect failed")
            raise
        if reply.get("Response") != "Success":
            session.close("login refused")
            raise AmiConnectionError(
                f"AMI login refused for user {self._username!r} at {where} ({reply.get('Message')}): "
                "check the username and secret in manager.conf and its permit/deny ACL for this host "
                "(the user needs read=call,user,system and write=originate,call,reporting)"
            )
        await self._wait_booted(session, where)
        return session

    async def _wait_booted(self, session: _Session, where: str) -> None:
        """Hold a new connection until Asterisk says it has loaded every module (`FullyBooted`).

        Asterisk opens AMI before it loads its modules, so a daemon reconnecting while the PBX restarts
        logs in to a half-started PBX: its Originates fail (no dialplan, no PJSIP yet), each counted as an
        attempt. A booted Asterisk sends FullyBooted right after the login's answer, one still booting
        when it is done; both only to a session that reads `system` events. Without that class in the
        login's mask or the user's read rights the wait cannot end on the event, so it is skipped, or
        given up after `boot_wait` seconds, with a warning that says what to change.
        """
        if not self._reads_system:
            if not self._told_no_system:
                self._told_no_system = True
                log.warning("AMI events mask %r lacks `system`: the daemon cannot wait for Asterisk to finish "
                            "booting after a restart (FullyBooted) and may dial into a half-started PBX; add "
                            "system to [ami] events and to the dialer user's read in manager.conf", self._events)
            return
        if session.booted.done():
            return
        log.info("AMI at %s: Asterisk has not finished booting (no FullyBooted yet); not dialing for up to %g s",
                 where, self._boot_wait)
        either: set[asyncio.Future[Any]] = {session.booted, session.lost}
        await asyncio.wait(either, timeout=self._boot_wait, return_when=asyncio.FIRST_COMPLETED)
        if session.booted.done():
            log.info("AMI at %s: Asterisk fully booted", where)
        elif session.lost.done():
            session.close("lost while waiting for FullyBooted")
            raise AmiConnectionError(f"AMI at {where} closed the connection before Asterisk finished booting "
                                     f"({session.lost.result()})")
        else:
            log.warning("no FullyBooted from Asterisk at %s within %g s of login; going on as if booted. If "
                        "Asterisk is up, add system to the read rights of user %r in manager.conf (Asterisk "
                        "sends FullyBooted only to users who may read system events)",
                        where, self._boot_wait, self._username)

    def _go_live(self, session: _Session, *, reconnect: bool) -> None:
        self._emit(AmiConnected(reconnect=reconnect))
        early, session.early = session.early or [], None
        for event in early:
            self._emit(event)

    async def _supervise(self, session: _Session) -> None:
        try:
            while True:
                reason = await self._watch(session)
                if self._closing:
                    return
                log.warning("AMI connection to %s:%s lost: %s", self._host, self._port, reason)
                lost_at = self._monotonic()
                self._emit(AmiDisconnected(reason))
                session = await self._reconnect()
                self._session = session
                self._go_live(session, reconnect=True)
                # the reconnect warnings stop here: say the link is back, or the log reads as an outage still on
                log.info("AMI reconnected to %s:%s after %.1f s down (%s)", self._host, self._port,
                         self._monotonic() - lost_at, reason)
        except Exception as exc:  # a bug: end the stream loudly rather than hang the engine
            log.exception("AMI supervisor crashed")
            self._queue.put_nowait(_End(exc))

    async def _watch(self, session: _Session) -> str:
        """Return why the connection ended; declare it half-open when a Ping goes unanswered."""
        while not session.lost.done():
            done, _ = await asyncio.wait({session.lost}, timeout=self._ping_interval)
            if done:
                break
            try:
                await self._request(session, actions.ping().as_dict(), self._ping_timeout)
            except TimeoutError:
                session.close(f"no answer to Ping within {self._ping_timeout:g} s (half-open connection)")
            except AmiConnectionError:
                pass  # lost meanwhile; the loop reads why
        return session.lost.result()

    async def _reconnect(self) -> _Session:
        delay = self._reconnect_delay
        while True:
            try:
                return await self._open()
            except AmiConnectionError as exc:
                log.warning("AMI reconnect failed, next attempt in %.3g s: %s", delay, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._reconnect_max_delay)

    def _spawn(self, coro: Any, name: str) -> None:
        assert self._tg is not None
        task = self._tg.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _count_unreadable(self) -> None:
        self.malformed_events += 1

    def _emit(self, event: AmiEvent) -> None:
        self._queue.put_nowait(event)

    def _on_message(self, session: _Session, msg: Any) -> None:
        # Runs inside panoramisk's data_received: an exception here would drop the connection.
        try:
            event = parse_event(msg)
            if isinstance(event, FullyBooted) and not session.booted.done():
                session.booted.set_result(None)
            if isinstance(event, MalformedEvent):
                self.malformed_events += 1
                log.warning("AMI event %r unreadable: %s", event.name, event.problem)
            if session.early is not None:
                session.early.append(event)
            else:
                self._queue.put_nowait(event)
        except Exception:
            self.handler_errors += 1
            log.exception("AMI event handler failed; event dropped, connection kept")


async def _answer_within(fut: asyncio.Future[Any], timeout: float) -> Any:
    """`fut`'s result, or TimeoutError when it has none `timeout` seconds from now.

    An answer read in the same loop turn as the deadline fires is kept. `asyncio.timeout` alone cancels
    the waiting task even when its future has just been given its result, and the answer is lost: panoramisk
    has already consumed the message, so it never comes as an event either. After a stall of the loop the
    two come due together; in accelerated demos that left Originates without their OriginateResponse,
    ended `lost` by the stuck-call sweep minutes later.
    """
    try:
        async with asyncio.timeout(timeout):
            return await fut
    except TimeoutError:
        if fut.done() and not fut.cancelled():
            return fut.result()
        raise


def _originate_outcome(call_id: str, result: Any) -> OriginateResponse | OriginateFailed:
    if isinstance(result, list):
        event = parse_event(result[-1])
        if isinstance(event, OriginateResponse):
            return event
        return OriginateFailed(call_id, f"unexpected final answer to Originate: {event!r}", True)
    response, message = result.get("Response"), result.get("Message")
    if response == "Error":
        return OriginateFailed(call_id, f"Asterisk refused the Originate: {message}", False)
    return OriginateFailed(call_id, f"unexpected answer to Originate: {response!r} {message!r}", True)
