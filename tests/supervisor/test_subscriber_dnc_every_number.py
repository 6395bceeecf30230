"""POST /api/dnc with subscriber_id is the subscriber's own request, final across all campaigns: every number
the subscriber has goes on the global list (the ones given, those of the subscriber's leads in any campaign,
those the subscriber base lists), and the subscriber's leads are finished as do-not-call, not only the
numbers the request names."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from sup_fakes import AUTH, Rig

from dialer.campaigns import parse_campaign
from dialer.campaigns.models import CampaignConfig
from dialer.hopper import Hopper, LeadStore
from dialer.policy import ContactPolicy

NY1, NY2, NY3, NY4, NY5, NY6, NY7 = (f"+121255501{n}" for n in range(41, 48))
T0 = datetime(2024, 5, 15, 12, tzinfo=ZoneInfo("America/New_York")).timestamp()
DNC = "do not call"


def cold(cid: str) -> CampaignConfig:
    return parse_campaign({"id": cid, "kind": "cold", "name": cid, "caller_id_name": "Acme",
                           "caller_id_number": "+12125550100", "jurisdiction": "us", "require_consent": False})


@pytest.fixture
async def two_campaigns(rig: Rig) -> AsyncIterator[tuple[LeadStore, Hopper, Hopper]]:
    """Campaign ca: K1 (S7, two numbers), K2 (S8). Campaign cb: K9 (S7, a third number), N4 (no account,
    a number the base lists for S7, and another), K5 (S8)."""
    prefix = rig.store.prefix
    store = LeadStore(rig.store.r, prefix=prefix)
    ca, cb = cold("ca"), cold("cb")
    await store.import_rows(ca, [{"mobile": NY1, "home": NY2, "id": "K1", "subscriber_id": "S7"},
                                 {"mobile": NY6, "id": "K2", "subscriber_id": "S8"}], now=T0)
    await store.import_rows(cb, [{"mobile": NY3, "id": "K9", "subscriber_id": "S7"},
                                 {"mobile": NY4, "home": NY7, "id": "N4"},
                                 {"mobile": NY5, "id": "K5", "subscriber_id": "S8"}], now=T0)
    await store.import_base_rows([{"subscriber_id": "S7", "mobile": NY4}, {"subscriber_id": "S8", "mobile": NY5}])
    try:
        yield (store, Hopper(rig.store.r, ca, ContactPolicy(ca), prefix=prefix),
               Hopper(rig.store.r, cb, ContactPolicy(cb), prefix=prefix))
    finally:
        keys = [k async for k in rig.store.r.scan_iter(match=f"{prefix}:*")]
        if keys:
            await rig.store.r.delete(*keys)


async def finished(store: LeadStore, campaign: str, lead: str) -> str | None:
    return (await store.lead_state(campaign, lead)).get("fn")


async def test_subscriber_dnc_marks_every_number_and_finishes_every_lead(rig: Rig, client: httpx.AsyncClient,
                                                                          two_campaigns):
    store, ha, hb = two_campaigns
    r = await client.post("/api/dnc", headers=AUTH["supervisor"], json={"numbers": [NY1], "subscriber_id": "S7"})
    assert r.status_code == 200, r.text
    prefix = rig.store.prefix
    assert set(await rig.store.r.smembers(f"{prefix}:dnc")) == {NY1, NY2, NY3, NY4}
    assert set(await rig.store.r.smembers(f"{prefix}:dncp")) == {"subscriber:S7", *(f"number:{n}" for n in
                                                                                    (NY1, NY2, NY3, NY4))}
    assert [await finished(store, c, lid) for c, lid in (("ca", "K1"), ("cb", "K9"))] == [DNC, DNC]
    assert [await finished(store, c, lid) for c, lid in (("ca", "K2"), ("cb", "N4"), ("cb", "K5"))] == [None] * 3
    assert await rig.store.r.hgetall(f"{prefix}:c:ca:fin") == {DNC: "1"}
    await ha.fill(T0 + 60)
    await hb.fill(T0 + 60)
    assert [t.number_e164 for t in await ha.take(5, T0 + 60)] == [NY6]
    assert [t.number_e164 for t in await hb.take(5, T0 + 60)] == [NY5]  # N4 neither on NY4 nor on NY7
    assert (await hb.status(T0 + 60)).finished_by_reason == {DNC: 2}  # K9 by the request, N4 by the fill's check
    assert r.json()["subscriber"] == {"subscriber_id": "S7", "numbers": [NY1, NY2, NY3, NY4],
                                      "leads_finished": [{"campaign_id": "ca", "lead_id": "K1"},
                                                         {"campaign_id": "cb", "lead_id": "K9"}],
                                      "leads_in_flight": [], "leads_already_finished": []}


async def test_a_lead_in_flight_is_left_to_its_dial_and_finished_at_its_next_check(rig: Rig,
                                                                                     client: httpx.AsyncClient,
                                                                                     two_campaigns):
    store, _ha, hb = two_campaigns
    await hb.fill(T0)
    [k9] = [t for t in await hb.take(5, T0) if t.lead_id == "K9"]  # on an agent's preview screen
    r = await client.post("/api/dnc", headers=AUTH["supervisor"], json={"numbers": [NY1], "subscriber_id": "S7"})
    assert await rig.store.r.sismember(f"{rig.store.prefix}:dnc", NY3)  # its dial is under way: not its numbers
    assert (await finished(store, "cb", "K9"), await finished(store, "ca", "K1")) == (None, DNC)
    body = r.json()["subscriber"]
    assert (body["leads_finished"], body["leads_in_flight"]) == ([{"campaign_id": "ca", "lead_id": "K1"}],
                                                                 [{"campaign_id": "cb", "lead_id": "K9"}])
    verdict = await hb.recheck(k9, T0 + 5)
    assert (verdict.ok, await finished(store, "cb", "K9")) == (False, DNC)
    again = (await client.post("/api/dnc", headers=AUTH["supervisor"],
                               json={"numbers": [NY1], "subscriber_id": "S7"})).json()["subscriber"]
    assert (again["leads_finished"], len(again["leads_already_finished"])) == ([], 2)
