"""A lead upload reads the charset the request names (or ?encoding=), and tab- or ;-separated files."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sup_fakes import AUTH, make_rig, settings

from dialer.config import CampaignSettings, PacingSettings
from dialer.hopper import LeadStore
from dialer.http import build_app
from pacing import Mode

SUP = AUTH["supervisor"]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "campaigns"
ROWS = "id,name,mobile,arpu\nb1,José Núñez,+12125550142,40\nb2,Ann Lee,+12125550143,50\n"


@pytest.fixture
async def upload_client(redis, tmp_path):
    text = (EXAMPLE / "base_upsell.toml").read_text().replace('id = "upsell-fiber"', 'id = "upsell"')
    (tmp_path / "upsell.toml").write_text(text)
    power = PacingSettings(mode=Mode.POWER)
    cfg = settings([CampaignSettings(id="upsell", file=tmp_path / "upsell.toml", pacing=power)])
    rig = make_rig(redis, cfg=cfg)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(rig.daemon)), base_url="http://x") as c:
        yield c, LeadStore(rig.store.r, prefix=rig.store.prefix)


async def _upload(c: httpx.AsyncClient, data: bytes, content_type: str, query: str = "") -> httpx.Response:
    return await c.post(f"/api/campaigns/upsell/leads/upload?list_name=w1{query}",
                        headers={**SUP, "content-type": content_type}, content=data)


@pytest.mark.parametrize(("content_type", "query"), [
    ("text/csv; charset=windows-1252", ""),
    ('text/csv;charset="cp1252"', ""),
    ("text/csv; charset=utf-8", "&encoding=cp1252"),  # the query parameter wins
    ("text/csv", "&encoding=latin-1"),
])
async def test_the_named_encoding_is_read(upload_client, content_type: str, query: str) -> None:
    c, store = upload_client
    r = await _upload(c, ROWS.encode("cp1252"), content_type, query)
    assert r.status_code == 200, r.text
    assert (r.json()["new"], r.json()["rejected"]) == (2, 0), r.json()["errors"]
    lead = await store.get_lead("upsell", "b1")
    assert lead is not None
    assert lead.fields["name"] == "José Núñez"


async def test_an_unnamed_encoding_mismatch_says_what_the_api_accepts(upload_client) -> None:
    c, _ = upload_client
    r = await _upload(c, ROWS.encode("cp1252"), "text/csv")
    assert r.json()["rejected"] == 1
    reason = r.json()["errors"][0]["reason"]
    assert "charset=windows-1252" in reason
    assert "?encoding=cp1252" in reason


@pytest.mark.parametrize("bad", ["no-such-codec", "rot13"])
async def test_an_unknown_encoding_is_refused_before_reading(upload_client, bad: str) -> None:
    c, store = upload_client
    r = await _upload(c, ROWS.encode(), "text/csv", f"&encoding={bad}")
    assert r.status_code in (400, 422), r.text
    assert "is not a text encoding" in r.text
    r = await _upload(c, ROWS.encode(), f"text/csv; charset={bad}")
    assert r.status_code in (400, 422), r.text
    assert await store.lead_count("upsell") == 0


@pytest.mark.parametrize(("content_type", "sep"), [
    ("text/tab-separated-values", "\t"),
    ("text/csv", "\t"),
    ("text/csv", ";"),
])
async def test_tab_and_semicolon_separated_uploads_are_read(upload_client, content_type: str, sep: str) -> None:
    c, store = upload_client
    r = await _upload(c, ROWS.replace(",", sep).encode(), content_type)
    assert r.status_code == 200, r.text
    assert (r.json()["new"], r.json()["rejected"]) == (2, 0), r.json()["errors"]
    lead = await store.get_lead("upsell", "b2")
    assert lead is not None
    assert lead.fields["arpu"] == "50"
