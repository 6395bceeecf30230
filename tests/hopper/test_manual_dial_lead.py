"""An agent's manual dial gets a lead of its own in the campaign's hopper (`HopperLeadSource.take_manual`), created
and taken for the call: the call's result is then written there as any dial's. Before, a manual call had no lead,
and whatever its agent saved was accepted and dropped: a callback never scheduled, an order's confirmation never
made. The lead: in the list `(manual dial)`, the typed number with its time zone, as its person the subscriber the
operator's base lists for the number (else the number), under an opaque id (never built from the number). A manual
dial that reaches nobody finishes its lead (`manual dial`): the pacer does not dial a number only an agent typed."""

from __future__ import annotations

import dataclasses

import pytest
from hopper_helpers import at, campaign, hopper, store
from redis.asyncio import Redis

from dialer.engine.commands import DispositionMade
from dialer.engine.records import CallRecord
from dialer.errors import PolicyViolation
from dialer.hopper import DialTarget
from dialer.hopper.keys import CampaignKeys, GlobalKeys
from dialer.hopper.views import S
from dialer.hopper_source import HopperLeadSource
from dialer.policy import DialResult

N, OTHER = "+12125550171", "+12125550179"
NOW = at(2025, 6, 3, 12)  # a Tuesday noon in New York: inside calling hours
TOMORROW_1030 = at(2025, 6, 4, 10, 30)
FOLLOW = [{"on": "sale", "campaign": "confirm", "delay_s": 3600}]


async def _source(redis: Redis, prefix: str, cid: str = "ma", **over: object) -> HopperLeadSource:
    c = campaign(cid, **over)
    await store(redis, prefix).import_rows(c, [{"mobile": OTHER, "id": "K2"}], now=NOW - 86400)
    return HopperLeadSource(hopper(redis, c, prefix))


def _record(target: DialTarget, outcome: str, at_: float) -> CallRecord:
    return CallRecord(call_id="m1", campaign_id=target.campaign_id, lead_id=target.lead_id, number=N, attempt=1,
                      outcome=outcome, abandoned=False, created_at=at_, originated_at=at_, answered_at=None,
                      human_at=None, connected_at=at_ + 5 if outcome == "connected" else None, ended_at=at_ + 60,
                      agent_id="bob", amd_status=None, dial_status=None, hangup_cause=16, wait_s=None,
                      talk_s=None, kind="manual", zone=target.zone, lead_list=target.lead_list)


def _disposition(target: DialTarget, code: str, at_: float, **fields: str) -> DispositionMade:
    return DispositionMade(call_id="m1", agent_id="bob", code=code, fields=dict(fields), script_path=(), at=at_,
                           target=target, campaign_id=target.campaign_id)


async def test_a_manual_dial_gets_a_lead_of_its_own_taken_for_the_call(redis: Redis, prefix: str) -> None:
    source = await _source(redis, prefix)
    request = await source.take_manual(N, "bob", NOW)
    target = request.target
    assert isinstance(target, DialTarget)
    assert request.lead_id.startswith("manual-")
    assert "5550171" not in request.lead_id
    assert (request.number, request.attempt, request.zone, request.lead_list) == (N, 1, "America/New_York",
                                                                                   "(manual dial)")
    lead = await store(redis, prefix).get_lead("ma", request.lead_id)
    assert lead is not None
    assert ([n.e164 for n in lead.numbers], lead.person, lead.lists) == ([N], f"number:{N}", ("(manual dial)",))
    info = await source.explain(request.lead_id, NOW)
    assert (info["where"], info["attempts"]) == ({"queue": "in flight", "since": NOW}, 0)
    assert {x.name: x.leads for x in await source.lists()} == {"api": 1, "(manual dial)": 1}
    assert await store(redis, prefix).lead_count("ma") == 2
    # its number is out while the call is up: no take dials the person, and another agent typing it is told why
    with pytest.raises(PolicyViolation, match=r"being dialed right now \(an agent's manual call in campaign ma"):
        await source.check_number(N, NOW)


