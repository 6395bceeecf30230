"""Fakes and helpers shared by the daemon tests that run a real `Daemon` against Redis (no AMI, no MQTT)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from dialer.daemon import Daemon


class FakeAmi:
    def __init__(self) -> None:
        self._q: asyncio.Queue[object] = asyncio.Queue()

    async def events(self) -> AsyncIterator[object]:
        while True:
            yield await self._q.get()

    def submit_originate(self, action: object) -> None:
        pass

    async def send(self, action: object, timeout: float = 10.0, *, check: bool = True) -> object:
        return None

    async def core_show_channels(self, timeout: float = 5.0) -> list[object]:
        return []


class FakeBus:
    def __init__(self) -> None:
        self._never = asyncio.Event()
        self.published: list[tuple[str, dict[str, Any]]] = []

    def publish(self, topic: str, payload: dict[str, Any], **_: Any) -> None:
        self.published.append((topic, payload))

    async def run(self) -> None:
        await self._never.wait()

    async def agent_commands(self) -> AsyncIterator[tuple[str, bytes]]:
        await self._never.wait()
        yield ("", b"")

    async def drain(self, timeout_s: float = 5.0) -> bool:
        return True


@contextlib.asynccontextmanager
async def running(d: Daemon) -> AsyncIterator[Daemon]:
    stop = asyncio.Event()
    async with asyncio.TaskGroup() as tg:
        tg.create_task(d.run(stop))
        await d.ready.wait()
        try:
            yield d
        finally:
            stop.set()
