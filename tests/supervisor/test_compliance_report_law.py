"""The compliance report as the law reads it: the worst rolling 24 hours reach back before the report's window
(the 24 hours before `since` are read as history), and a UK campaign's rates count the estimated AMD false
positives as the pacer's ledger does, the plain rate beside them; the wallboard's legal 24-hour gauge too."""

from __future__ import annotations

import uuid
from dataclasses import replace

import httpx
from sup_fakes import AUTH, make_rig, record, settings

from dialer.config import CampaignSettings, PacingSettings
from dialer.http import build_app
from dialer.supervisor import reports as rp
from dialer.supervisor.context import Ctx
from dialer.supervisor.tally import local_midnight
from pacing import Jurisdiction, Mode
from pacing.ledger import ComplianceLedger, LedgerEntry, LedgerEntryKind

RO = AUTH["read-only"]


async def compliance(client: httpx.AsyncClient, **params: object) -> dict:
    r = await client.get("/api/reports/compliance", headers=RO, params={"campaign": "upsell", **params})
    assert r.status_code == 200, r.text
    [row] = r.json()["report"]
    return row


async def test_worst_24h_reaches_back_before_since(rig, client):
    midnight = local_midnight(rig.clock.now())
    # yesterday evening: 400 live answers, the first abandoned (the 24 hours ending there: 100 %, not today's)
    rig.record(record("y0", ended_at=midnight - 4 * 3600, outcome="abandoned", abandoned=True, talk=None, lead="Y0"))
    for i in range(1, 400):
        rig.record(record(f"y{i}", ended_at=midnight - 4 * 3600 + 30 * i, lead=f"Y{i}"))
    t0 = midnight + 60  # the first live answer of the day is abandoned, then 99 connected
    rig.record(record("t0", ended_at=t0, outcome="abandoned", abandoned=True, talk=None, lead="T0"))
    for i in range(1, 100):
        rig.record(record(f"t{i}", ended_at=t0 + 20 * i, lead=f"T{i}"))
    await rig.flush()
    row = await compliance(client)  # default: today
    assert (row["live"], row["abandoned"]) == (100, 1)  # the window's own counts are the window's
    assert row["worst_24h"] == 2 / 401  # the 24 hours ending at that abandon hold yesterday's 400 too
    assert row["worst_24h_ends_at"] == t0  # a window ending yesterday is not one of today's
    assert [d["day"] for d in row["days"]] == [rp._day(t0)]  # yesterday is not reported, only read


async def test_worst_24h_does_not_depend_on_since_and_ends_inside_the_window(rig, client):
    midnight = local_midnight(rig.clock.now())
    for i in range(400):
        rig.record(record(f"y{i}", ended_at=midnight - 7200 + 10 * i, lead=f"Y{i}"))
    t0 = midnight + 60
    rig.record(record("t0", ended_at=t0, outcome="abandoned", abandoned=True, talk=None, lead="T0"))
    await rig.flush()
    today = await compliance(client, since=midnight)
    wide = await compliance(client, since=midnight - 86400)
    assert today["worst_24h"] == wide["worst_24h"] == 1 / 401
    assert today["worst_24h_ends_at"] == wide["worst_24h_ends_at"] == t0


def test_history_only_fills_the_windows():
    recs = [record("t0", ended_at=100_000.0, outcome="abandoned", abandoned=True, talk=None)]
    hist = [record("y0", ended_at=10_000.0, outcome="abandoned", abandoned=True, talk=None),
            record("y1", ended_at=10_010.0)]
    [row] = rp.abandon_compliance(recs, history=hist)
    assert (row["live"], row["abandoned"], row["rate"]) == (1, 1, 1.0)
    assert row["worst_24h"] == 1.0  # y0 left the 24 hours before t0
    assert rp.abandon_compliance([], history=hist) == []  # history alone makes no row


