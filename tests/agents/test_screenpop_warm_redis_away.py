"""Reloading the earlier contacts goes through the one `dialer.store.redis_call`: a refused connection or no
answer within the deadline is logged once ("earlier contacts not reloaded", saying what was read and what to
check) and learns nothing; the daemon starts all the same. No sleeps: the hung client waits on an event and
the deadline is zero."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from agents.screenpop import ContactHistory
from dialer.store import RedisStore


class _Refusing:
    async def xrevrange(self, *_a: Any, **_k: Any) -> Any:
        raise RedisConnectionError("Connection refused")


class _Hung:
    async def xrevrange(self, *_a: Any, **_k: Any) -> Any:
        await asyncio.Event().wait()


@pytest.mark.parametrize(("client", "timeout_s", "why"), [
    (_Refusing(), 2.0, "Redis failed while reading the earlier contacts (t:dispositions): Connection refused"),
    (_Hung(), 0, "Redis did not answer within 0 s while reading the earlier contacts (t:dispositions)"),
])
async def test_redis_away_is_logged_and_learns_nothing(caplog: pytest.LogCaptureFixture, client: Any,
                                                        timeout_s: float, why: str) -> None:
    with caplog.at_level(logging.WARNING, logger="agents.screenpop"):
        assert await ContactHistory().warm(RedisStore(client, prefix="t"), timeout_s=timeout_s) == 0
    [got] = [r.getMessage() for r in caplog.records]
    assert got.startswith("earlier contacts not reloaded from Redis (t:dispositions): ")
    assert why in got
