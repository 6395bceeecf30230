"""Fixtures: a fresh daemon per test on the session's real Redis (`redis_url`, in the root conftest)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sup_fakes import Rig, make_rig

from dialer.http import build_app
from dialer.store import connect_redis


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
