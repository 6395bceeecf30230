"""The MQTT port faked for the daemon and supervisor tests: publishes go to a list, no agent commands arrive.

Importable from every test folder (pytest's `pythonpath` puts `tests/` on the path)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any


class FakeDelivery:
    """A message as the bus hands it over (`dialer.bus.Delivery`); `acked` is set by `ack()`, and `on_ack` is
    called with it then (a test's record of the order of acknowledgements)."""

    def __init__(self, payload: bytes, on_ack: Callable[[FakeDelivery], None] | None = None) -> None:
        self.payload = payload
        self.acked = False
        self._on_ack = on_ack

    def ack(self) -> None:
        assert not self.acked, f"{self.payload!r} acknowledged twice"
        self.acked = True
        if self._on_ack is not None:
            self._on_ack(self)


class FakeBus:
    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []
        self.signals_in: asyncio.Queue[bytes] = asyncio.Queue()  # what the operator's systems publish
        self.signals_acked: list[bytes] = []  # the signals' messages acknowledged, in order
        self._never = asyncio.Event()

    def publish(self, topic: str, payload: dict[str, Any], **_: Any) -> None:
        self.published.append((topic, payload))

    async def run(self) -> None:
        await self._never.wait()

    async def agent_commands(self) -> AsyncIterator[tuple[str, bytes]]:
        await self._never.wait()
        yield ("", b"")

    async def signals(self) -> AsyncIterator[FakeDelivery]:
        while True:
            yield FakeDelivery(await self.signals_in.get(), lambda d: self.signals_acked.append(d.payload))

    async def drain(self, timeout_s: float = 5.0) -> bool:
        return True


class CommandBus(FakeBus):
    """The fake bus, with agents' commands the test puts in; `published_kind(kind)` waits for a message."""

    def __init__(self) -> None:
        super().__init__()
        self.commands: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self._changed = asyncio.Event()

    async def agent_commands(self) -> AsyncIterator[tuple[str, bytes]]:
        while True:
            yield await self.commands.get()

    def publish(self, topic: str, payload: dict[str, Any], **kw: Any) -> None:
        super().publish(topic, payload, **kw)
        self._changed.set()

    async def published_where(self, test: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first payload published (before or after the call) that passes `test`."""
        while True:
            for _topic, payload in self.published:
                if test(payload):
                    return payload
            self._changed.clear()
            await self._changed.wait()
