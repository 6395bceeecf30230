"""The hopper against a real Redis: priority, hours, re-checks at take, results, status reasons."""

from __future__ import annotations

import pytest
from hopper_helpers import at, campaign, hopper, row, store
from redis.asyncio import Redis

from dialer.errors import PolicyViolation
from dialer.hopper import DialTarget
from dialer.policy import DialResult

NOW = at(2024, 5, 15, 12)  # Wednesday noon in New York
DAY = 86400.0
NY1, NY2, NY3, LA1, CHI1 = "2125550142", "2125550143", "2125550144", "4155550123", "3125550177"


def res(outcome: str, disposition: str | None = None, **kw: object) -> DialResult:
    return DialResult(outcome, disposition, **kw)  # type: ignore[arg-type]


async def setup(redis: Redis, prefix: str, rows: list[dict[str, object]], **camp: object) -> tuple:  # type: ignore[type-arg]
    c = campaign(**camp)
    s = store(redis, prefix)
    await s.import_rows(c, rows, now=NOW)
    return c, s, hopper(redis, c, prefix)


async def test_fill_tops_up_to_target_depth_in_rank_order(redis: Redis, prefix: str) -> None:
    rows = [row(f"21255501{i:02d}", id=f"L{i}", arpu=str(10 + i)) for i in range(30)]
    _, _, h = await setup(redis, prefix, rows, order_by="arpu", hopper={"target_depth": 10, "batch": 10})
    rep = await h.fill(NOW)
    assert (rep.moved, rep.fresh, rep.depth) == (10, 10, 10)
    assert await h.depth() == 10
    assert (await h.fill(NOW)).moved == 0  # already full
    taken = await h.take(3, NOW)
    assert [t.lead_id for t in taken] == ["L29", "L28", "L27"]  # highest ARPU first
    assert all(t.attempt == 1 and t.number_index == 0 for t in taken)
    assert taken[0].fields["arpu"] == "39"
    assert (await h.fill(NOW)).moved == 3


async def test_fill_reads_only_zones_inside_hours(redis: Redis, prefix: str) -> None:
    _, _, h = await setup(redis, prefix, [row(NY1), row(LA1)])
    early = at(2024, 5, 15, 10)  # 07:00 in Los Angeles
    rep = await h.fill(early)
    assert rep.moved == 1
    st = await h.status(early)
    assert (st.fresh_outside_hours, st.depth) == (1, 1)
    [t] = await h.take(5, early)
    assert t.number_e164 == "+1" + NY1
    st = await h.status(early)
    assert st.state == "blocked"
    assert st.reason.startswith("all outside hours; next window Wed 2024-05-15 09:00 America/Los_Angeles")
    assert st.next_callable_at == at(2024, 5, 15, 9, tz="America/Los_Angeles")
    assert (await h.fill(at(2024, 5, 15, 12))).moved == 1


async def test_a_states_stricter_hours_defer_its_people_and_no_one_else(redis: Redis, prefix: str) -> None:
    miami = "3055550100"  # Eastern time, as New York, but Florida calls end at 20:00
    _, _, h = await setup(redis, prefix, [row(NY1, id="ny"), row(miami, id="fl")],
                          calling_hours={"regions": {"US-FL": {"window": "08:00-20:00"}}})
    evening = at(2024, 5, 15, 20, 30)
    await h.fill(evening)
    assert [t.lead_id for t in await h.take(5, evening)] == ["ny"]
    explained = await h.explain("fl", evening)
    assert explained["hours_regions"] == ["US-FL"]
    assert (explained["verdict"]["block"], explained["verdict"]["not_before"]) == ("outside calling hours",
                                                                                  at(2024, 5, 16, 9))
    await h.fill(at(2024, 5, 16, 9))
    assert [t.lead_id for t in await h.take(5, at(2024, 5, 16, 9))] == ["fl"]
    with pytest.raises(PolicyViolation, match="US-FL"):
        await h.check_callback("fl", at(2024, 5, 16, 20, 15), at(2024, 5, 16, 9))


