"""A number an agent types (manual dialing, `HopperLeadSource.check_number`) is refused while a take of the hopper
has it out being dialed (`<prefix>:out:<e164>`: a predictive dial, a preview on another agent's screen, in any
campaign sharing the prefix): the person would get two calls at once. The preview an agent is about to dial is
checked there too, naming itself (`own`): its own take's mark is not another dial. A number
the base gives to a subscriber who asked not to be called is refused as do-not-call."""

from __future__ import annotations

import pytest
from hopper_helpers import at, campaign, hopper, store
from redis.asyncio import Redis

from dialer.errors import PolicyViolation
from dialer.hopper_source import HopperLeadSource
from dialer.policy import DialResult

N, N2, OTHER = "+12125550171", "+12125550172", "+12125550179"
NOW = at(2025, 6, 3, 12)  # a Tuesday noon in New York: inside calling hours


async def _sources(redis: Redis, prefix: str) -> tuple[HopperLeadSource, HopperLeadSource]:
    a, b = campaign("ma"), campaign("mb")
    s = store(redis, prefix)
    await s.import_rows(a, [{"mobile": N, "home": N2, "id": "K1"}, {"mobile": OTHER, "id": "K2"}], now=NOW)
    return HopperLeadSource(hopper(redis, a, prefix)), HopperLeadSource(hopper(redis, b, prefix))


async def test_a_number_out_is_refused_with_whose_dial_it_is(redis: Redis, prefix: str) -> None:
    sa, sb = await _sources(redis, prefix)
    await sa.hopper.fill(NOW)
    taken = {t.lead_id: t for t in await sa.hopper.take(2, NOW)}
    for source in (sa, sb):  # the campaign's own agents, and another campaign's
        for number in (N, N2):  # every number of the lead is out: the person may answer on either
            with pytest.raises(PolicyViolation, match=r"being dialed right now \(lead K1 of campaign ma\)"):
                await source.check_number(number, NOW)
    await sa.hopper.record_result(taken["K1"], DialResult("busy"), NOW + 30)  # type: ignore[arg-type]
    await sb.check_number(N, NOW + 31)  # that call has ended


async def test_the_preview_being_dialed_is_its_own_take_and_no_other(redis: Redis, prefix: str) -> None:
    sa, _sb = await _sources(redis, prefix)
    await sa.depth(NOW)
    requests = {r.lead_id: r for r in await sa.take(2, NOW)}
    mine, other = requests["K1"], requests["K2"]
    await sa.recheck(mine, NOW)  # the agent pressed Dial: the daemon rechecks, then checks the number
    await sa.check_number(mine.number, NOW, own=mine)
    with pytest.raises(PolicyViolation, match="being dialed right now"):  # typed by hand, it is another dial
        await sa.check_number(mine.number, NOW)
    with pytest.raises(PolicyViolation, match=r"lead K2 of campaign ma"):  # another lead's number
        await sa.check_number(other.number, NOW, own=mine)


async def test_a_number_of_a_subscriber_who_asked_not_to_be_called_is_refused(redis: Redis, prefix: str) -> None:
    sa, _sb = await _sources(redis, prefix)
    s = store(redis, prefix)
    await s.import_base_rows([{"subscriber_id": "S7", "mobile": "+12125550181", "home": "+12125550182"}])
    await sa.check_number("+12125550182", NOW)
    await s.dnc_request("subscriber:S7", ["+12125550181"])  # the mobile only: the base names the home number
    with pytest.raises(PolicyViolation, match="do-not-call"):
        await sa.check_number("+12125550182", NOW)
