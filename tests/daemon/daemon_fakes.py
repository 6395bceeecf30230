"""Fakes and helpers shared by the daemon tests that run a real `Daemon` against Redis (no AMI, no MQTT)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from agents import commands as ac
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


def ready_agent(d: Daemon, agent: str = "a1", ext: str = "1001", campaign: str = "uk") -> None:
    """Log an agent in to the campaign and make them ready."""
    d.agent_command(ac.Login(agent, ext, campaign))
    d.agent_command(ac.Ready(agent))
