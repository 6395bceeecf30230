"""The IMPORT script counts the leads it inserts for their list (`lists`) in the same step. Before, a separate
HINCRBY after it did: a Redis error between the two left the leads in Redis and dialed but their list unknown
(pause_list: LeadError "no list"), and importing again, as the error invites, merged them (0 new), so the
list read 0 leads for ever. The test makes any separate list count fail: the import must not need one."""

from __future__ import annotations

import pytest
from hopper_helpers import at, campaign, hopper, store
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

NOW = at(2025, 6, 3, 12)
ROWS = [{"mobile": f"+1212555{i:04d}", "id": f"l{i}"} for i in range(10)]


async def test_new_leads_are_counted_for_their_list_by_the_insert_itself(
        redis: Redis, prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    c = campaign("c1", kind="cold", require_consent=False)
    st = store(redis, prefix)
    real = Redis.hincrby

    async def blip(self, name, key, amount=1):  # type: ignore[no-untyped-def]
        if str(name).endswith(":lists"):
            raise RedisConnectionError("Connection reset by peer")
        return await real(self, name, key, amount)

    monkeypatch.setattr(Redis, "hincrby", blip)
    report = await st.import_rows(c, ROWS, now=NOW, list_name="vendor")
    monkeypatch.setattr(Redis, "hincrby", real)
    assert report.new == 10
    assert await st.lead_count("c1") == 10
    h = hopper(redis, c, prefix)
    (lst,) = await h.lists()
    assert (lst.name, lst.leads) == ("vendor", 10)
    await h.pause_list("vendor", NOW)
    again = await st.import_rows(c, ROWS, now=NOW + 60, list_name="vendor")
    assert again.new == 0
    (lst,) = await h.lists()
    assert lst.leads == 10


async def test_a_list_that_only_merged_leads_is_named(redis: Redis, prefix: str) -> None:
    c = campaign("c1", kind="cold", require_consent=False)
    st = store(redis, prefix)
    await st.import_rows(c, ROWS, now=NOW, list_name="vendor")
    report = await st.import_rows(c, ROWS[:3], now=NOW + 60, list_name="second")
    assert report.new == 0
    lists = {x.name: x.leads for x in await hopper(redis, c, prefix).lists()}
    assert lists == {"vendor": 10, "second": 0}
