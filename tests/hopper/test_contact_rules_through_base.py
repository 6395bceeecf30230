"""The contact rules reach a person through the operator's subscriber base too: subscriber S7 is in the base with
mobile M and home H; campaign A's lead has S7 and M, campaign B's list has H without the account column. A lead's
persons include `subscriber:<id>` of every subscriber the base lists for one of its numbers, wherever the hopper
checks it (fill, take, recheck) and wherever a result writes a contact, a DNC or a decline. So S7's do-not-call, a
base contact, a signal on `subscriber:S7` or a declined offer holds B's lead on H, and the other way round."""

from __future__ import annotations

from typing import Any

from hopper_helpers import at, campaign, hopper, store
from redis.asyncio import Redis

from dialer.hopper import DialTarget, Hopper, LeadStore
from dialer.policy import Block, DialResult

M, H = "+12125550141", "+12125550142"
NOW = at(2025, 6, 3, 12)  # a Tuesday noon in New York
NEXT_DAY = NOW + 86400
WEEK_LATER = NOW + 7 * 86400


async def _world(redis: Redis, prefix: str, *, b_offer: str = "tv", **over: Any) -> tuple[Hopper, Hopper, LeadStore]:
    a = campaign("ua", offer="fiber", **over)
    b = campaign("ub", offer=b_offer, **over)
    s = store(redis, prefix)
    await s.import_rows(a, [{"mobile": M, "id": "K1", "subscriber_id": "S7"}], now=NOW, list_name="crm")
    await s.import_rows(b, [{"home": H, "id": "N4"}], now=NOW, list_name="tv-export")
    rep = await s.import_base_rows([{"subscriber_id": "S7", "mobile": M, "home": H}])
    assert rep.current == 1
    return hopper(redis, a, prefix), hopper(redis, b, prefix), s


async def _take(h: Hopper, now: float) -> DialTarget:
    await h.fill(now)
    (t,) = await h.take(1, now)
    return t


async def _blocked(h: Hopper, lead_id: str, now: float) -> Block | None:
    """None when the policy lets `h` dial the lead at `now` (a take of it is given back), else its block (a final
    one finished the lead)."""
    await h.fill(now)
    got = await h.take(5, now)
    for t in got:
        await h.give_back(t, now, after_s=0)
    if got:
        return None
    why = await h.explain(lead_id, now)
    if why["where"]["queue"] == "finished":  # a final block finished it: its reason
        return Block(why["where"]["reason"])
    block = why["verdict"]["block"]  # None: dialable now (deferred earlier, for what no longer holds)
    return None if block is None else Block(block)


async def test_a_dnc_disposition_holds_the_lead_on_the_base_listed_home_number(redis: Redis, prefix: str) -> None:
    ha, hb, _s = await _world(redis, prefix)
    await ha.record_result(await _take(ha, NOW), DialResult("live", "dnc"), NOW + 60)  # type: ignore[arg-type]
    assert await _blocked(hb, "N4", NEXT_DAY) is Block.DNC


async def test_a_desk_dnc_request_holds_the_lead_on_the_base_listed_home_number(redis: Redis, prefix: str) -> None:
    _ha, hb, s = await _world(redis, prefix)
    await s.dnc_request("subscriber:S7", [M])  # what the daemon does for the desk's DNC button
    assert await _blocked(hb, "N4", NEXT_DAY) is Block.DNC


async def test_a_base_contact_holds_the_lead_on_the_base_listed_home_number(redis: Redis, prefix: str) -> None:
    ha, hb, _s = await _world(redis, prefix)
    t = await _take(ha, NOW)
    await ha.record_result(t, DialResult("live", "refused"), NOW + 60)  # type: ignore[arg-type]
    assert await _blocked(hb, "N4", WEEK_LATER) is Block.BASE_CONTACT


async def test_a_signal_on_the_subscriber_holds_the_lead_at_fill_take_and_recheck(redis: Redis, prefix: str) -> None:
    _ha, hb, s = await _world(redis, prefix)
    await s.suppress("subscriber:S7", "trouble_ticket", None)
    assert await _blocked(hb, "N4", NOW) is Block.SUPPRESSED
    await s.unsuppress("subscriber:S7")
    t = await _take(hb, NOW + 3600)  # on a preview screen, say
    await s.suppress("subscriber:S7", "bill_shock", None)
    verdict = await hb.recheck(t, NOW + 3601)
    assert verdict.block is Block.SUPPRESSED
    assert "bill_shock" in verdict.detail


async def test_a_declined_offer_holds_the_same_offer_on_the_base_listed_number(redis: Redis, prefix: str) -> None:
    ha, hb, _s = await _world(redis, prefix, b_offer="fiber", counts_as_base=False)
    t = await _take(ha, NOW)
    await ha.record_result(t, DialResult("live", "refused"), NOW + 60)  # type: ignore[arg-type]
    assert await _blocked(hb, "N4", NEXT_DAY) is Block.SUPPRESSED


async def test_a_dnc_on_the_home_number_lead_holds_the_account_lead(redis: Redis, prefix: str) -> None:
    # the other way round: B's lead knows the person only as number:H; the base names S7, A's lead's person
    ha, hb, _s = await _world(redis, prefix)
    await hb.record_result(await _take(hb, NOW), DialResult("live", "dnc"), NOW + 60)  # type: ignore[arg-type]
    assert await _blocked(ha, "K1", NEXT_DAY) is Block.DNC


async def test_a_desk_dnc_on_the_home_number_holds_the_account_lead(redis: Redis, prefix: str) -> None:
    ha, _hb, s = await _world(redis, prefix)
    await s.dnc_request(f"number:{H}", [H])
    assert await _blocked(ha, "K1", NEXT_DAY) is Block.DNC


async def test_a_contact_on_the_home_number_lead_holds_the_account_lead(redis: Redis, prefix: str) -> None:
    ha, hb, _s = await _world(redis, prefix)
    await hb.record_result(await _take(hb, NOW), DialResult("live", "sale"), NOW + 60)  # type: ignore[arg-type]
    assert await _blocked(ha, "K1", WEEK_LATER) is Block.BASE_CONTACT


async def test_a_late_wrong_number_takes_the_contact_back_from_the_base_person(redis: Redis, prefix: str) -> None:
    ha, hb, _s = await _world(redis, prefix, max_contacts_per_month=1)
    t = await _take(hb, NOW)
    await hb.record_result(t, DialResult("live", "other"), NOW + 60)  # type: ignore[arg-type]
    assert await _blocked(ha, "K1", WEEK_LATER) is Block.BASE_CONTACT
    await hb.amend_result(t, DialResult("live", "wrong_number"), NOW + 600)  # type: ignore[arg-type]
    assert await _blocked(ha, "K1", WEEK_LATER) is None


async def test_a_number_the_base_gives_to_no_one_changes_nothing(redis: Redis, prefix: str) -> None:
    ha, hb, s = await _world(redis, prefix)
    await s.import_base_rows([{"subscriber_id": "S7", "home": H, "status": "former"}])
    await ha.record_result(await _take(ha, NOW), DialResult("live", "dnc"), NOW + 60)  # type: ignore[arg-type]
    assert await _blocked(hb, "N4", NEXT_DAY) is None


async def test_explain_names_the_subscriber_the_base_lists(redis: Redis, prefix: str) -> None:
    ha, hb, _s = await _world(redis, prefix)
    assert (await hb.explain("N4", NOW))["base_persons"] == ["subscriber:S7"]
    assert (await ha.explain("K1", NOW))["base_persons"] == []  # its own person: no other
