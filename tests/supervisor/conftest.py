"""Fixtures: a fresh daemon per test on the session's real Redis (`redis_url`, in the root conftest)."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from zoneinfo import ZoneInfo

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


@pytest.fixture
def local_zone() -> Iterator[Callable[[str], ZoneInfo]]:
    """Set the process's local zone (TZ) for one test."""
    old = os.environ.get("TZ")

    def use(name: str) -> ZoneInfo:
        os.environ["TZ"] = name
        time.tzset()
        return ZoneInfo(name)

    try:
        yield use
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()
