"""The wallboard tally translates Redis errors through the one `dialer.store.redis_call`, and looking up the
campaign of a sale whose call record it has not seen is under its deadline too: a half-open Redis there
used to hold the tally (and its lock) for ever. No sleeps: the hung client waits on an event and the
deadline is zero."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from dialer.errors import StateStoreError
from dialer.store import RedisStore
from dialer.supervisor.tally import Tally

SALE = {"disposition": "sale", "call_id": "c9", "disposed_at": "100.0", "agent_id": "a1"}


class _Client:
    def __init__(self, hget: str) -> None:
        self._hget = hget

    async def xread(self, streams: dict[str, str], **_k: Any) -> Any:
        return [("t:dispositions", [("1-0", SALE)])]

    async def hget(self, *_a: Any) -> Any:
        if self._hget == "refuse":
            raise RedisConnectionError("Connection refused")
        await asyncio.Event().wait()


class _Refusing:
    async def xread(self, *_a: Any, **_k: Any) -> Any:
        raise RedisConnectionError("Connection refused")


async def test_refused_read_is_ours() -> None:
    tally = Tally(RedisStore(_Refusing(), prefix="t"))  # type: ignore[arg-type]
    with pytest.raises(StateStoreError, match="Redis failed while reading the call records: Connection refused"):
        await tally.follow()


async def test_refused_campaign_lookup_says_which_call() -> None:
    tally = Tally(RedisStore(_Client("refuse"), prefix="t"))  # type: ignore[arg-type]
    with pytest.raises(StateStoreError, match="Redis failed while reading the campaign of call c9"):
        await tally.follow()


async def test_hung_campaign_lookup_ends_at_the_deadline() -> None:
    tally = Tally(RedisStore(_Client("hang"), prefix="t"), timeout_s=0)  # type: ignore[arg-type]
    with pytest.raises(StateStoreError, match=r"did not answer within 0 s while reading the campaign of call c9"):
        await tally.follow(block_ms=0)