async def test_the_address_region_of_an_import_holds_its_person_to_that_regions_hours(redis: Redis,
                                                                                      prefix: str) -> None:
    _, _, h = await setup(redis, prefix, [row(NY1, id="home", state="NY"), row(NY2, id="moved", state="Florida")],
                          calling_hours={"regions": {"US-FL": {"window": "08:00-20:00"}}},
                          leads={"region_column": "state"})
    evening = at(2024, 5, 15, 20, 30)
    await h.fill(evening)
    assert [t.lead_id for t in await h.take(5, evening)] == ["home"]
    explained = await h.explain("moved", evening)
    assert (explained["region"], explained["hours_regions"]) == ("US-FL", ["US-FL"])


async def test_a_rolling_24_hour_cap_holds_a_lead_until_its_oldest_dial_is_24_hours_old(redis: Redis,
                                                                                         prefix: str) -> None:
    _, _, h = await setup(redis, prefix, [row(NY1, id="a")],
                          retry={"max_attempts_per_24h": 2, "max_attempts_per_day": 10, "delays_s": {"no_answer": 60}})
    for t in (NOW, NOW + 120):
        await h.fill(t)
        [target] = await h.take(1, t)
        await h.record_result(target, res("no_answer"), t)
    await h.fill(NOW + 240)
    assert await h.take(1, NOW + 240) == []
    got = await h.explain("a", NOW + 240)
    assert (got["verdict"]["block"], got["verdict"]["not_before"]) == ("24-hour attempt cap reached", NOW + DAY)
    await h.fill(NOW + DAY)
    assert [t.lead_id for t in await h.take(1, NOW + DAY)] == ["a"]


async def test_take_serves_due_callbacks_then_fresh_then_retries(redis: Redis, prefix: str) -> None:
    _, _, h = await setup(redis, prefix, [row(NY1, id="a"), row(NY2, id="b"), row(NY3, id="c"), row(CHI1, id="d")])
    await h.fill(NOW)
    a, b, c, d = await h.take(4, NOW)
    await h.record_result(a, res("busy"), NOW)  # retry in 15 min
    await h.record_result(b, res("live", "callback", callback_at=NOW + 1800, callback_agent="ag1"), NOW)
    await h.record_result(c, res("live", "callback", callback_at=NOW + 3600), NOW)
    await s_import_more(redis, prefix)
    later = NOW + 2 * 3600
    await h.fill(later)
    got = await h.take(10, later)
    assert [t.lead_id for t in got[:2]] == ["b", "c"]
    assert got[0].is_callback
    assert got[0].callback_agent == "ag1"
    assert got[1].callback_agent is None
    assert [t.lead_id for t in got[2:]] == ["e", "a"]  # fresh before the retry
    assert got[3].attempt == 2
    del d


async def s_import_more(redis: Redis, prefix: str) -> None:
    await store(redis, prefix).import_rows(campaign(), [row("2125550150", id="e")], now=NOW)


async def test_take_rechecks_dnc_suppression_and_hours(redis: Redis, prefix: str) -> None:
    rows = [row(NY1, id="a", subscriber_id="S1"), row(NY2, id="b", area="NY07"), row(NY3, id="c"), row(CHI1, id="d")]
    _, s, h = await setup(redis, prefix, rows)
    assert (await h.fill(NOW)).moved == 4
    await s.suppress("subscriber:S1", "trouble_ticket", None)
    await s.suppress("area:NY07", "degradation", NOW + 600)
    await s.add_dnc(["+1" + NY3])
    got = await h.take(4, NOW)
    assert [t.lead_id for t in got] == ["d"]
    st = await h.status(NOW)
    assert st.waiting_by_reason == {"suppressed": 2}
    assert st.finished_by_reason == {"do not call": 1}
    # the area signal ends: b is callable again at its recheck time
    assert [t.lead_id for t in (await h.take(5, NOW + 600))] == []
    await h.fill(NOW + 601)
    assert [t.lead_id for t in await h.take(5, NOW + 601)] == ["b"]
    # lifting the ticket frees a within the hourly recheck
    await s.unsuppress("subscriber:S1")
    await h.fill(NOW + 3600)
    assert [t.lead_id for t in await h.take(5, NOW + 3600)] == ["a"]


