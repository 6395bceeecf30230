"""The Redis boundary: a deadline on every call and one translation of Redis errors into ours."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.exceptions import RedisError

from dialer.errors import StateStoreError

__all__ = ["redis_call"]


@asynccontextmanager
async def redis_call(what: str, timeout_s: float) -> AsyncIterator[None]:
    """Run the body under a deadline; Redis failures and timeouts become `StateStoreError`."""
    try:
        async with asyncio.timeout(timeout_s):
            yield
    except TimeoutError as exc:
        raise StateStoreError(
            f"Redis did not answer within {timeout_s:g} s while {what}; check that Redis is up and not overloaded"
        ) from exc
    except (RedisError, OSError) as exc:
        raise StateStoreError(f"Redis failed while {what}: {exc}; check the Redis address and the server") from exc