async def test_the_person_is_the_subscriber_the_base_lists_for_the_number(redis: Redis, prefix: str) -> None:
    source = await _source(redis, prefix)
    await store(redis, prefix).import_base_rows([{"subscriber_id": "S9", "mobile": N}])
    request = await source.take_manual(N, "bob", NOW)
    lead = await store(redis, prefix).get_lead("ma", request.lead_id)
    assert lead is not None
    assert lead.person == "subscriber:S9"
    # listed under the account: a do-not-call request of the subscriber finds it (`subscriber_dnc`)
    members = await redis.smembers(GlobalKeys(prefix).account("S9"))
    assert {m.decode() for m in members} == {f"ma\x1f{request.lead_id}"}


async def test_a_callback_saved_on_a_manual_call_is_scheduled_for_its_agent(redis: Redis, prefix: str) -> None:
    source = await _source(redis, prefix)
    request = await source.take_manual(N, "bob", NOW)
    target = request.target
    assert isinstance(target, DialTarget)
    await source.record_result(_record(target, "connected", NOW), target, NOW + 60)
    await source.record_disposition(_disposition(target, "callback", NOW + 90, callback_epoch=repr(TOMORROW_1030),
                                                 callback_agent="bob"), NOW + 90)
    assert await source.own_callbacks("bob") == [{"lead_id": request.lead_id, "at": TOMORROW_1030, "number": N,
                                                  "lead": {}}]
    info = await source.explain(request.lead_id, NOW + 90)
    assert (info["attempts"], info["last_outcome"], info["where"]["queue"]) == (1, "callback", "callback")
    await source.check_number(N, NOW + 91)  # the call's take ended with its result: the number is free
    # and bob gets it back when it is due, as any callback he kept
    got = await source.take_own_callbacks(["bob"], TOMORROW_1030 + 1)
    assert [(r.lead_id, r.number, r.callback_at) for r in got.values()] == [(request.lead_id, N, TOMORROW_1030)]


async def test_a_sale_on_a_manual_call_feeds_the_follow_up_campaign(redis: Redis, prefix: str) -> None:
    source = await _source(redis, prefix, follow_ups=FOLLOW)
    confirm = HopperLeadSource(hopper(redis, campaign("confirm", kind="confirmation"), prefix))
    request = await source.take_manual(N, "bob", NOW)
    target = request.target
    assert isinstance(target, DialTarget)
    await source.record_result(_record(target, "connected", NOW), target, NOW + 60)
    await source.record_disposition(_disposition(target, "sale", NOW + 90), NOW + 90)
    assert (await source.explain(request.lead_id, NOW + 90))["where"] == {"queue": "finished", "reason": "sale"}
    info = await confirm.explain(request.lead_id, NOW + 90)
    assert info["where"] == {"queue": "retry", "at": NOW + 90 + 3600}  # the confirmation call, due in an hour


async def test_a_manual_dial_that_reaches_nobody_finishes_its_lead(redis: Redis, prefix: str) -> None:
    source = await _source(redis, prefix)
    request = await source.take_manual(N, "bob", NOW)
    target = request.target
    assert isinstance(target, DialTarget)
    await source.record_result(_record(target, "busy", NOW), target, NOW + 30)
    info = await source.explain(request.lead_id, NOW + 30)
    assert (info["where"], info["attempts"], info["last_outcome"]) == (
        {"queue": "finished", "reason": "manual dial"}, 1, "busy")
    await source.check_number(N, NOW + 31)  # free again
    await source.hopper.fill(NOW + 7200)
    assert [t.lead_id for t in await source.hopper.take(5, NOW + 7200)] == ["K2"]  # never redialed by the pacer


async def test_a_manual_dial_given_up_as_lost_is_finished_not_redialed(redis: Redis, prefix: str) -> None:
    source = await _source(redis, prefix)
    request = await source.take_manual(N, "bob", NOW)  # the daemon dies during the call: no result ever comes
    later = NOW + source.hopper.campaign.hopper.inflight_timeout_s + 60
    await source.hopper.fill(later)
    info = await source.explain(request.lead_id, later)
    assert (info["where"], info["attempts"]) == ({"queue": "finished", "reason": "manual dial"}, 1)


