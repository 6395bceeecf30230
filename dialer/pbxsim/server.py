"""`PbxSimulator`: the TCP server, the fan-out of events to sessions, and the test hooks.

    async with PbxSimulator(TrafficModel(), clock=ScaledClock(1000), seed=7) as sim:
        ...connect to 127.0.0.1:sim.port, log in as dialer, originate...
        record = await sim.wait_call_ended(call_id)

The simulator owns two things that run: the listening socket (asyncio calls the sessions' protocol
methods) and one scheduler task for every timed thing in every call. Both live exactly as long as the
`async with` block. Events are rendered once and written to each logged-in session whose `Events:`
mask has the event's class; nothing is rendered when no session wants it.

Test hooks: `drop_connections()` (RST every client), `freeze()`/`unfreeze()` (half-open: connections
stay up, nothing is read or answered, events are lost; calls go on), `inject_raw(bytes)` (write
arbitrary bytes to every session), `stats`, and `calls[call_id]` with each dial's true fate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from types import TracebackType

from dialer.ami.wire import Block
from dialer.clock import Clock, ScaledClock
from pacing.traffic import TrafficModel

from .actions import HANDLERS, unknown_action
from .dialplan import PHONE_BEHAVIOURS
from .fate import FarEndOptions
from .model import CallRecord
from .pbx import Pbx, PbxConfig, SimStats
from .render import ALL_MASK, mask_from_events_header
from .scheduler import Scheduler
from .session import AmiSession

__all__ = ["DEFAULT_SECRET", "DEFAULT_USERNAME", "PbxSimulator", "run_pbxsim"]

log = logging.getLogger(__name__)

DEFAULT_USERNAME = "dialer"
DEFAULT_SECRET = "change-me"  # the daemon's default `[ami] secret`


class PbxSimulator:
    """An Asterisk 22 look-alike on AMI, whose far ends follow a `TrafficModel`. Use with `async with`."""

    def __init__(
        self,
        traffic: TrafficModel,
        *,
        clock: Clock,
        seed: int,
        username: str = DEFAULT_USERNAME,
        secret: str = DEFAULT_SECRET,
        host: str = "127.0.0.1",
        port: int = 0,
        agent_answer_delay_s: float = 0.3,
        agent_ring_s: float = 2.0,
        abandon_message_s: float = 4.0,
        optout_digit: str = "",
        agentless_message_s: float = 12.0,
        h_extension_s: float = 0.0,
        far_end: FarEndOptions | None = None,
        agent_context: str = "dialer-agent",
        keep_calls: int = 200_000,
        max_backlog: int = 64 * 1024 * 1024,
        read_classes: str = "all",
    ) -> None:
        self.username = username
        self.read_perm = mask_from_events_header(read_classes) & ALL_MASK
        self.secret = secret
        self.max_backlog = max_backlog
        self.frozen = False
        self.stats = SimStats()
        self._clock = clock
        self._host = host
        self._port = port
        self.scheduler = Scheduler(clock, self._internal_error)
        config = PbxConfig(
            traffic=traffic,
            far=far_end or FarEndOptions(),
            agent_context=agent_context,
            agent_answer_delay_s=agent_answer_delay_s,
            agent_ring_s=agent_ring_s,
            abandon_message_s=abandon_message_s,
            optout_digit=optout_digit,
            agentless_message_s=agentless_message_s,
            h_extension_s=h_extension_s,
        )
        self.pbx = Pbx(
            clock=clock,
            scheduler=self.scheduler,
            sink=self,
            config=config,
            seed=seed,
            stats=self.stats,
            keep_calls=keep_calls,
        )
        self._sessions: set[AmiSession] = set()
        self._receivers: tuple[AmiSession, ...] = ()
        self._union = 0
        self._server: asyncio.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.errors: list[BaseException] = []

    # -- lifecycle --------------------------------------------------------------------------------------

    async def __aenter__(self) -> PbxSimulator:
        if self._server is not None:
            raise RuntimeError("PbxSimulator is already running; use one `async with` block at a time")
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: AmiSession(self), self._host, self._port)
        self._task = asyncio.create_task(self.scheduler.run(), name="pbxsim-scheduler")
        log.info("pbxsim: AMI listening on %s:%d", self._host, self.port)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        server, task = self._server, self._task
        self._server = self._task = None
        if server is not None:
            server.close()
        for session in list(self._sessions):
            session.abort()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if server is not None:
            await server.wait_closed()

    async def serve_forever(self) -> None:
        """Serve until cancelled (inside the `async with` block)."""
        if self._task is None:
            raise RuntimeError("start the simulator with `async with PbxSimulator(...)` first")
        await asyncio.shield(self._task)

    @property
    def port(self) -> int:
        """The TCP port actually bound (useful with `port=0`)."""
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def calls(self) -> dict[str, CallRecord]:
        """Every dial's record by call id (the `;1` Uniqueid, i.e. the Originate's ChannelId)."""
        return self.pbx.calls

    @property
    def calls_live(self) -> int:
        return self.stats.calls_live

    async def wait_call_ended(self, call_id: str) -> CallRecord:
        """Wait until the dial `call_id` is over and return its record."""
        return await self.pbx.wait_ended(call_id)

    # -- hooks for tests --------------------------------------------------------------------------------

    def set_phone(self, extension: str, behaviour: str) -> None:
        """How the agent phone `extension` answers a `Dial()` from now on: "answer" (after the configured
        delay), "noanswer" (rings until the Dial() gives up or is cancelled), "busy" or "unavailable"."""
        if behaviour not in PHONE_BEHAVIOURS:
            raise ValueError(f"phone behaviour must be one of {sorted(PHONE_BEHAVIOURS)}, got {behaviour!r}")
        self.pbx.phones[extension] = behaviour

    def drop_connections(self) -> None:
        """Close every client connection abruptly (RST). Calls in progress carry on."""
        for session in list(self._sessions):
            session.abort()

    def freeze(self) -> None:
        """Go half-open: keep the TCP connections but read nothing, answer nothing, send nothing."""
        self.frozen = True

    def unfreeze(self) -> None:
        """Leave the half-open state; actions that arrived meanwhile are answered now."""
        self.frozen = False
        for session in list(self._sessions):
            session.thaw()

    def inject_raw(self, data: bytes) -> None:
        """Write `data` as is to every connected session, logged in or not (not while frozen)."""
        for session in list(self._sessions):
            session.send(data)

    # -- EventSink for the PBX --------------------------------------------------------------------------

    def wants(self, cat: int) -> bool:
        return bool(self._union & cat)

    def emit(self, cat: int, data: bytes) -> None:
        if self.frozen:
            self.stats.events_dropped_frozen += 1
            return
        for session in self._receivers:
            if session.send_events & cat == cat:
                session.send(data)
                self.stats.events_sent += 1
                self.stats.bytes_sent += len(data)

    # -- SessionHost for the sessions -------------------------------------------------------------------

    def now(self) -> float:
        return self._clock.now()

    def session_opened(self, session: AmiSession) -> None:
        self._sessions.add(session)
        self.stats.sessions_opened += 1

    def session_closed(self, session: AmiSession) -> None:
        self._sessions.discard(session)
        self.mask_changed()

    def logged_in(self, session: AmiSession) -> None:
        self.stats.logins_ok += 1
        self.mask_changed()

    def mask_changed(self) -> None:
        self._receivers = tuple(s for s in self._sessions if s.authenticated and not s.closed)
        union = 0
        for s in self._receivers:
            union |= s.send_events
        self._union = union

    def broadcast(self, cat: int, data: bytes) -> None:
        if self.wants(cat):
            self.emit(cat, data)

    def note_slow_client(self) -> None:
        self.stats.slow_clients_dropped += 1

    def note_login_failed(self) -> None:
        self.stats.logins_failed += 1

    def dispatch(self, session: AmiSession, action: str, block: Block) -> None:
        self.stats.actions_received += 1
        handler = HANDLERS.get(action.lower())
        if handler is None:
            session.send(unknown_action(action, block.get("ActionID") or None))
            return
        try:
            handler(self.pbx, session, block)
        except Exception as exc:  # a bug must not take the PBX down; it is recorded and logged
            self._internal_error(exc)

    def _internal_error(self, exc: BaseException) -> None:
        self.stats.internal_errors += 1
        self.errors.append(exc)
        log.error("pbxsim: internal error", exc_info=exc)


async def run_pbxsim(
    host: str,
    port: int,
    traffic: TrafficModel,
    seed: int,
    scale: float,
    *,
    username: str = DEFAULT_USERNAME,
    secret: str = DEFAULT_SECRET,
    on_ready: Callable[[PbxSimulator], None] | None = None,
) -> None:
    """Serve a simulator on `host:port` with time running `scale` times faster, until cancelled."""
    async with PbxSimulator(
        traffic, clock=ScaledClock(scale), seed=seed, username=username, secret=secret, host=host, port=port
    ) as sim:
        if on_ready is not None:
            on_ready(sim)
        await sim.serve_forever()
