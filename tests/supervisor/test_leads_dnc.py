"""DNC management and lead imports through the API (the hopper's LeadStore underneath)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sup_fakes import AUTH, TOKENS, cli_runner, live_server, make_rig, settings

from dialer.config import CampaignSettings, PacingSettings
from dialer.hopper import LeadStore
from dialer.http import build_app
from pacing import Mode

SUP, RO, ADMIN = AUTH["supervisor"], AUTH["read-only"], AUTH["admin"]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "campaigns"


@pytest.fixture
async def leads_client(redis, tmp_path):
    text = (EXAMPLE / "base_upsell.toml").read_text().replace('id = "upsell-fiber"', 'id = "upsell"')
    (tmp_path / "upsell.toml").write_text(text)
    cfg = settings([CampaignSettings(id="upsell", file=tmp_path / "upsell.toml",
                                     pacing=PacingSettings(mode=Mode.POWER)),
                    CampaignSettings(id="nofile")])
    rig = make_rig(redis, cfg=cfg)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(rig.daemon)), base_url="http://x") as c:
        yield c, rig


async def test_dnc_add_check_and_report_bad_numbers(leads_client):
    c, rig = leads_client
    r = await c.post("/api/dnc", headers=SUP, json={"numbers": ["(212) 555-0142", "+44 20 7946 0958", "not a phone"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["added"], body["already"], body["rejected"]) == (2, 0, 1)
    assert body["errors"][0]["line"] == 3
    again = (await c.post("/api/dnc", headers=SUP, json={"numbers": ["+12125550142"]})).json()
    assert (again["added"], again["already"]) == (0, 1)
    check = (await c.get("/api/dnc/2125550142", headers=RO)).json()
    assert check == {"number": "+12125550142", "dnc": True, "campaign": None}
    assert (await c.get("/api/dnc/+13125550177", headers=RO)).json()["dnc"] is False
    store = LeadStore(rig.store.r, prefix=rig.store.prefix)
    assert await store.is_dnc("+442079460958")
    audit = (await c.get("/api/audit", headers=ADMIN)).json()
    assert (audit[0]["action"], audit[0]["details"]["added"]) == ("dnc.add", 0)


async def test_campaign_dnc_and_subscriber(leads_client):
    c, rig = leads_client
    r = await c.post("/api/dnc", headers=SUP, json={"numbers": ["+13125550177"], "campaign": "upsell"})
    assert r.json()["added"] == 1
    assert (await c.get("/api/dnc/+13125550177", headers=RO)).json()["dnc"] is False
    assert (await c.get("/api/dnc/+13125550177?campaign=upsell", headers=RO)).json()["dnc"] is True
    # a person's request is final across all campaigns: their numbers go on the global list too
    await c.post("/api/dnc", headers=SUP, json={"numbers": ["+13125550178"], "subscriber_id": "S1002"})
    assert await rig.store.r.sismember(f"{rig.store.prefix}:dncp", "subscriber:S1002")
    assert (await c.get("/api/dnc/+13125550178", headers=RO)).json()["dnc"] is True


DNC_ERRORS = [
    ("post", "/api/dnc", {"numbers": []}, 422),
    ("post", "/api/dnc", {"numbers": ["+12125550142"], "region": "XX"}, 422),
    ("post", "/api/dnc", {"numbers": ["+12125550142"], "campaign": "nope"}, 404),
    ("post", "/api/dnc", {"numbers": ["+12125550142"]}, None),
    ("get", "/api/dnc/abc", None, 422),
    ("get", "/api/dnc/12", None, 422),
    ("delete", "/api/dnc/+12125550142", None, 405),
]


async def test_dnc_errors(leads_client):
    c, rig = leads_client
    for method, path, body, status in DNC_ERRORS:
        headers = RO if status is None else SUP
        r = await c.request(method, path, headers=headers, **({"json": body} if body is not None else {}))
        assert r.status_code == (403 if status is None else status), (path, body, r.text)
    assert not await LeadStore(rig.store.r, prefix=rig.store.prefix).is_dnc("+12125550142")


async def test_import_csv_upload_and_json_rows(leads_client):
    c, rig = leads_client
    data = (EXAMPLE / "leads" / "base_upsell.csv").read_bytes() + b"b-bad,S9,No Phone,,,x,1,addr,NY01\n"
    r = await c.post("/api/campaigns/upsell/leads/upload?list_name=week1", headers={**SUP, "content-type": "text/csv"},
                     content=data)
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["rows"] == data.count(b"\n") - 1
    assert rep["rejected"] >= 1
    assert any("number" in e["reason"] for e in rep["errors"])
    assert rep["accepted"] == rep["rows"] - rep["rejected"] - rep["excluded"] - rep["removed_subscribers"] - \
        rep["skipped_duplicates"]
    store = LeadStore(rig.store.r, prefix=rig.store.prefix)
    assert await store.lead_count("upsell") == rep["new"]
    rows = {"rows": [{"id": "api-1", "mobile": "+12125550999", "name": "Ann", "arpu": 10}], "list_name": "crm"}
    r = await c.post("/api/campaigns/upsell/leads", headers=SUP, json=rows)
    assert (r.status_code, r.json()["new"]) == (200, 1)
    assert await store.lead_count("upsell") == rep["new"] + 1


IMPORT_ERRORS = [
    ("/api/campaigns/nofile/leads", {"json": {"rows": [{"id": "1"}]}}, 409, "no campaign file"),
    ("/api/campaigns/nope/leads", {"json": {"rows": [{"id": "1"}]}}, 404, "no campaign"),
    ("/api/campaigns/upsell/leads", {"json": {"rows": []}}, 422, "rows"),
    ("/api/campaigns/upsell/leads/upload", {"content": b"a,b\n1,2\n", "headers": {"content-type": "image/png"}},
     422, "Content-Type"),
    ("/api/campaigns/upsell/leads/upload", {"content": b"", "headers": {"content-type": "text/csv"}}, 422,
     "empty upload"),
]


async def test_import_errors(leads_client):
    c, rig = leads_client
    for path, kw, status, words in IMPORT_ERRORS:
        extra = dict(kw)
        headers = {**SUP, **extra.pop("headers", {})}
        r = await c.post(path, headers=headers, **extra)
        assert r.status_code == status, (path, r.text)
        assert words in r.text
    assert await LeadStore(rig.store.r, prefix=rig.store.prefix).lead_count("upsell") == 0


async def test_suppression_signals_apply_in_order_and_bad_ones_are_reported_by_position(leads_client):
    c, rig = leads_client
    r = await c.post("/api/suppressions", headers=SUP, json={"signals": [
        {"subject": "subscriber:S1001", "kind": "trouble_ticket"},
        {"subject": "subscriber:S1001", "kind": "teapot"},
        {"subject": "number:+12125550199", "kind": "bill_shock", "days": 30},
        {"subject": "number:+12125550199", "kind": "bill_shock", "action": "lift"},
        {"subject": "area:NY07", "kind": "degradation", "until": 4_102_444_800},
    ]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["applied"], body["rejected"]) == (4, 1)
    assert body["errors"][0]["item"] == 2
    assert "kind 'teapot'" in body["errors"][0]["reason"]
    assert (await c.get("/api/suppressions/subscriber:S1001", headers=RO)).json() == {
        "subject": "subscriber:S1001", "suppressions": {"trouble_ticket": None}}
    assert (await c.get("/api/suppressions/number:+12125550199", headers=RO)).json()["suppressions"] == {}
    assert (await c.get("/api/suppressions/area:NY07", headers=RO)).json()["suppressions"] == {
        "degradation": 4_102_444_800.0}
    assert (await c.get("/api/suppressions/customer:1", headers=RO)).status_code == 422
    assert (await c.post("/api/suppressions", headers=RO, json={"signals": [{}]})).status_code == 403
    assert (await c.post("/api/suppressions", headers=SUP, json={"signals": []})).status_code == 422
    reg = rig.daemon.metrics.registry
    assert reg.get_sample_value("dialer_suppression_signals_total", {"source": "api", "result": "refused"}) == 1.0


async def test_the_subscriber_base_loads_from_rows_and_csv_and_reconciles_cold_imports(leads_client):
    c, rig = leads_client
    store = LeadStore(rig.store.r, prefix=rig.store.prefix)
    r = await c.post("/api/subscribers", headers=SUP, json={"rows": [
        {"subject": "x"}, {"subscriber_id": "S7", "mobile": "(212) 555-0101"}]})
    assert r.status_code == 200, r.text
    assert (r.json()["current"], r.json()["rejected"], r.json()["errors"][0]["line"]) == (1, 1, 1)
    assert await store.subscriber_for("+12125550101") == "S7"
    csv_text = (EXAMPLE / "leads" / "subscriber_base.csv").read_bytes()
    up = await c.post("/api/subscribers/upload", headers={**SUP, "Content-Type": "text/csv"}, content=csv_text)
    assert up.status_code == 200, up.text
    assert up.json()["rows"] == len(csv_text.decode().strip().splitlines()) - 1
    assert await store.subscriber_for("+13125550177") == "S1002"
    gone = await c.post("/api/subscribers/upload", headers={**SUP, "Content-Type": "text/csv"},
                        content=b"subscriber_id,mobile,status\nS7,+12125550101,former\n")
    assert gone.json()["former"] == 1
    assert await store.subscriber_for("+12125550101") is None
    for headers, content, status in [({"Content-Type": "application/json"}, b"{}", 422),
                                     ({"Content-Type": "text/csv"}, b"", 422),
                                     ({"Content-Type": "text/csv"}, b"subscriber_id,mobile\nS8,\xff\xfe\n", 422)]:
        bad = await c.post("/api/subscribers/upload", headers={**SUP, **headers}, content=content)
        assert bad.status_code == status, bad.text


async def test_the_cli_imports_leads_and_the_base_and_sets_shows_and_lifts_suppressions(leads_client, tmp_path):
    import io

    from dialer.supervisor import cli

    _c, rig = leads_client
    async with live_server(build_app(rig.daemon)) as url:
        run = cli_runner(url, TOKENS["supervisor"])
        out = await run("leads", "import", "upsell", str(EXAMPLE / "leads" / "base_upsell.csv"), "--list-name", "nov")
        assert out.startswith("upsell/nov: ")
        out = await run("subscribers", "import", str(EXAMPLE / "leads" / "subscriber_base.csv"))
        assert out.startswith("subscriber base: ")
        assert await LeadStore(rig.store.r, prefix=rig.store.prefix).subscriber_for("+13125550177") == "S1002"
        stale = tmp_path / "former.csv"  # S9 once had the number S1002 holds now
        stale.write_text("subscriber_id,mobile,status\nS9,+13125550177,former\n")
        out = await run("subscribers", "import", str(stale))
        assert out == ("subscriber base: 1 rows, 0 current, 1 former (removed), 0 rejected, 1 former numbers kept "
                       "(another subscriber holds them now)\n"
                       "  line 2: +13125550177 now belongs to subscriber S1002: kept in the base\n")
        assert await LeadStore(rig.store.r, prefix=rig.store.prefix).subscriber_for("+13125550177") == "S1002"
        assert await run("suppress", "set", "subscriber:S1001", "trouble_ticket") == \
            "subscriber:S1001: trouble_ticket set\n"
        assert await run("suppress", "show", "subscriber:S1001") == "subscriber:S1001: trouble_ticket until lifted\n"
        await run("suppress", "set", "area:NY01", "degradation", "--until", "2099-12-01T18:00")
        assert "degradation until 2099-12-01 18:00" in await run("suppress", "show", "area:NY01")
        await run("suppress", "lift", "subscriber:S1001", "trouble_ticket")
        assert await run("suppress", "show", "subscriber:S1001") == "subscriber:S1001: no suppression in force\n"
        err = io.StringIO()
        code = await asyncio.to_thread(cli.main, ["suppress", "set", "subscriber:S1", "teapot", "--url", url,
                                                  "--token", TOKENS["supervisor"]], out=io.StringIO(), err=err)
        assert code == 1
        assert "kind 'teapot' must be one of" in err.getvalue()
        empty = tmp_path / "empty.csv"
        empty.write_text("")
        code = await asyncio.to_thread(cli.main, ["leads", "import", "upsell", str(empty), "--url", url,
                                                  "--token", TOKENS["supervisor"]], out=io.StringIO(), err=err)
        assert code == 1
        assert "empty.csv is empty" in err.getvalue()


async def test_suppressions_stopped_by_redis_say_which_are_in_and_which_to_send_again(leads_client, monkeypatch):
    from dialer.errors import StateStoreError
    from dialer.hopper import LeadStore as Store

    c, rig = leads_client
    real = Store.apply_signal
    calls = 0

    async def flaky(self, signal):  # Redis goes away at the third signal
        nonlocal calls
        calls += 1
        if calls == 3:
            raise StateStoreError("Redis did not answer within 2 s")
        await real(self, signal)

    monkeypatch.setattr(Store, "apply_signal", flaky)
    r = await c.post("/api/suppressions", headers=SUP, json={"signals": [
        {"subject": "subscriber:S7", "kind": "trouble_ticket"},
        {"subject": "subscriber:S7", "kind": "teapot"},
        {"subject": "subscriber:S8", "kind": "trouble_ticket"},
        {"subject": "subscriber:S9", "kind": "trouble_ticket"},
        {"subject": "subscriber:S9", "kind": "bill_shock"},
    ]})
    assert r.status_code == 503
    assert r.json()["detail"] == (
        "Redis did not take signal 4 (Redis did not answer within 2 s): signals 1 to 3 are done (2 applied, "
        "1 refused); send signals 4 to 5 again once Redis answers (applying one twice changes nothing)")
    assert (await c.get("/api/suppressions/subscriber:S8", headers=RO)).json()["suppressions"] == {
        "trouble_ticket": None}
    reg = rig.daemon.metrics.registry
    assert reg.get_sample_value("dialer_suppression_signals_total", {"source": "api", "result": "applied"}) == 2.0
    [entry] = [a for a in (await c.get("/api/audit", headers=AUTH["admin"])).json() if a["action"] == "suppressions"]
    assert (entry["details"]["applied"], entry["details"]["stopped_at"]) == (2, 4)