def uk_rig(redis: object, f: float = 0.01):
    cfg = settings([CampaignSettings(id="uk", amd=True, pacing=PacingSettings(
        mode=Mode.PREDICTIVE, jurisdiction=Jurisdiction.UK, amd_false_positive=f))])
    return make_rig(redis, cfg=cfg, prefix=f"suptest-uk-{uuid.uuid4().hex[:8]}")


async def test_uk_rates_count_the_estimated_amd_false_positives_as_the_ledger_does(redis):
    rig = uk_rig(redis)
    now = rig.clock.now()
    t0 = max(local_midnight(now), now - 3 * 3600) + 60
    ledger = ComplianceLedger(Jurisdiction.UK, 0.03, amd_false_positive=0.01)
    for i in range(100):  # 100 live answers AMD screened (HUMAN), the last 3 abandoned: 3.00 % plain
        ab = i >= 97
        rec = record(f"u{i}", campaign="uk", ended_at=t0 + 30 * i, outcome="abandoned" if ab else "connected",
                     abandoned=ab, talk=None if ab else 20.0, lead=f"L{i}")
        rig.record(rec)
        ledger.apply(LedgerEntry(rec.human_at, LedgerEntryKind.SCREENED))
        ledger.apply(LedgerEntry(rec.human_at, LedgerEntryKind.ABANDONED if ab else LedgerEntryKind.LIVE))
    await rig.flush()
    law = ledger.status(t0 + 3000 + 60).rate
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(rig.daemon)),
                                 base_url="http://dialer") as client:
        r = await client.get("/api/reports/compliance", headers=RO, params={"campaign": "uk"})
        csv_text = (await client.get("/api/reports/compliance", headers=RO,
                                     params={"campaign": "uk", "format": "csv"})).text
    [row] = r.json()["report"]
    assert (row["live"], row["abandoned"], row["screened"]) == (100, 3, 100)
    assert (row["jurisdiction"], row["amd_false_positive"]) == ("uk", 0.01)
    assert abs(row["false_positives"] - 100 * 0.01 / 0.99) < 1e-9
    assert abs(row["worst_24h"] - law) < 1e-9  # 3.97 %: over the cap
    assert abs(row["rate"] - law) < 1e-9
    assert (row["rate_plain"], row["worst_24h_plain"]) == (0.03, 0.03)  # inside it, shown beside
    assert row["days_over_cap"] == [rp._day(t0)]
    assert abs(row["days"][0]["rate"] - law) < 1e-9
    assert row["days"][0]["rate_plain"] == 0.03
    assert "rate_plain" in csv_text.splitlines()[0]
    # the wallboard's legal gauge (and dialer_abandon_ratio_24h) reads the same figure
    ab = (await Ctx.build(rig.daemon).board.snapshot())["campaigns"][0]["abandon"]
    assert ab["legal_window"] == "24h"
    assert abs(ab["24h"] - law) < 1e-9, ab
    assert ab["24h_plain"] == 0.03


async def test_a_us_campaign_and_unscreened_answers_bring_no_false_positives(rig, client, redis):
    t0 = max(local_midnight(rig.clock.now()), rig.clock.now() - 3 * 3600) + 60
    for i in range(10):
        ab = i == 9
        rig.record(record(f"c{i}", ended_at=t0 + i, abandoned=ab, outcome="abandoned" if ab else "connected",
                          lead=f"L{i}"))
    await rig.flush()
    row = await compliance(client)
    assert (row["jurisdiction"], row["rate"], row["rate_plain"], row["worst_24h"]) == ("us", 0.1, 0.1, 0.1)
    assert row["false_positives"] == 0.0
    # AMD off (SKIPPED): nothing screened, no false positive even for a UK campaign
    recs = [replace(record(f"s{i}", campaign="uk", ended_at=t0 + i, abandoned=i == 9), amd_status="SKIPPED")
            for i in range(10)]
    [uk] = rp.abandon_compliance(recs, law={"uk": (Jurisdiction.UK, 0.01)})
    assert (uk["screened"], uk["rate"], uk["worst_24h"]) == (0, 0.1, 0.1)
