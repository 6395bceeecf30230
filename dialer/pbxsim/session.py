"""One AMI client connection: banner, login, event mask, action dispatch, and buffered writes.

Login follows Asterisk 22 (`action_login`, `authenticate`): a wrong user or secret is answered after one
second (virtual) with `Authentication failed` and the connection is closed; success answers
`Authentication accepted`, then `FullyBooted` if the session's mask has the `system` class, then the
`SuccessfulAuth` security event. The `Events:` header of Login sets the session's mask the way
`strings_to_mask` reads it (digits, on/off, or a comma list of classes); without it the session gets
every class. Before login every action but Login, Logoff and Challenge gets `Permission denied`.

Writes never block the loop. Everything a session must send during one loop iteration is collected
and written as one chunk at the end of the iteration (one syscall for a burst of events). When the
transport's buffer passes its high-water mark (`pause_writing`), output is held here; a client that
stops reading long enough to pile up `max_backlog` bytes is cut off, as Asterisk drops a manager
session whose writes time out, rather than letting one slow reader eat the memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import UTC, datetime
from typing import Protocol

from dialer.ami.wire import Block, Framer

from .render import Cat, event, kv, mask_from_events_header, response
from .scheduler import Scheduler

__all__ = ["AmiSession", "SessionHost"]

log = logging.getLogger(__name__)

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
_FULLY_BOOTED = (
    b"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 487\r\nLastReload: 487\r\nStatus: Fully Booted\r\n\r\n"
)


class SessionHost(Protocol):
    """What a session needs from the simulator."""

    username: str
    secret: str
    frozen: bool
    max_backlog: int
    read_perm: int
    scheduler: Scheduler

    def now(self) -> float: ...

    def session_opened(self, session: AmiSession) -> None: ...

    def session_closed(self, session: AmiSession) -> None: ...

    def logged_in(self, session: AmiSession) -> None: ...

    def mask_changed(self) -> None: ...

    def dispatch(self, session: AmiSession, action: str, block: Block) -> None: ...

    def broadcast(self, cat: int, data: bytes) -> None: ...

    def note_slow_client(self) -> None: ...

    def note_login_failed(self) -> None: ...


class AmiSession(asyncio.Protocol):
    """asyncio protocol for one manager connection."""

    def __init__(self, host: SessionHost) -> None:
        self._host = host
        self._transport: asyncio.Transport | None = None
        self._framer = Framer()
        self._out: list[bytes] = []
        self._out_len = 0
        self._flush_pending = False
        self._paused = False
        self._held_in: list[bytes] = []
        self._banner_due = False
        self._busy_login = False
        self._challenge = ""
        self.closed = False
        self.authenticated = False
        self.send_events = 0
        self.username = ""
        self.peer = ("", 0)
        self.local = ("", 0)

    # -- connection -------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self.peer = transport.get_extra_info("peername") or ("", 0)
        self.local = transport.get_extra_info("sockname") or ("", 0)
        self._host.session_opened(self)
        if self._host.frozen:
            self._banner_due = True
            transport.pause_reading()
        else:
            self._write_now(BANNER)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._out.clear()
        self._host.session_closed(self)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        if self._out:
            self._schedule_flush()

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        if self._host.frozen:
            self._held_in.append(data)
            if self._transport is not None:
                self._transport.pause_reading()
            return
        for block in self._framer.feed(data):
            if self.closed or self._busy_login:
                return
            self._on_block(block)

    def thaw(self) -> None:
        """The simulator left its frozen (half-open) state: greet, read what waited, carry on."""
        if self.closed or self._transport is None:
            return
        if self._banner_due:
            self._banner_due = False
            self.send(BANNER)
        held, self._held_in = self._held_in, []
        self._transport.resume_reading()
        for data in held:
            self.data_received(data)

    def abort(self) -> None:
        """Drop the TCP connection at once (RST), losing anything unsent."""
        if self._transport is not None and not self.closed:
            self.closed = True
            self._out.clear()
            self._transport.abort()

    def close(self) -> None:
        """Flush what is queued, then close (Logoff, failed login)."""
        if self._transport is not None and not self.closed:
            if self._out:
                self._transport.write(b"".join(self._out))
                self._out.clear()
            self.closed = True
            self._transport.close()

    # -- output -----------------------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        """Queue bytes for the end of this loop iteration."""
        if self.closed or self._host.frozen:
            return
        self._out.append(data)
        self._out_len += len(data)
        if self._paused:
            buffered = self._out_len + (self._transport.get_write_buffer_size() if self._transport else 0)
            if buffered > self._host.max_backlog:
                log.warning("pbxsim: AMI client %s reads too slowly (%d bytes queued); dropped", self.peer, buffered)
                self._host.note_slow_client()
                self.abort()
            return
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._flush_pending:
            self._flush_pending = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        if self.closed or self._paused or not self._out or self._transport is None:
            return
        data = b"".join(self._out) if len(self._out) > 1 else self._out[0]
        self._out.clear()
        self._out_len = 0
        self._transport.write(data)

    def _write_now(self, data: bytes) -> None:
        if self._transport is not None:
            self._transport.write(data)

    # -- input ------------------------------------------------------------------------------------------

    def _on_block(self, block: Block) -> None:
        aid = block.get("ActionID") or None
        action = (block.get("Action") or "").strip()
        if not action:
            self.send(response("Error", aid, "Missing action in request"))
            return
        name = action.lower()
        if name == "login":
            self._login(block, aid)
        elif name == "logoff":
            self.send(response("Goodbye", aid, "Thanks for all the fish."))
            self.close()
        elif name == "challenge":
            self._challenge_action(block, aid)
        elif not self.authenticated:
            self.send(response("Error", aid, "Permission denied"))
        elif name == "events":
            self._events_action(block, aid)
        else:
            self._host.dispatch(self, action, block)

    def _challenge_action(self, block: Block, aid: str | None) -> None:
        if (block.get("AuthType") or "").lower() != "md5":
            self.send(response("Error", aid, "Must specify AuthType"))
            return
        if not self._challenge:
            self._challenge = str(int.from_bytes(hashlib.sha256(repr(self.peer).encode()).digest()[:4], "big"))
        self.send(response("Success", aid, None, extra=(("Challenge", self._challenge),)))

    def _secret_ok(self, block: Block) -> bool:
        if (block.get("Username") or "").lower() != self._host.username.lower():
            return False
        if (block.get("AuthType") or "").lower() == "md5":
            want = hashlib.md5((self._challenge + self._host.secret).encode()).hexdigest()  # AMI's own challenge scheme
            return bool(self._challenge) and (block.get("Key") or "").lower() == want
        return (block.get("Secret") or "") == self._host.secret

    def _login(self, block: Block, aid: str | None) -> None:
        if self.authenticated:
            self.send(response("Success", aid, "Already authenticated"))
            return
        if not self._secret_ok(block):
            # Asterisk sleeps a second before refusing, then ends the session.
            self._busy_login = True
            self._host.note_login_failed()
            self._host.scheduler.later(1.0, self._refuse, aid)
            return
        self.authenticated = True
        self.username = block.get("Username") or ""
        mask = mask_from_events_header(block.get("Events") or "")
        # Asterisk intersects the requested mask with the user's read rights.
        read = self._host.read_perm
        self.send_events = read if mask < 0 else read & mask
        self.send(response("Success", aid, "Authentication accepted"))
        if self.send_events & Cat.SYSTEM:
            self.send(_FULLY_BOOTED)
        self._host.logged_in(self)
        self._host.broadcast(Cat.SECURITY, self._successful_auth())

    def _refuse(self, aid: str | None) -> None:
        self.send(response("Error", aid, "Authentication failed"))
        self.close()

    def _events_action(self, block: Block, aid: str | None) -> None:
        mask = mask_from_events_header(block.get("EventMask") or "")
        if mask < 0:
            self.send(response("Error", aid, "Invalid event mask"))
            return
        self.send_events = self._host.read_perm & mask
        self._host.mask_changed()
        self.send(response("Success", aid, None, extra=(("Events", "On" if mask else "Off"),)))

    def _successful_auth(self) -> bytes:
        now = self._host.now()
        tv = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(now * 1000) % 1000:03d}+0000"
        return event(
            "SuccessfulAuth",
            Cat.SECURITY,
            f"{now:.6f}".encode(),
            kv("EventTV", tv),
            b"Severity: Informational\r\nService: AMI\r\nEventVersion: 1\r\n",
            kv("AccountID", self.username),
            kv("SessionID", f"0x{id(self):x}"),
            kv("LocalAddress", f"IPV4/TCP/{self.local[0]}/{self.local[1]}"),
            kv("RemoteAddress", f"IPV4/TCP/{self.peer[0]}/{self.peer[1]}"),
            b"UsingPassword: 0\r\n",
            kv("SessionTV", tv),
        )
