"""A supervisor gives the leads that reached the attempt cap another round (API, CLI, audit)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sup_fakes import AUTH, TOKENS, cli_runner, live_server, make_rig, settings

from dialer.campaigns.loader import load_campaign
from dialer.config import CampaignSettings
from dialer.hopper import Hopper, LeadStore
from dialer.hopper_source import HopperLeadSource
from dialer.http import build_app
from dialer.leads.demo import load_demo_leads
from dialer.policy import DialResult
from dialer.policy.contact import ContactPolicy

CAMPAIGN = Path(__file__).resolve().parents[2] / "examples" / "campaigns" / "base_upsell.toml"
T0 = dt.datetime(2026, 11, 23, 13, 0, tzinfo=ZoneInfo("America/New_York")).timestamp()


async def rig_with_capped_leads(redis: Any) -> tuple[Any, str]:
    """Three leads dialed once without an answer under a cap of one attempt; the daemon's campaign allows two."""
    loaded = load_campaign(CAMPAIGN)
    one = loaded.model_copy(update={"retry": loaded.retry.model_copy(update={"max_attempts_total": 1})})
    two = loaded.model_copy(update={"retry": loaded.retry.model_copy(update={"max_attempts_total": 2})})
    rig = make_rig(redis, cfg=settings([CampaignSettings(id=loaded.id)]), start=T0)
    prefix = rig.store.prefix
    await load_demo_leads(LeadStore(redis, prefix=prefix), one, 3, 7, T0 - 3600)
    first = Hopper(redis, one, ContactPolicy(one), prefix=prefix)
    await first.fill(T0 - 3600)
    for t in await first.take(3, T0 - 3600):
        await first.record_result(t, DialResult("no_answer"), T0 - 3600)  # type: ignore[arg-type]
    rig.daemon.leads[loaded.id] = HopperLeadSource(Hopper(redis, two, ContactPolicy(two), prefix=prefix))
    return rig, loaded.id


async def test_a_supervisor_recycles_capped_leads_and_it_is_audited(redis):
    rig, cid = await rig_with_capped_leads(redis)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(rig.daemon)), base_url="http://x") as c:
        r = await c.post(f"/api/campaigns/{cid}/leads/recycle", headers=AUTH["read-only"])
        assert r.status_code == 403
        r = await c.post(f"/api/campaigns/{cid}/leads/recycle", headers=AUTH["supervisor"])
        assert r.json() == {"campaign_id": cid, "revived": 3, "still_capped": 0, "max_attempts_total": 2}
        r = await c.post(f"/api/campaigns/{cid}/leads/recycle", headers=AUTH["supervisor"])
        assert r.json()["revived"] == 0  # already due again
        audit = (await c.get("/api/audit", headers=AUTH["admin"])).json()
        assert [(a["action"], a["details"]["revived"]) for a in audit] == [("leads.recycle", 0), ("leads.recycle", 3)]
        r = await c.post("/api/campaigns/nope/leads/recycle", headers=AUTH["supervisor"])
        assert r.status_code == 404


async def test_the_cli_recycles_and_a_source_without_a_hopper_says_so(redis):
    rig, cid = await rig_with_capped_leads(redis)
    async with live_server(build_app(rig.daemon)) as url:
        out = await cli_runner(url, TOKENS["supervisor"])("leads", "recycle", cid)
        assert out == (f"{cid}: 3 lead(s) that had reached the attempt cap are due again (up to 2 attempts); "
                       "0 are at that cap still\n")
    plain = make_rig(redis)  # its campaign's leads come from an in-memory source
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(plain.daemon)),
                                 base_url="http://x") as c:
        r = await c.post("/api/campaigns/upsell/leads/recycle", headers=AUTH["supervisor"])
        assert (r.status_code, "Redis hopper" in r.json()["detail"]) == (409, True)
