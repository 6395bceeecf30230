"""The base-contact rule and the monthly contact cap hold the same subscriber whatever key their lead has: a
contact is written on the lead's person (`subscriber:<id>`, else `number:<first number>`) and on the
`number:<e164>` person of each of its numbers (listed in `<prefix>:bcp`), and the gather keeps the most
restrictive. So a list imported without the account column (or with it, when the other was not) does not
recontact, or double-cap, a person another campaign reached."""

from __future__ import annotations

from typing import Any

from hopper_helpers import at, campaign, hopper, store
from redis.asyncio import Redis

from dialer.hopper import DialTarget, Hopper
from dialer.hopper.keys import GlobalKeys
from dialer.hopper.views import S
from dialer.policy import Block, DialResult

N, N2 = "+12125550123", "+12125550124"
NOW = at(2025, 6, 3, 12)  # a Tuesday noon in New York
WEEK_LATER = NOW + 7 * 86400  # a Tuesday noon: inside hours, no other block


def _row(account: bool, lead_id: str, *numbers: str) -> dict[str, Any]:
    row: dict[str, Any] = {"mobile": numbers[0], "id": lead_id}
    if len(numbers) > 1:
        row["home"] = numbers[1]
    if account:
        row["subscriber_id"] = "S1"
    return row


async def _two(redis: Redis, prefix: str, a_row: dict[str, Any], b_row: dict[str, Any],
               **over: Any) -> tuple[Hopper, Hopper, DialTarget]:
    ca, cb = campaign("base-a", offer="fiber", **over), campaign("base-b", offer="tv", **over)
    st = store(redis, prefix)
    await st.import_rows(ca, [a_row], now=NOW)
    await st.import_rows(cb, [b_row], now=NOW)
    ha, hb = hopper(redis, ca, prefix), hopper(redis, cb, prefix)
    await ha.fill(NOW)
    (t,) = await ha.take(1, NOW)
    return ha, hb, t


async def _blocked(hb: Hopper, lead_id: str, now: float) -> Block | None:
    await hb.fill(now)
    got = await hb.take(5, now)
    if got:
        return None
    return (await hb.explain(lead_id, now))["verdict"]["block"]  # type: ignore[no-any-return]


async def test_base_contact_holds_the_same_number_without_the_account(redis: Redis, prefix: str) -> None:
    ha, hb, t = await _two(redis, prefix, _row(True, "a", N), _row(False, "b", N))
    await ha.record_result(t, DialResult("live", "refused", refusal_reason="x"), NOW + 120)  # type: ignore[arg-type]
    assert await _blocked(hb, "b", WEEK_LATER) == Block.BASE_CONTACT


async def test_base_contact_holds_when_only_the_later_list_names_the_account(redis: Redis, prefix: str) -> None:
    ha, hb, t = await _two(redis, prefix, _row(False, "a", N), _row(True, "b", N))
    await ha.record_result(t, DialResult("live", "refused", refusal_reason="x"), NOW + 120)  # type: ignore[arg-type]
    assert await _blocked(hb, "b", WEEK_LATER) == Block.BASE_CONTACT


async def test_any_of_the_numbers_holds_a_lead(redis: Redis, prefix: str) -> None:
    # A reached the subscriber on a lead with two numbers; B's lead has only the second one, no account
    ha, hb, t = await _two(redis, prefix, _row(True, "a", N, N2), _row(False, "b", N2))
    await ha.record_result(t, DialResult("live", "sale"), NOW + 120)  # type: ignore[arg-type]
    assert await _blocked(hb, "b", WEEK_LATER) == Block.BASE_CONTACT
    person = await redis.hgetall(f"{prefix}:p:subscriber:S1")  # the lead's own person keeps its fields
    assert float(person[S.P_BASE.encode()]) == NOW + 120
    assert person[S.P_MONTH_COUNT.encode()] == b"1"
    members = await redis.smembers(GlobalKeys(prefix).bcp)
    assert members == {f"number:{N}".encode(), f"number:{N2}".encode()}


async def test_the_monthly_cap_counts_a_contact_under_another_key(redis: Redis, prefix: str) -> None:
    # not base campaigns: only the cap of one contact a month holds B back
    ha, hb, t = await _two(redis, prefix, _row(True, "a", N), _row(False, "b", N), max_contacts_per_month=1,
                           counts_as_base=False)
    await ha.record_result(t, DialResult("live", "refused", refusal_reason="x"), NOW + 120)  # type: ignore[arg-type]
    assert await _blocked(hb, "b", WEEK_LATER) == Block.CONTACT_CAP
    assert await _blocked(hb, "b", at(2025, 7, 1, 12)) is None  # a new month


async def test_the_monthly_cap_held_from_the_number_side(redis: Redis, prefix: str) -> None:
    ha, hb, t = await _two(redis, prefix, _row(False, "a", N), _row(True, "b", N), max_contacts_per_month=1,
                           counts_as_base=False)
    await ha.record_result(t, DialResult("live", "refused", refusal_reason="x"), NOW + 120)  # type: ignore[arg-type]
    assert await _blocked(hb, "b", WEEK_LATER) == Block.CONTACT_CAP


async def test_a_late_wrong_number_takes_the_contact_back_from_every_person(redis: Redis, prefix: str) -> None:
    ha, hb, t = await _two(redis, prefix, _row(True, "a", N, N2), _row(False, "b", N2), max_contacts_per_month=1)
    # the agent's wrap-up ran out (other), then they said it was a wrong number: nobody was reached
    await ha.record_result(t, DialResult("live", "other"), NOW + 120)  # type: ignore[arg-type]
    assert await _blocked(hb, "b", WEEK_LATER) == Block.BASE_CONTACT
    await ha.amend_result(t, DialResult("live", "wrong_number"), NOW + 600)  # type: ignore[arg-type]
    for person in ("subscriber:S1", f"number:{N}", f"number:{N2}"):
        fields = await redis.hgetall(f"{prefix}:p:{person}")
        assert S.P_BASE.encode() not in fields, person
        assert fields.get(S.P_MONTH_COUNT.encode()) == b"0", person
    assert await _blocked(hb, "b", WEEK_LATER) is None
