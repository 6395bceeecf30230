"""POST /api/dnc with subscriber_id is the person's own request, final across all campaigns: it also marks the
person each number names (`number:<e164>`), so a lead of another campaign that knows them by that number only
(no account id) and has a second number is not dialed on either."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
from sup_fakes import AUTH, Rig

from dialer.campaigns import parse_campaign
from dialer.hopper import Hopper, LeadStore
from dialer.policy import ContactPolicy

NY1, NY2 = "+12125550142", "+12125550143"
T0 = datetime(2024, 5, 15, 12, tzinfo=ZoneInfo("America/New_York")).timestamp()


async def test_subscriber_dnc_blocks_a_number_only_lead_of_another_campaign(rig: Rig, client: httpx.AsyncClient):
    prefix = rig.store.prefix
    try:
        cold = parse_campaign({"id": "cb", "kind": "cold", "name": "cb", "caller_id_name": "Acme",
                               "caller_id_number": "+12125550100", "jurisdiction": "us", "require_consent": False})
        await LeadStore(rig.store.r, prefix=prefix).import_rows(cold, [{"mobile": NY1, "home": NY2, "id": "K1"}],
                                                                now=T0)
        hb = Hopper(rig.store.r, cold, ContactPolicy(cold), prefix=prefix)
        r = await client.post("/api/dnc", headers=AUTH["supervisor"], json={"numbers": [NY1], "subscriber_id": "S1"})
        assert r.status_code == 200, r.text
        marked = await rig.store.r.smembers(f"{prefix}:dncp")
        assert set(marked) == {"subscriber:S1", f"number:{NY1}"}
        await hb.fill(T0 + 60)
        assert [t.number_e164 for t in await hb.take(5, T0 + 60)] == []  # not on NY2 either
    finally:
        keys = [k async for k in rig.store.r.scan_iter(match=f"{prefix}:*")]
        if keys:
            await rig.store.r.delete(*keys)
