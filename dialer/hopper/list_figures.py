"""A campaign's lead lists with a paused set the caller has already read.

`Hopper.status` reads the paused lists (its `lists_paused`) and `Hopper.lists` reads them again; the
wallboard wants both every refresh, and two reads of one set can disagree when a supervisor pauses a list
between them (a list paused in `lists_paused` and running in `lists`). `list_figures` reads only the lists'
counts and figures, and marks paused the lists of the set the status read: one read, one answer.
The figures are built by the same `lead_lists.lead_lists_of` as `lead_lists.list_lists`.
"""

from __future__ import annotations

from collections.abc import Collection

from redis.asyncio import Redis

from dialer.hopper._redis import redis_call
from dialer.hopper.keys import CampaignKeys
from dialer.hopper.lead_lists import lead_lists_of
from dialer.hopper.types import LeadList

__all__ = ["list_figures"]

async def list_figures(redis: Redis, campaign_id: str, paused: Collection[str], *, prefix: str = "dialer",
                       timeout_s: float = 5.0) -> list[LeadList]:
    """The campaign's lists, by name, as `Hopper.lists` has them, paused when named in `paused`."""
    keys = CampaignKeys(prefix, campaign_id)
    async with redis_call(f"listing the lead lists of {campaign_id}", timeout_s):
        pipe = redis.pipeline(transaction=False)
        pipe.hgetall(keys.lists)
        pipe.hgetall(keys.lstats)
        counts, stats = await pipe.execute()
    return lead_lists_of(counts, paused, stats)
