"""Two dialers on one Redis whose epochs follow no common one (`RedisStore.settle_epoch`): Redis restarts empty, one
daemon restarts and claims a fresh marker before the other, still in the old epoch, looks. Before, the other found a
marker of another lineage and replaced it, then the restarted one found a foreign marker and replaced it in turn,
each declaring a loss every check for ever. Any readable marker not ours is already one after the loss: adopted,
and held for; only a missing or unreadable marker is replaced."""

from __future__ import annotations

import itertools

from redis.asyncio import Redis

from dialer.store import DataEpoch, RedisStore, StoreLoss, connect_redis

_prefixes = itertools.count(1)


async def held_marker(client: Redis, st: RedisStore) -> DataEpoch:
    """The data-epoch marker Redis holds now."""
    return DataEpoch.read(str(await client.get(st.key("epoch"))))


async def test_a_fresh_marker_claimed_after_a_flush_is_adopted_not_replaced(redis_url: str) -> None:
    client = connect_redis(redis_url)
    try:
        st = RedisStore(client, prefix=f"foreign{next(_prefixes)}")
        old = await st.claim_epoch(DataEpoch.new(1.0))  # daemon A works in it
        await client.delete(st.key("epoch"))  # Redis back empty
        fresh = await st.claim_epoch(DataEpoch.new(2.0))  # daemon C restarted before A looked
        mine = {"A": old, "C": fresh}
        held: dict[str, StoreLoss | None] = {"A": None, "C": None}
        losses = {"A": 0, "C": 0}
        for i in range(6):
            for d in ("A", "C"):
                seen = await st.settle_epoch(mine[d], 10.0 + i, held[d])
                if seen.loss is not None and held[d] is None:
                    losses[d] += 1
                    held[d] = seen.loss
                mine[d] = seen.epoch
        assert losses == {"A": 1, "C": 0}  # A's data is gone; C started on the emptied Redis
        assert mine == {"A": fresh, "C": fresh}
        assert await held_marker(client, st) == fresh
        assert await st.read_loss() == StoreLoss(10.0, old.id, fresh.id)  # A's loss, kept for a restart
    finally:
        await client.aclose()


async def test_an_unreadable_marker_is_still_replaced(redis_url: str) -> None:
    client = connect_redis(redis_url)
    try:
        st = RedisStore(client, prefix=f"foreign{next(_prefixes)}")
        mine = await st.claim_epoch(DataEpoch.new(1.0))
        await client.set(st.key("epoch"), "something else wrote this")
        seen = await st.settle_epoch(mine, 5.0, None)
        assert (seen.loss is not None, seen.adopted, seen.epoch.after) == (True, False, (mine.id,))
        assert await held_marker(client, st) == seen.epoch
    finally:
        await client.aclose()
