"""A loopback fake AMI server for the client's tests: the real wire protocol, scripted answers.

It speaks like Asterisk 22 (banner `Asterisk Call Manager/11.0.0`, CRLF blocks) and records every
action per connection. Tests steer it: how each Originate ends (`plans`), unsolicited events, raw
garbage bytes, dropping the connection, going half-open (reading but never answering), refusing new
connections. Everything a test waits for is an awaitable condition, never a sleep.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from dialer.ami.wire import Block, Framer, encode_block

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
Headers = Iterable[tuple[str, str]] | Mapping[str, str]


@dataclass
class Conn:
    writer: asyncio.StreamWriter
    actions: list[Block] = field(default_factory=list)
    half_open: bool = False
    closed: bool = False

    def names(self) -> list[str]:
        return [b.get("Action") or "?" for b in self.actions]


class FakeAmi:
    """`async with FakeAmi() as ami:` then connect to 127.0.0.1:`ami.port`."""

    def __init__(self, username: str = "dialer", secret: str = "s3cret") -> None:
        self.username, self.secret = username, secret
        # Asterisk sends FullyBooted only to users with read=system, which ours lacks (manager.conf).
        self.fully_booted = True
        self.conns: list[Conn] = []
        # Originate outcome by call id: answer, busy, congestion, error, hold (queued, no
        # OriginateResponse until finish_originate), silent (no answer at all).
        self.plans: dict[str, str] = {}
        self.ignore: set[str] = set()  # actions never answered
        self.channels: list[dict[str, str]] = []  # what CoreShowChannels reports
        self.port = 0
        self._server: asyncio.Server | None = None
        self._changed = asyncio.Condition()
        self._ts = itertools.count(1)

    async def __aenter__(self) -> FakeAmi:
        await self.listen()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop_listening()
        for conn in self.conns:
            conn.writer.close()
        await self.wait_for(lambda: all(c.closed for c in self.conns))

    async def listen(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop_listening(self) -> None:
        """Refuse new connections (existing ones stay up) until `listen()` again."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    # --- steering --------------------------------------------------------------------------------

    @property
    def current(self) -> Conn:
        return self.conns[-1]

    async def wait_for(self, predicate: Callable[[], bool], limit: float = 10.0) -> None:
        """Wait until `predicate()` holds (re-checked on every change); `limit` only guards a hang."""
        async with asyncio.timeout(limit), self._changed:
            await self._changed.wait_for(predicate)

    async def wait_action(self, name: str, conn: int = -1, count: int = 1) -> Block:
        def seen() -> bool:
            return len(self.conns) > 0 and self.conns[conn].names().count(name) >= count

        await self.wait_for(seen)
        return [b for b in self.conns[conn].actions if b.get("Action") == name][count - 1]

    async def wait_connections(self, n: int) -> None:
        await self.wait_for(lambda: len(self.conns) >= n)

    def send(self, headers: Headers, conn: Conn | None = None) -> None:
        (conn or self.current).writer.write(encode_block(headers))

    def send_event(self, name: str, headers: Headers = (), conn: Conn | None = None) -> None:
        pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
        self.send([("Event", name), ("Privilege", "call,all"), ("Timestamp", self._stamp()), *pairs], conn)

    def send_raw(self, data: bytes) -> None:
        self.current.writer.write(data)

    def drop(self) -> None:
        """Close the current connection, as a crashing or restarting Asterisk would."""
        self.current.writer.close()

    def go_half_open(self) -> None:
        """Keep the current connection open but never answer or send anything on it again."""
        self.current.half_open = True

    def finish_originate(self, call_id: str, reason: int = 4, conn: Conn | None = None) -> None:
        """Send the OriginateResponse of a call planned as 'hold'."""
        self._originate_response(conn or self.current, call_id, reason)

    # --- the protocol ----------------------------------------------------------------------------

    def _stamp(self) -> str:
        return f"1795448629.{next(self._ts):06d}"

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Conn(writer)
        self.conns.append(conn)
        writer.write(BANNER)
        framer = Framer()
        try:
            await self._notify()
            while data := await reader.read(65536):
                for block in framer.feed(data):
                    conn.actions.append(block)
                    if not conn.half_open:
                        self._answer(conn, block)
                    await self._notify()
        except ConnectionError:
            pass
        finally:
            conn.closed = True
            writer.close()
            await self._notify()

    def _reply(self, conn: Conn, block: Block, response: str, message: str, *extra: tuple[str, str]) -> None:
        head = [("Response", response), ("ActionID", block.get("ActionID") or "")]
        self.send([*head, ("Message", message), *extra], conn)

    def _answer(self, conn: Conn, block: Block) -> None:
        action = (block.get("Action") or "").lower()
        if action in self.ignore:
            return
        if action == "login":
            if block.get("Username") == self.username and block.get("Secret") == self.secret:
                self._reply(conn, block, "Success", "Authentication accepted")
                if self.fully_booted:
                    booted = [("Uptime", "487"), ("LastReload", "487"), ("Status", "Fully Booted")]
                    self.send_event("FullyBooted", booted, conn)
            else:
                self._reply(conn, block, "Error", "Authentication failed")
                conn.writer.close()
        elif action == "ping":
            head = [("Response", "Success"), ("ActionID", block.get("ActionID") or "")]
            self.send([*head, ("Ping", "Pong"), ("Timestamp", self._stamp())], conn)
        elif action == "originate":
            self._originate(conn, block)
        elif action == "coreshowchannels":
            self._core_show_channels(conn, block)
        elif action == "logoff":
            self._reply(conn, block, "Goodbye", "Thanks for all the fish.")
            conn.writer.close()
        elif action in ("redirect", "hangup") and (block.get("Channel") or "").startswith("Gone/"):
            self._reply(conn, block, "Error", "No such channel")
        else:
            self._reply(conn, block, "Success", f"{block.get('Action')} successful")

    def _originate(self, conn: Conn, block: Block) -> None:
        call_id = block.get("ActionID") or ""
        plan = self.plans.get(call_id, "answer")
        if plan == "silent":
            return
        if plan == "error":
            self._reply(conn, block, "Error", "Originate failed")
            return
        self._reply(conn, block, "Success", "Originate successfully queued")
        reason = {"answer": 4, "busy": 5, "congestion": 8, "noanswer": 3}.get(plan)
        if reason is not None:
            self._originate_response(conn, call_id, reason)

    def _originate_response(self, conn: Conn, call_id: str, reason: int) -> None:
        ok = reason == 4
        self.send_event(
            "OriginateResponse",
            [
                ("ActionID", call_id),
                ("Response", "Success" if ok else "Failure"),
                ("Channel", "Local/5551230@dialer-outbound-0000001b;1" if ok else "Local/5551230@dialer-outbound"),
                ("Context", "dialer-connect"),
                ("Exten", "s"),
                ("Reason", str(reason)),
                ("Uniqueid", call_id if ok else "<unknown>"),
                ("CallerIDNum", "5550100"),
                ("CallerIDName", "Dialer"),
            ],
            conn,
        )

    def _core_show_channels(self, conn: Conn, block: Block) -> None:
        action_id = block.get("ActionID") or ""
        self.send(
            [("Response", "Success"), ("ActionID", action_id), ("EventList", "start"),
             ("Message", "Channels will follow")],
            conn,
        )
        for chan in self.channels:
            self.send([("Event", "CoreShowChannel"), ("ActionID", action_id), *chan.items()], conn)
        self.send(
            [("Event", "CoreShowChannelsComplete"), ("ActionID", action_id), ("EventList", "Complete"),
             ("ListItems", str(len(self.channels)))],
            conn,
        )