async def test_take_defers_leads_whose_hours_ended_after_fill(redis: Redis, prefix: str) -> None:
    _, _, h = await setup(redis, prefix, [row(NY1)])
    await h.fill(at(2024, 5, 15, 20, 59))
    assert await h.take(1, at(2024, 5, 15, 21, 0)) == []
    st = await h.status(at(2024, 5, 15, 21, 0))
    assert st.state == "blocked"
    assert st.waiting_by_reason == {"outside calling hours": 1}
    await h.fill(at(2024, 5, 16, 9, 0))
    assert len(await h.take(1, at(2024, 5, 16, 9, 0))) == 1


async def test_dnc_disposition_blocks_the_person_everywhere(redis: Redis, prefix: str) -> None:
    c1, s, h1 = await setup(redis, prefix, [{"mobile": NY1, "home": CHI1, "subscriber_id": "S1"}])
    c2 = campaign("c2", kind="cold", require_consent=False)
    await s.import_rows(c2, [{"mobile": CHI1}, {"mobile": LA1, "subscriber_id": "S1"}, {"mobile": NY3}], now=NOW)
    h2 = hopper(redis, c2, prefix)
    await h2.fill(NOW)  # all three are in c2's hopper before the request
    await h1.fill(NOW)
    [t] = await h1.take(1, NOW)
    await h1.record_result(t, res("live", "dnc"), NOW)
    got = await h2.take(5, NOW)
    assert [x.number_e164 for x in got] == ["+1" + NY3]
    assert await s.is_dnc(CHI1)
    assert (await h2.status(NOW)).finished_by_reason == {"do not call": 2}
    del c1


async def test_abandon_locks_the_numbers_for_72_hours_unless_an_agent_is_reserved(redis: Redis, prefix: str) -> None:
    c = campaign(retry={"delays_s": {"abandoned": 0}})
    s = store(redis, prefix)
    await s.import_rows(c, [row(NY1)], now=NOW)
    other = campaign("other")
    await s.import_rows(other, [row(NY1)], now=NOW)
    h, ho = hopper(redis, c, prefix), hopper(redis, other, prefix)
    await h.fill(NOW)
    [t] = await h.take(1, NOW)
    await h.record_result(t, res("abandoned"), NOW)
    await ho.fill(NOW + DAY)
    assert await ho.take(1, NOW + DAY) == []
    assert (await ho.status(NOW + DAY)).waiting_by_reason == {"72-hour lock after an abandoned call": 1}
    almost = NOW + 71 * 3600
    await h.fill(almost)
    assert await h.take(1, almost) == []  # still locked, one hour to go
    await h.fill(NOW + 72 * 3600)
    assert len(await h.take(1, NOW + 72 * 3600)) == 1


async def test_agent_reserved_dial_may_call_a_locked_number(redis: Redis, prefix: str) -> None:
    c = campaign()
    _, s, h = await setup(redis, prefix, [row(NY1)])
    await h.fill(NOW)
    [t] = await h.take(1, NOW)
    await h.record_result(t, res("abandoned"), NOW)
    cb = campaign("cb")
    await s.import_rows(cb, [row(NY1)], now=NOW)
    hc = hopper(redis, cb, prefix)
    await hc.fill(NOW)  # deferred by the lock
    await redis.zadd(f"{prefix}:c:cb:r", {"n12125550142": 1e15})  # force it into the ready queue
    assert len(await hc.take(1, NOW + 60, agent_reserved=True)) == 1
    del c


async def test_attempt_caps_per_day_and_total(redis: Redis, prefix: str) -> None:
    c = campaign(retry={"max_attempts_total": 3, "max_attempts_per_day": 2, "delays_s": {"no_answer": 60}})
    s = store(redis, prefix)
    await s.import_rows(c, [row(NY1)], now=NOW)
    h = hopper(redis, c, prefix)
    t = NOW
    dials = []
    for _ in range(6):
        await h.fill(t)
        got = await h.take(1, t)
        if got:
            dials.append(t)
            await h.record_result(got[0], res("no_answer"), t)
        t += 3600
    assert len(dials) == 2  # two today
    t = at(2024, 5, 16, 9)
    await h.fill(t)
    [third] = await h.take(1, t)
    assert third.attempt == 3
    await h.record_result(third, res("no_answer"), t)
    st = await h.status(t + 3600)
    assert st.state == "exhausted"
    assert st.reason == "all leads exhausted"
    assert st.finished_by_reason == {"attempts exhausted": 1}


