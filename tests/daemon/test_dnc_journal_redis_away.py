"""A do-not-call request's journal line (`<prefix>:dnc_requests`) is written by the store
(`RedisStore.journal_dnc_request`), through the one `dialer.store.redis_call`: Redis refusing or not answering is
StateStoreError naming the call, the stream and what to check, and not a refusal for good, so the daemon's
`until_stored` writes the request again once Redis is back. No sleeps: the hung client waits on an event and the
deadline is zero."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from dialer.errors import StateStoreError
from dialer.store import RedisStore, refused_for_good


class _Refusing:
    async def xadd(self, *_a: Any, **_k: Any) -> Any:
        raise RedisConnectionError("Connection refused")


class _Hung:
    async def xadd(self, *_a: Any, **_k: Any) -> Any:
        await asyncio.Event().wait()


@pytest.mark.parametrize(("client", "timeout_s", "why"), [
    (_Refusing(), 3.0, "Redis failed while journaling the do-not-call request of call c-1 in t:dnc_requests (the "
                       "request itself is applied): Connection refused; check the Redis address ([redis] url)"),
    (_Hung(), 0, "Redis did not answer within 0 s while journaling the do-not-call request of call c-1 in "
                 "t:dnc_requests (the request itself is applied); check that Redis is up"),
])
async def test_redis_away_is_our_error_and_worth_retrying(client: Any, timeout_s: float, why: str) -> None:
    with pytest.raises(StateStoreError) as got:
        await RedisStore(client, prefix="t").journal_dnc_request("c-1", {"call_id": "c-1"}, timeout_s=timeout_s)
    assert why in str(got.value)
    assert not refused_for_good(got.value)


async def test_the_line_is_in_the_stream(client: aioredis.Redis) -> None:
    await RedisStore(client, prefix="dncjournal1").journal_dnc_request("c-2", {"call_id": "c-2", "source": "x"})
    rows: Any = await client.xrange("dncjournal1:dnc_requests")
    [(_id, entry)] = rows
    assert entry == {"call_id": "c-2", "source": "x"}
