"""The wallboard snapshot and the supervisor metrics it refreshes (same numbers, campaign labels only)."""

from __future__ import annotations

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sup_fakes import AFTERNOON, AUTH, make_rig, scene, settings

from dialer.config import CampaignSettings, PacingSettings
from dialer.supervisor.context import Ctx
from pacing import Mode

NEW = {"dialer_calls_talking", "dialer_campaign_paused", "dialer_pacing_ratio", "dialer_pacing_target_abandon_ratio",
       "dialer_pacing_blocked", "dialer_pacing_changes", "dialer_abandon_ratio_15m", "dialer_abandon_ratio_today",
       "dialer_abandon_ratio_24h", "dialer_abandon_ratio_30d", "dialer_abandon_cap_ratio", "dialer_contacts_per_hour",
       "dialer_sales_per_hour", "dialer_sales", "dialer_callbacks_waiting_for_agent", "dialer_supervisor_spy_sessions"}


@pytest.fixture
async def ctx(redis):
    cfg = settings([CampaignSettings(id="upsell", pacing=PacingSettings(mode=Mode.POWER, ratio=1.5)),
                    CampaignSettings(id="winback", pacing=PacingSettings(mode=Mode.PREDICTIVE))])
    rig = make_rig(redis, cfg=cfg, start=AFTERNOON)
    scene(rig)
    await rig.flush()
    return rig, Ctx.build(rig.daemon)


def samples(rig) -> dict[tuple[str, tuple], float]:
    out = {}
    for fam in text_string_to_metric_families(generate_latest(rig.daemon.metrics.registry).decode()):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def test_snapshot_figures_and_metrics_agree(ctx):
    rig, c = ctx
    snap = await c.board.snapshot()
    up, wb = snap["campaigns"]
    assert (up["id"], up["calls"]["connected"], up["calls"]["ringing"]) == ("upsell", 7, 5)
    assert up["hopper"]["depth"] == 180
    assert wb["hopper"]["blocked"] == "hopper empty"
    assert up["abandon"]["cap"] == 0.03
    assert up["abandon"]["legal_window"] == "30d"
    assert up["abandon"]["15m"] > 0.03 > up["abandon"]["today"] > 0
    assert up["ledger"] is not None
    assert up["last_hour"]["sales"] > 0
    assert {a["state"] for a in snap["agents"]} == {"talking", "wrapup", "ready", "paused"}
    # each agent's own day: every contact and sale of the day is some logged-in agent's
    assert sum(a["contacts_today"] for a in snap["agents"]) == up["today"]["contacts"] > 0
    assert sum(a["sales_today"] for a in snap["agents"]) == up["today"]["sales"] > 0
    assert len({a["contacts_today"] for a in snap["agents"] if a["campaign"] == "upsell"}) > 1
    busiest = max(snap["agents"], key=lambda a: a["contacts_today"])
    assert c.board.tally.agent_today(busiest["id"], snap["now"] + 86400) == (0, 0)  # tomorrow starts at nothing
    m = samples(rig)
    lab = (("campaign", "upsell"),)
    assert m[("dialer_calls_talking", lab)] == 7
    assert m[("dialer_pacing_ratio", lab)] == 1.5
    assert m[("dialer_abandon_ratio_15m", lab)] == pytest.approx(up["abandon"]["15m"])
    assert m[("dialer_abandon_ratio_today", lab)] == pytest.approx(up["abandon"]["today"])
    assert m[("dialer_contacts_per_hour", lab)] == up["last_hour"]["contacts"]
    assert m.get(("dialer_sales_total", lab), 0) == 0  # the scene's sales were disposed before the tally started
    assert m[("dialer_pacing_blocked", (("campaign", "winback"),))] == 1
    assert m[("dialer_campaign_paused", lab)] == 0
    # the new metrics carry the campaign label and nothing else
    for (name, labels), _v in m.items():
        base = name.removesuffix("_total").removesuffix("_created")
        if base in NEW:
            assert [k for k, _ in labels] == ["campaign"], name