async def test_the_lead_of_a_manual_dial_that_never_began_goes(redis: Redis, prefix: str) -> None:
    source = await _source(redis, prefix)
    await store(redis, prefix).import_base_rows([{"subscriber_id": "S9", "mobile": N}])
    request = await source.take_manual(N, "bob", NOW)
    await source.drop_manual(request)
    assert await store(redis, prefix).get_lead("ma", request.lead_id) is None
    k = CampaignKeys(prefix, "ma")
    assert await redis.exists(k.state(request.lead_id), GlobalKeys(prefix).out(N)) == 0
    assert await redis.zscore(k.i, request.lead_id) is None
    assert await redis.smembers(GlobalKeys(prefix).account("S9")) == set()
    assert {x.name: x.leads for x in await source.lists()} == {"api": 1, "(manual dial)": 0}
    assert await store(redis, prefix).lead_count("ma") == 1
    await source.check_number(N, NOW)


async def test_a_number_a_take_has_out_gets_no_manual_lead(redis: Redis, prefix: str) -> None:
    source = await _source(redis, prefix)
    await source.check_number(OTHER, NOW)  # free when checked
    await source.hopper.fill(NOW)
    assert [t.lead_id for t in await source.hopper.take(1, NOW)] == ["K2"]  # a predictive take comes first
    with pytest.raises(PolicyViolation, match=r"being dialed right now \(lead K2 of campaign ma\)"):
        await source.take_manual(OTHER, "bob", NOW)
    assert {x.name: x.leads for x in await source.lists()} == {"api": 1}


async def test_a_late_disposition_on_a_manual_call_is_written_as_a_manual_dial_s(redis: Redis, prefix: str) -> None:
    source = await _source(redis, prefix)
    request = await source.take_manual(N, "bob", NOW)
    target = request.target
    assert isinstance(target, DialTarget)
    await source.record_result(_record(target, "connected", NOW), target, NOW + 60)
    await source.record_disposition(_disposition(target, "no_disposition", NOW + 200), NOW + 200)  # wrap-up ran out
    late = dataclasses.replace(_disposition(target, "callback", NOW + 300, callback_epoch=repr(TOMORROW_1030),
                                            callback_agent="bob"), amends="no_disposition")
    await source.record_disposition(late, NOW + 300)
    assert [c["lead_id"] for c in await source.own_callbacks("bob")] == [request.lead_id]
    state = await store(redis, prefix).lead_state("ma", request.lead_id)
    assert (state[S.ATTEMPTS], state[S.MANUAL]) == ("1", "1")


async def test_a_callback_is_refused_when_it_could_not_be_kept(redis: Redis, prefix: str) -> None:
    source = await _source(redis, prefix)
    why = source.callback_refusal(None, TOMORROW_1030, NOW)  # a call without a lead in the hopper
    assert why is not None
    assert "no lead in campaign ma's hopper" in why
    cold = await _source(redis, prefix, "cold1", kind="cold", require_consent=True)
    request = await cold.take_manual(N, "bob", NOW)  # the hopper dials no lead without recorded consent
    why = cold.callback_refusal(request.target, TOMORROW_1030, NOW)
    assert why is not None
    assert "consent" in why
    request = await source.take_manual("+12125550172", "bob", NOW)
    assert source.callback_refusal(request.target, TOMORROW_1030, NOW) is None


async def test_results_of_other_leads_are_not_affected(redis: Redis, prefix: str) -> None:
    source = await _source(redis, prefix)
    await source.hopper.fill(NOW)
    [t] = await source.hopper.take(1, NOW)
    await source.hopper.record_result(t, DialResult("busy"), NOW + 30)  # type: ignore[arg-type]
    assert (await source.explain("K2", NOW + 30))["where"]["queue"] == "retry"  # an imported lead is retried
