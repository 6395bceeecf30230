"""Callbacks an agent kept for themselves ("me"): theirs while due, anyone's once the campaign's
`personal_callback_wait_s` late (None: theirs for ever)."""

from __future__ import annotations

import pytest
from hopper_helpers import at, campaign, hopper, row, store
from redis.asyncio import Redis

from dialer.errors import PolicyViolation
from dialer.hopper.keys import CampaignKeys
from dialer.policy import DialResult

NOW = at(2024, 5, 15, 12)  # Wednesday noon in New York
NY1, NY2, NY3 = "2125550142", "2125550143", "2125550144"


async def scheduled(redis: Redis, prefix: str, **camp: object):  # type: ignore[no-untyped-def]
    """Three leads called at noon: `mine` kept by ag1 and `anyone` for anyone, both for 12:30; `later` by ag1
    for 13:30."""
    c = campaign(**camp)
    await store(redis, prefix).import_rows(c, [row(NY1, id="mine"), row(NY2, id="anyone"), row(NY3, id="later")],
                                           now=NOW)
    h = hopper(redis, c, prefix)
    await h.fill(NOW)
    got = {t.lead_id: t for t in await h.take(3, NOW)}
    for lid, at_s, agent in (("mine", 1800, "ag1"), ("anyone", 1800, None), ("later", 5400, "ag1")):
        await h.record_result(got[lid], DialResult("live", "callback", callback_at=NOW + at_s,  # type: ignore[arg-type]
                                                   callback_agent=agent), NOW)
    return h


async def test_a_due_callback_kept_by_its_agent_goes_to_that_agent_and_to_nobody_else(redis: Redis,
                                                                                      prefix: str) -> None:
    h = await scheduled(redis, prefix)
    due = NOW + 1900
    assert await h.take_own_callbacks(["ag1", "ag2"], NOW + 1000) == {}  # not due yet
    assert await h.take_own_callbacks(["ag2"], due) == {}  # someone else's
    [taken] = await h.take(5, due)  # the pacer's take: anyone's callback only
    assert (taken.lead_id, taken.is_callback, taken.callback_agent) == ("anyone", True, None)
    own = await h.take_own_callbacks(["ag1", "ag2"], due)
    assert list(own) == ["ag1"]
    t = own["ag1"]
    assert (t.lead_id, t.is_callback, t.callback_agent, t.callback_at) == ("mine", True, "ag1", NOW + 1800)
    assert (t.zone, taken.zone) == ("America/New_York", "America/New_York")  # for reports by local hour
    assert await h.take_own_callbacks(["ag1"], due) == {}  # taken: in flight, not handed out twice
    st = await h.status(due)
    assert st.in_flight == 2


async def test_after_the_campaigns_wait_an_agents_own_callback_is_anyones(redis: Redis, prefix: str) -> None:
    h = await scheduled(redis, prefix, personal_callback_wait_s=600)
    assert [t.lead_id for t in await h.take(5, NOW + 1800 + 599)] == ["anyone"]  # ag1's still waits for ag1
    [late] = await h.take(5, NOW + 1800 + 600)
    assert (late.lead_id, late.callback_agent) == ("mine", "ag1")  # any agent may call; the screen says whose


async def test_a_campaign_may_keep_own_callbacks_for_their_agent_for_ever(redis: Redis, prefix: str) -> None:
    h = await scheduled(redis, prefix, personal_callback_wait_s=None)
    week = NOW + 7 * 86400
    assert [t.lead_id for t in await h.take(5, week)] == ["anyone"]
    own = await h.take_own_callbacks(["ag1"], week)
    assert own["ag1"].lead_id == "mine"  # the earliest first
    own = await h.take_own_callbacks(["ag1"], week)
    assert own["ag1"].lead_id == "later"