async def test_the_tally_reads_each_record_once(ctx):
    from sup_fakes import record

    rig, c = ctx
    before = (await c.board.snapshot())["campaigns"][0]["today"]["abandoned"]
    seen = c.tally.entries
    await c.board.snapshot()
    assert c.tally.entries == seen
    rig.store.append_call_record(record("late", ended_at=rig.clock.now(), abandoned=True, outcome="abandoned",
                                        talk=None))
    await rig.flush()
    after = (await c.board.snapshot())["campaigns"][0]["today"]["abandoned"]
    assert (c.tally.entries, after) == (seen + 1, before + 1)


async def test_snapshot_endpoint(client, rig):
    rig.login("a1", "1001")
    r = await client.get("/api/wallboard", headers=AUTH["read-only"])
    assert r.status_code == 200
    assert r.json()["agents"][0]["id"] == "a1"
    assert (await client.get("/api/wallboard")).status_code == 401
    page = await client.get("/wallboard")
    assert page.status_code == 200
    assert "wallboard.js" in page.text
    assert "http" not in page.text.replace("http-equiv", "")  # no CDN: every asset is served by the daemon
    js = await client.get("/supervisor/static/wallboard.js")
    assert js.headers["content-type"].startswith("text/javascript")
    assert (await client.get("/supervisor/static/secrets.txt")).status_code == 404


async def test_the_amd_audit_is_in_the_campaign_status_and_the_metrics(redis):
    import httpx

    from dialer.http import build_app

    pacing = PacingSettings(mode=Mode.PREDICTIVE, amd_audit_min_samples=5)
    cfg = settings([CampaignSettings(id="upsell", pacing=pacing)])
    rig = make_rig(redis, cfg=cfg, start=AFTERNOON)
    audit = rig.daemon.audits["upsell"]
    for person in (False, False, True, False, False):
        audit.record(person)
    audit.verdict_machines, audit.verdict_humans = 900, 1800
    rig.daemon.set_knobs("upsell", rig.engine.campaigns["upsell"].pacer.knobs)  # what a disposed audit does
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(rig.daemon)), base_url="http://x") as c:
        one = (await c.get("/api/campaigns/upsell", headers=AUTH["read-only"])).json()
        status = (await c.get("/api/status", headers=AUTH["read-only"])).json()
    view = one["amd_audit"]
    assert (view["share"], view["min_samples"], view["audited"], view["persons"]) == (0.02, 5, 5, 1)
    assert view["effective_false_positive"] == pytest.approx(audit.effective()) == one["pacing"]["amd_false_positive"]
    assert view["source"] == "audit"
    assert view["blocks_predictive"] is False  # a US campaign: the share only counts in UK windows
    assert status["campaigns"][0]["amd_audit"] == view
    m = samples(rig)
    lab = (("campaign", "upsell"),)
    assert (m[("dialer_amd_audited", lab)], m[("dialer_amd_audit_persons", lab)]) == (5, 1)
    assert m[("dialer_amd_false_positive_ratio", lab)] == pytest.approx(audit.effective())


async def test_an_amd_audit_call_is_no_contact_on_the_wallboard(redis):
    import dataclasses

    from sup_fakes import record

    from dialer.supervisor.tally import Tally

    rig = make_rig(redis, start=AFTERNOON)
    tally = Tally(rig.store)
    talked = record("c1", ended_at=AFTERNOON - 60)
    audited = dataclasses.replace(record("c2", ended_at=AFTERNOON - 30), human_at=None, amd_audit=True)
    for rec in (talked, audited):
        rig.record(rec)
    await rig.flush()
    await tally.refresh()
    fig = tally.figures("upsell", AFTERNOON)
    assert fig["last_hour"]["contacts"] == 1


async def test_an_agentless_call_is_no_live_answer_on_the_wallboard(redis):
    import dataclasses

    from sup_fakes import record

    from dialer.supervisor.tally import Tally

    rig = make_rig(redis, start=AFTERNOON)
    tally = Tally(rig.store)
    abandoned = record("c1", ended_at=AFTERNOON - 60, outcome="abandoned", abandoned=True, agent=None, talk=None)
    delivered = dataclasses.replace(record("c2", ended_at=AFTERNOON - 30, outcome="delivered", agent=None, talk=None),
                                    message="outage-notice")
    for rec in (abandoned, delivered):
        rig.record(rec)
    await rig.flush()
    await tally.refresh()
    fig = tally.figures("upsell", AFTERNOON)
    assert (fig["last_hour"]["dialed"], fig["last_hour"]["live"], fig["last_hour"]["abandoned"]) == (2, 1, 1)