async def test_base_contact_rule_spans_base_campaigns(redis: Redis, prefix: str) -> None:
    a, b = campaign("a"), campaign("b")
    s = store(redis, prefix)
    await s.import_rows(a, [row(NY1, subscriber_id="S1")], now=NOW)
    await s.import_rows(b, [row(NY2, subscriber_id="S1")], now=NOW)
    ha, hb = hopper(redis, a, prefix), hopper(redis, b, prefix)
    await ha.fill(NOW)
    [t] = await ha.take(1, NOW)
    await ha.record_result(t, res("live", "refused", refusal_reason="too_expensive"), NOW)
    await hb.fill(NOW + DAY)
    assert await hb.take(1, NOW + DAY) == []
    st = await hb.status(NOW + DAY)
    assert st.waiting_by_reason == {"contacted recently in a base campaign": 1}
    assert st.next_callable_at is not None
    assert st.next_callable_at >= NOW + 60 * DAY
    cold = campaign("cold", kind="cold", require_consent=False)
    await s.import_rows(cold, [row(NY3, subscriber_id="S1")], now=NOW)
    hc = hopper(redis, cold, prefix)
    await hc.fill(NOW + DAY)
    assert len(await hc.take(1, NOW + DAY)) == 1  # not a base campaign


async def test_refusal_suppresses_the_same_offer_only(redis: Redis, prefix: str) -> None:
    a = campaign("a", offer="tv", counts_as_base=False)
    same = campaign("same", offer="tv", counts_as_base=False)
    other = campaign("other", offer="fiber", counts_as_base=False)
    s = store(redis, prefix)
    for c in (a, same, other):
        await s.import_rows(c, [row(NY1, subscriber_id="S1")], now=NOW)
    ha = hopper(redis, a, prefix)
    await ha.fill(NOW)
    [t] = await ha.take(1, NOW)
    await ha.record_result(t, res("live", "refused"), NOW)
    hs, ho = hopper(redis, same, prefix), hopper(redis, other, prefix)
    await hs.fill(NOW + DAY)
    await ho.fill(NOW + DAY)
    assert await hs.take(1, NOW + DAY) == []
    assert len(await ho.take(1, NOW + DAY)) == 1


async def test_callback_outside_hours_is_refused_and_nothing_is_written(redis: Redis, prefix: str) -> None:
    _, s, h = await setup(redis, prefix, [row(NY1)])
    await h.fill(NOW)
    [t] = await h.take(1, NOW)
    with pytest.raises(PolicyViolation, match="outside calling hours"):
        await h.record_result(t, res("live", "callback", callback_at=at(2024, 5, 15, 23)), NOW)
    with pytest.raises(PolicyViolation, match="outside calling hours"):
        await h.check_callback(t.lead_id, at(2024, 5, 19, 12), NOW)  # a Sunday
    assert (await h.status(NOW)).in_flight == 1
    await h.record_result(t, res("live", "callback", callback_at=at(2024, 5, 16, 10)), NOW)
    st = await h.status(NOW)
    assert (st.in_flight, st.callbacks_scheduled) == (0, 1)
    del s


async def test_follow_up_lands_in_the_confirmation_campaign_next_morning(redis: Redis, prefix: str) -> None:
    conf = campaign("confirm", kind="confirmation")
    c = campaign(follow_ups=[{"on": "sale", "campaign": "confirm", "next_day_at": "10:00"}])
    s = store(redis, prefix)
    await s.import_rows(c, [row(LA1, name="Ann", address="1 Main St")], now=NOW)
    h, hc = hopper(redis, c, prefix), hopper(redis, conf, prefix)
    await h.fill(NOW)
    [t] = await h.take(1, NOW)
    await h.record_result(t, res("live", "sale"), NOW)
    st = await hc.status(NOW)
    assert st.next_callable_at == at(2024, 5, 16, 10, tz="America/Los_Angeles")
    assert await hc.take(1, NOW) == []
    t2 = at(2024, 5, 16, 10, tz="America/Los_Angeles")
    await hc.fill(t2)
    [conf_target] = await hc.take(1, t2)
    assert conf_target.fields["address"] == "1 Main St"
    assert conf_target.attempt == 1
    assert await s.lead_count("confirm") == 1


