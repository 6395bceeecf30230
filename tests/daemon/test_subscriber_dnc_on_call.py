"""A do-not-call request made on a call (the desk's DNC button, a key-press opt-out; a dnc disposition goes the
same way) reaches every number of the subscriber, as the supervisors' POST /api/dnc with subscriber_id does.

The subscriber S7 is called in campaign `ua` on their mobile (their lead names the account); campaign `ub`
knows them by the home number only, with no account column, and the operator's subscriber base says that
home number is S7's. Before, the request marked the dialed lead's numbers and the account, and `ub` dialed
the home number the next day."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from daemon_fakes import one_campaign_daemon, running

from dialer.campaigns import CampaignConfig, parse_campaign
from dialer.daemon import Daemon
from dialer.engine.commands import Originate, RecordOptOut
from dialer.engine.core import DialRequest
from dialer.hopper import Hopper, LeadStore
from dialer.leadsource import InMemoryLeadSource
from dialer.policy import ContactPolicy

M, H = "+12125550141", "+12125550142"
LIMIT = 10.0  # real seconds: only turns a hang into a failure


def at(day: int, hour: int = 12) -> float:
    return datetime(2024, 5, day, hour, tzinfo=ZoneInfo("America/New_York")).timestamp()


def campaign(cid: str, **over: Any) -> CampaignConfig:
    return parse_campaign({"id": cid, "kind": "base_upsell", "name": cid, "caller_id_name": "Acme",
                           "caller_id_number": "+12125550100", "jurisdiction": "us", **over})


async def subscriber_s7(client: Any, prefix: str) -> Hopper:
    """S7's lead K1 in `ua` (mobile M, the account named), N4 in `ub` (home H only), the base listing both;
    returns `ub`'s hopper."""
    s = LeadStore(client, prefix=prefix)
    a, b = campaign("ua", offer="fiber"), campaign("ub", offer="tv")
    await s.import_rows(a, [{"mobile": M, "id": "K1", "subscriber_id": "S7"}], now=at(14), list_name="crm")
    await s.import_rows(b, [{"home": H, "id": "N4"}], now=at(14), list_name="tv-export")
    await s.import_base_rows([{"subscriber_id": "S7", "mobile": M, "home": H}])
    assert await s.subscriber_for(H) == "S7"
    return Hopper(client, b, ContactPolicy(b), prefix=prefix)


async def settled(d: Daemon) -> None:
    async with asyncio.timeout(LIMIT):
        while d._pending:
            await asyncio.gather(*d._pending)


async def dialed_next_day(hb: Hopper) -> list[str]:
    await hb.fill(at(16))
    return [t.number_e164 for t in await hb.take(5, at(16))]


async def test_the_desks_dnc_button_reaches_the_subscribers_base_listed_number(client):
    prefix = "subdnc1"
    hb = await subscriber_s7(client, prefix)
    d = one_campaign_daemon(client, prefix, InMemoryLeadSource(), at(15), campaign="ua")
    async with running(d):
        now = d.clock.now()
        [o] = [c for c in d.engine.launch("ua", [DialRequest("K1", M)], now) if isinstance(c, Originate)]
        await d.request_dnc(o.call_id, "a1", "asked on the call")
        await settled(d)  # the walk of the subscriber's numbers, in a task of its own
    assert await LeadStore(client, prefix=prefix).is_dnc(H)
    assert await dialed_next_day(hb) == []


async def test_a_key_press_opt_out_reaches_them_too(client):
    prefix = "subdnc2"
    hb = await subscriber_s7(client, prefix)
    d = one_campaign_daemon(client, prefix, InMemoryLeadSource(), at(15), campaign="ua")
    async with running(d):
        # after the abandon message of a call the daemon no longer knows (its lead names the person)
        d.execute([RecordOptOut("ua-1-abc123", "ua", "K1")], d.clock.now())
        await settled(d)
    assert await LeadStore(client, prefix=prefix).is_dnc(H)
    assert await dialed_next_day(hb) == []


async def test_a_person_who_is_no_subscriber_is_marked_as_before(client):
    prefix = "subdnc3"
    s = LeadStore(client, prefix=prefix)
    b = campaign("ub", offer="tv")
    await s.import_rows(campaign("ua", offer="fiber"), [{"mobile": M, "id": "K2"}], now=at(14), list_name="crm")
    await s.import_rows(b, [{"home": H, "id": "N4"}], now=at(14), list_name="tv-export")
    d = one_campaign_daemon(client, prefix, InMemoryLeadSource(), at(15), campaign="ua")
    async with running(d):
        [o] = [c for c in d.engine.launch("ua", [DialRequest("K2", M)], d.clock.now()) if isinstance(c, Originate)]
        await d.request_dnc(o.call_id, "a1", "")
        assert d._pending == set()  # no subscriber: nothing more to walk
    assert await s.is_dnc(M)
    assert await dialed_next_day(Hopper(client, b, ContactPolicy(b), prefix=prefix)) == [H]  # another person
