"""A subscriber's do-not-call request (`subscriber_dnc`: POST /api/dnc with subscriber_id, a dnc on a call) reads
the subscriber's leads and base numbers from an index by account, written by the imports and kept true as leads
change, instead of walking the keyspace (about 15 s per million leads). Data written before the index existed is
indexed once, by the first request's walk (marker `<prefix>:acix`); after that no request walks."""

from __future__ import annotations

from typing import Any

import pytest
from hopper_helpers import at, campaign, hopper, store
from redis.asyncio import Redis

from dialer.hopper.subscriber_dnc import LeadRef, subscriber_dnc
from dialer.policy import DialResult

M, H, X, Y = "+12125550141", "+12125550142", "+12125550143", "+12125550144"
NOW = at(2025, 6, 3, 12)
DNC = "do not call"


def count_scans(redis: Redis, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The patterns of the SCANs `redis` runs from now on."""
    seen: list[str] = []
    real = redis.scan

    async def scan(*args: Any, **kwargs: Any) -> Any:
        seen.append(str(kwargs.get("match")))
        return await real(*args, **kwargs)

    monkeypatch.setattr(redis, "scan", scan)
    return seen


async def test_a_request_reads_the_account_index_and_walks_nothing(redis: Redis, prefix: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = campaign("ua"), campaign("ub")
    s = store(redis, prefix)
    await s.import_rows(a, [{"mobile": M, "id": "K1", "subscriber_id": "S7"}, {"mobile": Y, "id": "K2"}], now=NOW)
    await s.import_rows(b, [{"mobile": X, "id": "K9", "subscriber_id": "S7"}], now=NOW)
    await s.import_base_rows([{"subscriber_id": "S7", "mobile": M, "home": H}])
    await subscriber_dnc(redis, "S8", prefix=prefix)  # the first request indexes what came before (nothing here)
    scans = count_scans(redis, monkeypatch)
    got = await subscriber_dnc(redis, "S7", prefix=prefix)
    assert scans == [], "a subscriber's do-not-call request walked the keyspace"
    assert (got.numbers, got.finished) == ((M, H, X), (LeadRef("ua", "K1"), LeadRef("ub", "K9")))
    assert (await s.lead_state("ua", "K2")).get("fn") is None


async def test_the_index_follows_a_reimport_that_names_the_account_and_a_follow_up(
        redis: Redis, prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    confirm = campaign("confirm", kind="confirmation")
    a = campaign("ua", follow_ups=[{"on": "sale", "campaign": "confirm", "delay_s": 86400}])
    s = store(redis, prefix)
    ha = hopper(redis, a, prefix)
    await s.import_rows(a, [{"mobile": M, "id": "K1"}], now=NOW)  # no account column: number:M
    await subscriber_dnc(redis, "S0", prefix=prefix)  # indexed from here on
    await s.import_rows(a, [{"mobile": M, "id": "K1", "subscriber_id": "S7"}], now=NOW + 60)  # now S7's
    await ha.fill(NOW + 120)
    [t] = await ha.take(1, NOW + 120)
    await ha.record_result(t, DialResult("live", "sale"), NOW + 180)  # type: ignore[arg-type]
    assert await s.get_lead(confirm.id, "K1") is not None  # the follow-up's lead, S7's too
    scans = count_scans(redis, monkeypatch)
    got = await subscriber_dnc(redis, "S7", prefix=prefix)
    assert scans == []
    assert (got.finished, got.already_finished) == ((LeadRef("confirm", "K1"),), (LeadRef("ua", "K1"),))
    assert await redis.smembers(f"{prefix}:acct:S7") == {b"ua\x1fK1", b"confirm\x1fK1"}

async def test_a_lead_deleted_or_a_number_given_up_leaves_the_index_at_the_next_read(redis: Redis,
                                                                                      prefix: str) -> None:
    a = campaign("ua")
    s = store(redis, prefix)
    await s.import_rows(a, [{"mobile": M, "id": "K1", "subscriber_id": "S7"},
                            {"mobile": X, "id": "K2", "subscriber_id": "S7"}], now=NOW)
    await s.import_base_rows([{"subscriber_id": "S7", "mobile": M, "home": H}])
    await subscriber_dnc(redis, "S0", prefix=prefix)
    await redis.delete(f"{prefix}:c:ua:l:K2")  # an operator's clean-up
    await s.import_base_rows([{"subscriber_id": "S7", "home": H, "status": "former"},
                              {"subscriber_id": "S8", "mobile": M}])  # M recycled to S8
    got = await subscriber_dnc(redis, "S7", prefix=prefix)
    assert (got.numbers, got.finished) == ((M,), (LeadRef("ua", "K1"),))  # M as K1's number, not from the base
    assert await redis.smembers(f"{prefix}:acct:S7") == {b"ua\x1fK1"}
    assert await redis.scard(f"{prefix}:basea:S7") == 0
    assert await redis.smembers(f"{prefix}:basea:S8") == {M.encode()}


async def test_data_from_before_the_index_is_indexed_by_the_first_request(redis: Redis, prefix: str,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = campaign("ua"), campaign("ub")
    s = store(redis, prefix)
    await s.import_rows(a, [{"mobile": M, "id": "K1", "subscriber_id": "S7"}], now=NOW)
    await s.import_rows(b, [{"mobile": X, "id": "K9", "subscriber_id": "S7"}], now=NOW)
    await s.import_base_rows([{"subscriber_id": "S7", "mobile": M, "home": H}])
    # as an earlier version left it: no index, no marker
    for key in (f"{prefix}:acct:S7", f"{prefix}:basea:S7", f"{prefix}:acix"):
        await redis.delete(key)
    first = await subscriber_dnc(redis, "S7", prefix=prefix)
    assert (first.numbers, first.finished) == ((M, H, X), (LeadRef("ua", "K1"), LeadRef("ub", "K9")))
    scans = count_scans(redis, monkeypatch)
    again = await subscriber_dnc(redis, "S7", prefix=prefix)
    assert scans == []
    assert (again.numbers, again.already_finished) == ((M, H, X), (LeadRef("ua", "K1"), LeadRef("ub", "K9")))