async def test_a_late_code_that_reached_nobody_takes_the_contact_back_out_of_the_conversion_report(
        redis: Redis, prefix: str) -> None:
    rows = [row(NY1, id="p", subscriber_id="S1", cancel_reason="price", cancelled_at="2024-03-01"),
            row(NY2, id="q", subscriber_id="S2", cancel_reason="price", cancelled_at="2024-03-01")]
    _, _s, h = await setup(redis, prefix, rows, kind="winback", id="wb", follow_ups=[])
    await h.fill(NOW)
    got = {t.lead_id: t for t in await h.take(2, NOW)}
    for t in got.values():  # the wrap-up ran out: a contact whose result is unknown
        await h.record_result(t, res("live", "other"), NOW)
    assert dict(await h.conversion()) == {"price": (2, 0)}
    await h.amend_result(got["p"], res("live", "not_available"), NOW + 300)
    await h.amend_result(got["q"], res("live", "sale"), NOW + 300)
    assert dict(await h.conversion()) == {"price": (1, 1)}  # q's contact stays and sold; p's is taken back


async def test_winback_conversion_by_reason_and_recidivists(redis: Redis, prefix: str) -> None:
    c = campaign("wb", kind="winback", follow_ups=[])
    rows = [
        row(NY1, id="p", subscriber_id="S1", cancel_reason="price", cancelled_at="2024-03-01"),
        row(NY2, id="q", subscriber_id="S2", cancel_reason="quality", cancelled_at="2024-03-01"),
        row(NY3, id="j", subscriber_id="S3", cancel_reason="price", cancelled_at="2024-03-01", discount_leaves="1"),
    ]
    _, s, h = await setup(redis, prefix, rows, kind="winback", id="wb")
    await h.fill(NOW)
    got = {t.lead_id: t for t in await h.take(3, NOW)}
    assert got["j"].fields["offer_restriction"] == "paid_connection_only"
    assert "offer_restriction" not in got["p"].fields
    await h.record_result(got["p"], res("live", "sale"), NOW)
    await h.record_result(got["q"], res("live", "refused"), NOW)
    await h.record_result(got["j"], res("live", "sale"), NOW)
    assert dict(await h.conversion()) == {"price": (2, 2), "quality": (1, 0)}
    # S1 was won back after leaving for a price discount: if S1 leaves again for price, S1 is a jumper
    excl = campaign("wb2", kind="winback", winback={"recidivist": "exclude"})
    await s.import_rows(excl, [row(NY1, subscriber_id="S1", cancel_reason="price", cancelled_at="2024-05-01")], now=NOW)
    h2 = hopper(redis, excl, prefix)
    rep = await h2.fill(NOW)
    assert rep.finished == {"recidivist excluded": 1}
    counts = await h.outcome_counts()
    assert counts["outcome:live"] == 3
    assert counts["disposition:sale"] == 2
    del c


async def test_lost_dials_are_recovered_as_attempts(redis: Redis, prefix: str) -> None:
    _, s, h = await setup(redis, prefix, [row(NY1)], hopper={"inflight_timeout_s": 600})
    await h.fill(NOW)
    [t] = await h.take(1, NOW)
    assert (await h.fill(NOW + 300)).recovered == 0
    rep = await h.fill(NOW + 700)
    assert rep.recovered == 1
    state = await s.lead_state("c1", t.lead_id)
    assert state["a"] == "1"
    assert float(state["ra"]) == NOW + 700 + 2 * 3600


