"""A do-not-call request is final, across all campaigns, whatever a later import does to the lead.

A person known only by their number (`number:<e164>`) asks not to be called; a later import names their
subscriber account (the lead's person key becomes `subscriber:<id>`) and adds a second number. Neither a
re-import past the dedup window (which re-arms other finished leads) nor another campaign's list with the
account id and both numbers may dial the second number.
"""

from __future__ import annotations

from hopper_helpers import at, campaign, hopper, row, store
from redis.asyncio import Redis

from dialer.policy import DialResult

NY1, NY2 = "2125550142", "2125550143"


async def test_a_dnc_finish_is_not_rearmed_by_a_reimport_that_names_the_subscriber(redis: Redis, prefix: str) -> None:
    c = campaign()
    s = store(redis, prefix)
    h = hopper(redis, c, prefix)
    t0 = at(2024, 4, 1, 12)
    await s.import_rows(c, [row(NY1, id="L1")], now=t0)
    await h.fill(t0)
    [x] = await h.take(1, t0)
    await h.record_result(x, DialResult("live", "dnc"), t0 + 60)  # "do not call me again"
    # 45 days later (past the 30-day dedup window) a fresher export: the account id and a second number
    t1 = at(2024, 5, 16, 12)
    rep = await s.import_rows(c, [row(NY1, id="L1", subscriber_id="S1", home=NY2)], now=t1)
    await h.fill(t1)
    assert await h.take(1, t1) == [], "the person who asked not to be called is dialed again"
    assert (rep.merged, rep.rearmed) == (1, 0)  # merged (the new number kept), not re-armed
    state = await s.lead_state("c1", "L1")
    assert (state["fn"], state["a"]) == ("dnc", "1")  # still finished, its history kept
    why = await h.explain("L1", t1)
    assert (why["where"]["queue"], why["person"], why["person_dnc"]) == ("finished", "subscriber:S1", True)
    assert why["verdict"]["final"] is True
    st = await h.status(t1)
    assert (st.finished_by_reason, st.fresh_in_hours) == ({"dnc": 1}, 0)


async def test_a_dnc_request_blocks_another_campaigns_lead_with_the_account_id(redis: Redis, prefix: str) -> None:
    a, b = campaign("ca"), campaign("cb")
    s = store(redis, prefix)
    ha, hb = hopper(redis, a, prefix), hopper(redis, b, prefix)
    t0 = at(2024, 5, 15, 12)
    await s.import_rows(a, [row(NY1, id="L1")], now=t0)
    await ha.fill(t0)
    [x] = await ha.take(1, t0)
    await ha.record_result(x, DialResult("live", "dnc"), t0 + 60)
    await s.import_rows(b, [row(NY1, id="L1", subscriber_id="S1", home=NY2)], now=t0 + 120)
    rep = await hb.fill(t0 + 180)
    assert await hb.take(1, t0 + 180) == [], "dialed after a DNC request in campaign ca"
    assert (rep.moved, dict(rep.finished)) == (0, {"do not call": 1})


async def test_a_queued_lead_is_not_taken_after_its_numbers_person_asks_not_to_be_called(
        redis: Redis, prefix: str) -> None:
    """The check right before the dial (take) reads the number's person too, not only the lead's own."""
    a, b = campaign("ca"), campaign("cb")
    s = store(redis, prefix)
    ha, hb = hopper(redis, a, prefix), hopper(redis, b, prefix)
    t0 = at(2024, 5, 15, 12)
    await s.import_rows(a, [row(NY1, id="L1")], now=t0)
    await s.import_rows(b, [row(NY1, id="K1", subscriber_id="S1", home=NY2)], now=t0)
    assert (await hb.fill(t0)).moved == 1  # queued in cb before the request
    await ha.fill(t0)
    [x] = await ha.take(1, t0)
    await ha.record_result(x, DialResult("live", "dnc"), t0 + 60)
    assert await hb.take(1, t0 + 120) == []
    assert (await hb.status(t0 + 120)).finished_by_reason == {"do not call": 1}


async def test_a_dnc_marked_number_person_holds_after_a_merge_within_the_window(redis: Redis, prefix: str) -> None:
    """The supervisor's DNC of a person by number (`number:<e164>`), then a re-import in the window that names
    the account: the lead waiting in its fresh queue is not dialed on its new number."""
    c = campaign()
    s = store(redis, prefix)
    h = hopper(redis, c, prefix)
    t0 = at(2024, 5, 15, 12)
    await s.import_rows(c, [row(NY1, id="L1")], now=t0)
    await s.dnc_person("number:+1" + NY1)  # the person, not the number: NY1 is not on the DNC list
    await s.import_rows(c, [row(NY1, id="L1", subscriber_id="S1", home=NY2)], now=t0 + 60)
    await h.fill(t0 + 120)
    assert await h.take(1, t0 + 120) == []
    why = await h.explain("L1", t0 + 120)
    assert (why["where"], why["person_dnc"]) == ({"queue": "finished", "reason": "do not call"}, True)


async def test_a_subscribers_dnc_blocks_another_campaigns_lead_that_knows_them_by_number(
        redis: Redis, prefix: str) -> None:
    """The other way round: the subscriber asks not to be called; a list without the account id has their
    number and another one. The request marks the persons of their numbers too (as the desk's DNC does)."""
    a, b = campaign("ca"), campaign("cb")
    s = store(redis, prefix)
    ha, hb = hopper(redis, a, prefix), hopper(redis, b, prefix)
    t0 = at(2024, 5, 15, 12)
    await s.import_rows(a, [row(NY1, id="L1", subscriber_id="S1")], now=t0)
    await ha.fill(t0)
    [x] = await ha.take(1, t0)
    await ha.record_result(x, DialResult("live", "dnc"), t0 + 60)
    await s.import_rows(b, [row(NY1, id="K1", home=NY2)], now=t0 + 120)
    await hb.fill(t0 + 180)
    assert await hb.take(1, t0 + 180) == [], "the subscriber who asked not to be called is dialed on another number"
    why = await hb.explain("K1", t0 + 180)
    assert (why["person"], why["person_dnc"]) == ("number:+1" + NY1, True)
