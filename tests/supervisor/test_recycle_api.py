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


async def test_a_supervisor_looks_up_one_lead_and_reads_why_it_is_not_dialed(redis):
    rig, cid = await rig_with_capped_leads(redis)
    src = rig.daemon.leads[cid]
    [lead_id, *_] = sorted([lid async for lid in LeadStore(redis, prefix=rig.store.prefix).iter_lead_ids(cid)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(rig.daemon)), base_url="http://x") as c:
        r = await c.get(f"/api/campaigns/{cid}/leads/{lead_id}", headers=AUTH["read-only"])
        assert r.status_code == 403  # numbers and fields: a supervisor's
        got = (await c.get(f"/api/campaigns/{cid}/leads/{lead_id}", headers=AUTH["supervisor"])).json()
        assert (got["where"], got["attempts"], got["verdict"]["block"], got["verdict"]["detail"]) == (
            {"queue": "finished", "reason": "attempts exhausted"}, 1, "finished", "attempts exhausted")
        r = await c.get(f"/api/campaigns/{cid}/leads/nope", headers=AUTH["supervisor"])
        assert (r.status_code, "does not exist" in r.json()["detail"]) == (404, True)
        r = await c.get(f"/api/campaigns/{cid}/leads/bad%20id", headers=AUTH["supervisor"])
        assert r.status_code == 422
    await src.recycle(T0)  # type: ignore[attr-defined]
    async with live_server(build_app(rig.daemon)) as url:
        out = await cli_runner(url, TOKENS["supervisor"])("leads", "show", cid, lead_id)
    lines = out.splitlines()
    assert lines[0].startswith(f"lead {lead_id} ({cid}): waiting to be retried from ")
    assert lines[1] == "  may be dialed now, on " + got["numbers"][0]["number"]
    assert lines[2] == "  attempts 1 (1 today), last outcome no_answer"