async def test_an_agent_lists_the_callbacks_they_kept_earliest_first_until_one_is_taken(redis: Redis,
                                                                                         prefix: str) -> None:
    h = await scheduled(redis, prefix)
    listed = await h.own_callbacks("ag1")
    assert [(c.lead_id, c.at, c.number_e164) for c in listed] == [("mine", NOW + 1800, f"+1{NY1}"),
                                                                   ("later", NOW + 5400, f"+1{NY3}")]
    assert await h.own_callbacks("ag2") == []  # "anyone"'s is nobody's own
    assert [c.lead_id for c in await h.own_callbacks("ag1", limit=1)] == ["mine"]
    await h.take_own_callbacks(["ag1"], NOW + 1900)  # being dialed: off the list
    assert [c.lead_id for c in await h.own_callbacks("ag1")] == ["later"]


async def test_an_own_callback_given_back_stays_its_agents(redis: Redis, prefix: str) -> None:
    h = await scheduled(redis, prefix)
    due = NOW + 1900
    own = await h.take_own_callbacks(["ag1"], due)
    await h.give_back(own["ag1"], due, after_s=300)  # the agent skipped the preview
    assert await h.take_own_callbacks(["ag1"], due + 299) == {}
    assert [t.lead_id for t in await h.take(5, due + 300)] == ["anyone"]
    assert (await h.take_own_callbacks(["ag1"], due + 300))["ag1"].lead_id == "mine"


async def test_an_agent_moves_their_own_callback_in_time_or_hands_it_to_anyone(redis: Redis, prefix: str) -> None:
    h = await scheduled(redis, prefix)
    assert await h.move_callback("mine", NOW + 7200, "ag1", kept_for="ag2") == "not_yours"
    assert await h.move_callback("anyone", NOW + 7200, "ag1", kept_for="ag1") == "not_yours"  # nobody's own
    night = NOW + 15 * 3600  # 3:00 in New York
    # someone else's callback: "not yours", and nothing about its person's calling hours
    assert await h.move_callback("mine", night, "ag2", kept_for="ag2", now=NOW) == "not_yours"
    with pytest.raises(PolicyViolation):
        await h.move_callback("mine", night, "ag1", kept_for="ag1", now=NOW)
    assert await h.move_callback("mine", NOW + 3600, "ag1", kept_for="ag1") == "moved"
    assert [(c.lead_id, c.at) for c in await h.own_callbacks("ag1")] == [("mine", NOW + 3600), ("later", NOW + 5400)]
    assert await h.take_own_callbacks(["ag1"], NOW + 1900) == {}  # no longer due at its old time
    [t] = (await h.take_own_callbacks(["ag1"], NOW + 3600)).values()
    assert (t.lead_id, t.callback_at) == ("mine", NOW + 3600)  # the screen shows the new time
    assert await h.move_callback("mine", None, None, kept_for="ag1") == "not_scheduled"  # in flight now

    assert await h.move_callback("later", None, None, kept_for="ag1") == "moved"  # same time, for anyone
    assert await h.own_callbacks("ag1") == []
    assert [t.lead_id for t in await h.take(5, NOW + 5399)] == ["anyone"]
    assert [(t.lead_id, t.callback_agent) for t in await h.take(5, NOW + 5400)] == [("later", None)]


async def test_a_supervisor_moves_any_scheduled_callback_and_may_keep_one_for_an_agent(redis: Redis,
                                                                                      prefix: str) -> None:
    h = await scheduled(redis, prefix)
    assert await h.move_callback("anyone", NOW + 600, "ag2") == "moved"  # no owner check
    assert [(c.lead_id, c.at) for c in await h.own_callbacks("ag2")] == [("anyone", NOW + 600)]
    assert await h.move_callback("no-such-lead", NOW + 600, None) == "not_scheduled"
    assert await h.take(5, NOW + 700) == []  # ag2's now, until the campaign's wait has passed
    assert list(await h.take_own_callbacks(["ag2"], NOW + 700)) == ["ag2"]


