"""A lead the fill finishes at the attempt cap (FILL_PEEK's 'f' decision: a cap lowered in the campaign file
while leads wait in the retry queue) is listed in `capped`, as the take (`_finish`) and a result (`write_plan`)
list theirs. Once a campaign's first recycle has walked its leads (marker `capix`), a later recycle reads only
`capped`: before, raising the cap again never revived these leads."""

from __future__ import annotations

from hopper_helpers import at, campaign, hopper, store
from redis.asyncio import Redis

from dialer.policy import DialResult

NOW = at(2025, 6, 3, 10)


async def test_a_lead_the_fill_finishes_at_the_cap_can_be_recycled(redis: Redis, prefix: str) -> None:
    st = store(redis, prefix)
    c6 = campaign("c1", kind="cold", require_consent=False, retry={"max_attempts_total": 6})
    await st.import_rows(c6, [{"mobile": "+12125550123", "id": "a"}], now=NOW)
    h = hopper(redis, c6, prefix)
    assert (await h.recycle(NOW)).revived == 0  # a first recycle (a previous wave): the walk is done once
    await h.fill(NOW)
    (t,) = await h.take(1, NOW)
    await h.record_result(t, DialResult("no_answer"), NOW + 30)  # type: ignore[arg-type]
    later = NOW + 3 * 3600
    # the supervisor lowers the cap to 1 (restart): the waiting retry is finished at the cap by the fill
    c1 = campaign("c1", kind="cold", require_consent=False, retry={"max_attempts_total": 1})
    report = await hopper(redis, c1, prefix).fill(later)
    assert report.finished == {"attempts exhausted": 1}
    # ... and raises it again to give the leads their second wave
    got = await hopper(redis, c6, prefix).recycle(later + 60)
    assert got.revived == 1, f"the lead finished at the cap was not revived: {got}"
    assert (await h.explain("a", later + 60))["where"]["queue"] == "retry"
