"""`dialer.store.redis_call` is the one translation of Redis errors into ours: a Redis error, a lost connection
(OSError) or no answer within the deadline becomes StateStoreError naming what was being done and what to
check, the Redis error kept as its cause; anything else passes through. The hopper's `redis_call` is the same
function. No sleeps: a zero deadline expires at the body's first await."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from dialer.errors import StateStoreError
from dialer.hopper import _redis
from dialer.store import redis_call, refused_for_good


def test_the_hopper_uses_the_same_translation() -> None:
    assert _redis.redis_call is redis_call


async def test_redis_error_names_what_and_where_to_look() -> None:
    with pytest.raises(StateStoreError, match=r"Redis failed while reading x: refused; check .*\[redis\] url") as got:
        async with redis_call("reading x", 2.0):
            raise RedisConnectionError("refused")
    assert isinstance(got.value.__cause__, RedisConnectionError)


async def test_lost_connection_is_ours_too() -> None:
    with pytest.raises(StateStoreError, match="Redis failed while writing y"):
        async with redis_call("writing y", 2.0):
            raise ConnectionResetError("reset by peer")


async def test_no_answer_within_the_deadline() -> None:
    with pytest.raises(StateStoreError, match=r"did not answer within 0 s while reading z; .*timeout_s"):
        async with redis_call("reading z", 0):
            await asyncio.Event().wait()


async def test_a_refusal_stays_recognisable() -> None:
    with pytest.raises(StateStoreError) as got:
        async with redis_call("writing w", 2.0):
            raise ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value")
    assert refused_for_good(got.value)


async def test_other_errors_pass_through() -> None:
    with pytest.raises(ValueError):
        async with redis_call("reading v", 2.0):
            raise ValueError("not Redis")


class _RefusingPing:
    async def ping(self) -> None:
        raise RedisConnectionError("Connection refused")


async def test_the_start_up_ping_says_where_to_look() -> None:
    from dialer.store import RedisStore

    with pytest.raises(StateStoreError, match=r"failed while answering PING: Connection refused; .*\[redis\] url"):
        await RedisStore(_RefusingPing()).ping()  # type: ignore[arg-type]
