"""The MQTT port faked for the daemon and supervisor tests: publishes go to a list, no agent commands arrive.

Importable from every test folder (pytest's `pythonpath` puts `tests/` on the path)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any


class FakeBus:
    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []
        self._never = asyncio.Event()

    def publish(self, topic: str, payload: dict[str, Any], **_: Any) -> None:
        self.published.append((topic, payload))

    async def run(self) -> None:
        await self._never.wait()

    async def agent_commands(self) -> AsyncIterator[tuple[str, bytes]]:
        await self._never.wait()
        yield ("", b"")

    async def drain(self, timeout_s: float = 5.0) -> bool:
        return True
