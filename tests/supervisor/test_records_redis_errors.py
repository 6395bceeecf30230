"""The call-record readers (`query_calls`, `iter_stream`) translate Redis errors through the one
`dialer.store.redis_call`: a refused connection or no answer within the [redis] timeout (the store's, unless
the caller gives another) is a StateStoreError saying what was being read. No sleeps: the hung client waits
on an event and the deadline is zero."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from dialer.errors import StateStoreError
from dialer.store import RedisStore
from dialer.supervisor.records import CallQuery, iter_stream, query_calls


class _Refusing:
    async def xrange(self, *_a: Any, **_k: Any) -> None:
        raise RedisConnectionError("Connection refused")

    async def xrevrange(self, *_a: Any, **_k: Any) -> None:
        raise RedisConnectionError("Connection refused")


class _Hung:
    async def xrange(self, *_a: Any, **_k: Any) -> None:
        await asyncio.Event().wait()

    async def xrevrange(self, *_a: Any, **_k: Any) -> None:
        await asyncio.Event().wait()


async def test_refused_reads_say_what_was_read() -> None:
    store = RedisStore(_Refusing(), prefix="t")  # type: ignore[arg-type]
    with pytest.raises(StateStoreError, match="Redis failed while reading the call records: Connection refused"):
        await query_calls(store, CallQuery(), mask=False)
    with pytest.raises(StateStoreError, match="Redis failed while reading t:calls: Connection refused"):
        async for _ in iter_stream(store, store.key("calls")):
            pass


async def test_the_deadline_is_the_redis_timeout() -> None:
    store = RedisStore(_Hung(), prefix="t", timeout_s=0)  # type: ignore[arg-type]
    with pytest.raises(StateStoreError, match=r"within 0 s while reading the call records"):
        await query_calls(store, CallQuery(), mask=False)
    with pytest.raises(StateStoreError, match=r"within 0 s while reading t:dispositions"):
        async for _ in iter_stream(store, store.key("dispositions")):
            pass
