"""The supervisor's overrides (`dialer.overrides`) in Redis: one hash, one JSON record per campaign.

    <prefix>:overrides   hash  <campaign id> -> `CampaignOverrides` as JSON (no field: nothing overridden)

One hash so that start-up reads every campaign's record, those of campaigns created at run time
included, in one HGETALL; one field per campaign so that each write replaces one record atomically.

Writes are awaited (the supervisor API answers once the change is stored), under the store's deadline
and one at a time, and each writes the record as it is *when written*, not when the move was made: a
retry queued behind an outage and a later direct write may land in either order, and the last one
still stores the latest state. The read at start-up goes through the store's outbox like the ledger's
(`RedisStore.read_in_order`): while Redis does not answer it waits there and is retried.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from dialer.overrides import CampaignOverrides, dumps, is_empty
from dialer.store import RedisStore, redis_call

__all__ = ["OverrideStore"]

Current = Callable[[], CampaignOverrides | None]


class OverrideStore:
    def __init__(self, store: RedisStore) -> None:
        self.store = store
        self.key = store.key("overrides")
        self._lock = asyncio.Lock()

    def read_all(self) -> asyncio.Future[dict[str, str] | str]:
        """Every campaign's stored record as raw JSON, read behind the writes queued so far; or, when Redis
        holds something else than a hash under the key, a sentence saying so (retrying would not help, and
        would hold up every write queued behind the read)."""
        key = self.key

        async def read(r: aioredis.Redis) -> dict[str, str] | str:
            try:
                got = await r.hgetall(key)
            except ResponseError as exc:
                return f"Redis key {key}: {exc}"
            return {str(k): str(v) for k, v in got.items()}

        return self.store.read_in_order("supervisor overrides read", read)

    async def _put(self, r: aioredis.Redis, campaign_id: str, current: Current) -> None:
        async with self._lock:
            rec = current()
            if rec is None or is_empty(rec):
                await r.hdel(self.key, campaign_id)
            else:
                await r.hset(self.key, campaign_id, dumps(rec))

    async def write(self, campaign_id: str, current: Current) -> None:
        """Store the campaign's record as `current()` gives it now. Raises StateStoreError."""
        async with redis_call(f"storing the supervisor changes of campaign {campaign_id}", self.store.timeout_s):
            await self._put(self.store.r, campaign_id, current)

    def write_later(self, campaign_id: str, current: Current, done: Callable[[], None]) -> None:
        """Queue the write in the store's outbox, retried until Redis takes it; `done()` once it has."""

        async def op(r: aioredis.Redis) -> None:
            await self._put(r, campaign_id, current)
            done()

        self.store.enqueue(f"supervisor overrides {campaign_id}", op)