async def test_a_result_after_its_dial_was_given_up_as_lost_finishes_the_lead_once(redis: Redis,
                                                                                      prefix: str) -> None:
    # a preview left on screen past the in-flight timeout: recovered as a lost attempt, which reached the
    # cap of one and finished the lead; then the agent dials it and sells
    _, _s, h = await setup(redis, prefix, [row(NY1)], hopper={"inflight_timeout_s": 600},
                           retry={"max_attempts_total": 1}, follow_ups=[])
    await h.fill(NOW)
    [t] = await h.take(1, NOW, agent_reserved=True)
    assert (await h.fill(NOW + 700)).recovered == 1
    assert (await h.status(NOW + 700)).finished_by_reason == {"attempts exhausted": 1}
    await h.record_result(t, res("live", "sale"), NOW + 800)
    assert (await h.status(NOW + 800)).finished_by_reason == {"sale": 1}
    assert (await h.recycle(NOW + 900)).still_capped == 0  # no longer among the capped leads


async def test_a_result_after_its_dial_was_given_up_as_lost_takes_the_lost_attempts_place(redis: Redis,
                                                                                           prefix: str) -> None:
    _, s, h = await setup(redis, prefix, [row(NY1)], hopper={"inflight_timeout_s": 600}, follow_ups=[])
    await h.fill(NOW)
    [t] = await h.take(1, NOW, agent_reserved=True)
    assert (await h.fill(NOW + 700)).recovered == 1
    assert (await h.outcome_counts())["outcome:no_answer"] == 1
    await h.record_result(t, res("busy"), NOW + 800)
    state = await s.lead_state("c1", t.lead_id)
    assert (state["a"], state["ad"], state.get("lst")) == ("1", "1", None)  # one dial, counted once
    counts = await h.outcome_counts()
    assert (counts["outcome:no_answer"], counts["outcome:busy"]) == (0, 1)
    assert [x.dials for x in await h.lists()] == [1]
    # the same result recorded again (a retry whose reply was lost) is not another attempt: nothing changes
    assert not await h.record_result(t, res("busy"), NOW + 900)
    assert (await s.lead_state("c1", t.lead_id))["a"] == "1"


async def test_status_reasons(redis: Redis, prefix: str) -> None:
    c = campaign()
    h = hopper(redis, c, prefix)
    st = await h.status(NOW)
    assert (st.state, st.reason) == ("no_leads", "no leads loaded")
    s = store(redis, prefix)
    await s.import_rows(c, [row(NY1, subscriber_id="S1"), row(NY2, subscriber_id="S2")], now=NOW)
    st = await h.status(NOW)
    assert st.state == "empty"
    assert "not yet filled" in st.reason
    await s.suppress("subscriber:S1", "bill_shock", NOW + DAY)
    await s.suppress("subscriber:S2", "trouble_ticket", None)
    await h.fill(NOW)
    st = await h.status(NOW)
    assert (st.state, st.depth, st.waiting) == ("blocked", 0, 2)
    assert st.reason.startswith("all suppressed; next at")


async def test_record_result_for_an_unknown_lead(redis: Redis, prefix: str) -> None:
    from dialer.errors import LeadError

    h = hopper(redis, campaign(), prefix)
    ghost = DialTarget("c1", "nope", "+12125550142", 0, 1, {})
    with pytest.raises(LeadError, match="does not exist"):
        await h.record_result(ghost, res("busy"), NOW)
    with pytest.raises(LeadError, match="recorded on hopper c1"):
        await h.record_result(DialTarget("c9", "x", "+1", 0, 1, {}), res("busy"), NOW)


async def test_a_deleted_lead_leaves_the_queues_quietly(redis: Redis, prefix: str) -> None:
    _, s, h = await setup(redis, prefix, [row(NY1, id="gone"), row(NY2, id="kept")])
    await redis.delete(f"{prefix}:c:c1:l:gone")
    rep = await h.fill(NOW)
    assert rep.moved == 1
    st = await h.status(NOW)
    assert (st.depth, st.fresh_in_hours, st.finished_by_reason) == (1, 0, {})
    assert [t.lead_id for t in await h.take(5, NOW)] == ["kept"]
    await s.suppress("lead:c1:with:colon", "other", None)  # lead ids may contain ':'