async def test_an_agents_callbacks_are_found_behind_thousands_of_other_callbacks(redis: Redis, prefix: str) -> None:
    h = await scheduled(redis, prefix, personal_callback_wait_s=None)
    k = CampaignKeys(prefix, "c1")
    # 1,500 callbacks of others, all due before ag1's (the scripts once looked through the first 1,000 only)
    await redis.zadd(k.cb, {f"x{i}": NOW + 60 + i for i in range(1500)})
    pipe = redis.pipeline(transaction=False)
    for i in range(0, 1500, 2):
        pipe.hset(k.state(f"x{i}"), "cbag", "ag9")
    await pipe.execute()
    await h.move_callback("later", NOW + 86400, "ag1")
    assert [(c.lead_id, c.at) for c in await h.own_callbacks("ag1")] == [("mine", NOW + 1800), ("later", NOW + 86400)]
    assert [c.lead_id for c in await h.own_callbacks("ag1", limit=1)] == ["mine"]
    await h.take_own_callbacks(["ag1"], NOW + 1900)
    got = await h.take_own_callbacks(["ag1"], NOW + 86400)
    assert got["ag1"].lead_id == "later"


async def test_callbacks_scheduled_before_the_per_agent_index_are_indexed_once(redis: Redis, prefix: str) -> None:
    await scheduled(redis, prefix)
    k = CampaignKeys(prefix, "c1")
    await redis.delete(k.own("ag1"), k.p + "cbix")  # as a version without the index left them
    fresh = hopper(redis, campaign(), prefix)  # a daemon started on that data
    assert [c.lead_id for c in await fresh.own_callbacks("ag1")] == ["mine", "later"]
    assert await redis.zcard(k.own("ag1")) == 2
    assert (await fresh.take_own_callbacks(["ag1"], NOW + 1900))["ag1"].lead_id == "mine"


async def test_the_index_forgets_callbacks_that_left_their_agent(redis: Redis, prefix: str) -> None:
    h = await scheduled(redis, prefix, personal_callback_wait_s=600)
    k = CampaignKeys(prefix, "c1")
    assert await redis.zrange(k.own("ag1"), 0, -1) == [b"mine", b"later"]
    [anyone, mine] = await h.take(5, NOW + 2400)  # ag1's, 10 minutes late: any agent's now
    assert (anyone.lead_id, mine.lead_id) == ("anyone", "mine")
    assert await redis.zrange(k.own("ag1"), 0, -1) == [b"later"]
    await h.record_result(mine, DialResult("live", "callback", callback_at=NOW + 9000,  # type: ignore[arg-type]
                                           callback_agent="ag2"), NOW + 2500)  # the new one: ag2's
    assert [c.lead_id for c in await h.own_callbacks("ag2")] == ["mine"]
    await h.reassign_callbacks("ag1", "ag2")
    assert [c.lead_id for c in await h.own_callbacks("ag2")] == ["later", "mine"]
    assert await redis.exists(k.own("ag1")) == 0


async def test_the_status_tells_due_callbacks_that_wait_for_their_agent(redis: Redis, prefix: str) -> None:
    h = await scheduled(redis, prefix, personal_callback_wait_s=600)
    k = CampaignKeys(prefix, "c1")
    await redis.delete(k.r)  # nothing fresh left to dial: only the callbacks
    st = await h.status(NOW + 1900)  # ag1's "mine" and anyone's are due
    assert (st.state, st.callbacks_due, st.callbacks_kept_due) == ("ok", 2, 1)
    assert "1 of them waiting for the agent who kept them" in st.reason
    await h.take(5, NOW + 1900)  # the pacer takes anyone's
    st = await h.status(NOW + 1900)
    assert (st.state, st.callbacks_due, st.callbacks_kept_due) == ("blocked", 1, 1)
    assert "1 due callbacks wait for the agents who kept them for themselves (reassign them" in st.reason
    assert (await h.status(NOW + 1800 + 600)).callbacks_kept_due == 0  # the wait is over: anyone's now
