"""The lead keys of the daemon's Redis, named: `LeadStore.of(store)` is the `RedisStore`'s connection and prefix, so
the daemon and the supervisor ask it for what they want (a subscriber's do-not-call request, a campaign's list
figures) instead of handing the raw client to the hopper's functions. Its Redis errors are ours (StateStoreError
through `dialer.store.redis_call`), listing a campaign's lead ids too: that one used to let the redis-py error
out raw. No sleeps: the hung client waits on an event and the deadline is zero; `LIMIT` only turns a hang into
a failure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from dialer.errors import StateStoreError
from dialer.hopper import LeadStore
from dialer.hopper.list_figures import list_figures
from dialer.hopper.subscriber_dnc import subscriber_dnc
from dialer.store import RedisStore, refused_for_good

LIMIT = 10.0  # real seconds


class _Refusing:
    """A client whose every command finds Redis gone."""

    def register_script(self, _script: str) -> object:
        return object()

    async def scan(self, *_a: Any, **_k: Any) -> Any:
        raise RedisConnectionError("Connection refused")

    async def scan_iter(self, *_a: Any, **_k: Any) -> AsyncIterator[Any]:
        raise RedisConnectionError("Connection refused")
        yield  # an async generator, as redis-py's


class _Hung(_Refusing):
    """A half-open Redis: commands never answer."""

    async def scan(self, *_a: Any, **_k: Any) -> Any:
        await asyncio.Event().wait()

    async def scan_iter(self, *_a: Any, **_k: Any) -> AsyncIterator[Any]:
        await asyncio.Event().wait()
        yield


async def test_of_shares_the_daemon_stores_connection_and_prefix(redis: Redis, prefix: str) -> None:
    store = RedisStore(redis, prefix=prefix)
    await LeadStore.of(store).add_dnc(["+442075550100"], region="GB")
    assert await LeadStore(redis, prefix=prefix).is_dnc("+442075550100", region="GB")
    assert LeadStore.of(store).prefix == prefix


async def test_subscriber_dnc_and_list_figures_are_the_hopper_functions(redis: Redis, prefix: str) -> None:
    leads = LeadStore.of(RedisStore(redis, prefix=prefix))
    got = await leads.subscriber_dnc("S-1", ["+442075550101"])
    assert got == await subscriber_dnc(redis, "S-1", ["+442075550101"], prefix=prefix)
    assert got.numbers == ("+442075550101",)
    assert await leads.list_figures("c1", ()) == await list_figures(redis, "c1", (), prefix=prefix) == []


@pytest.mark.parametrize(("client", "timeout_s", "why"), [
    (_Refusing(), 2.0, "Redis failed while listing the leads of c1: Connection refused; check the Redis address"),
    (_Hung(), 0, "Redis did not answer within 0 s while listing the leads of c1; check that Redis is up"),
])
async def test_listing_lead_ids_with_redis_away_is_our_error(client: Any, timeout_s: float, why: str) -> None:
    leads = LeadStore(client, prefix="t", timeout_s=timeout_s)
    with pytest.raises(StateStoreError) as got:
        async with asyncio.timeout(LIMIT):
            _ = [lid async for lid in leads.iter_lead_ids("c1")]
    assert why in str(got.value)
    assert not refused_for_good(got.value)  # Redis away: a caller may try again


async def test_listing_lead_ids_pages_through_every_lead(redis: Redis, prefix: str) -> None:
    keys = {f"{prefix}:c:c1:l:L{i}": "x" for i in range(25)} | {f"{prefix}:c:c2:l:Z": "x"}
    await redis.mset(keys)
    leads = LeadStore(redis, prefix=prefix)
    assert sorted([lid async for lid in leads.iter_lead_ids("c1", batch=4)]) == sorted(f"L{i}" for i in range(25))
