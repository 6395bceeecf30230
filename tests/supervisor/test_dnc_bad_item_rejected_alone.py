"""One junk item among the numbers of `POST /api/dnc` (a `-`, a blank, a note pasted into a number column)
is rejected by itself, by position, and the others are added: it was a 422 for the whole request (each item
had to be 3-32 characters), so `dialer dnc import` of a file with one such cell added nothing of the 10,000
numbers around it and named the request position, not the file's line."""

from __future__ import annotations

import asyncio
import io

import httpx
from sup_fakes import AUTH, TOKENS, Rig, live_server

from dialer.hopper import LeadStore
from dialer.http import build_app
from dialer.supervisor import cli

SUP = AUTH["supervisor"]


async def test_api_rejects_a_junk_item_alone(rig: Rig) -> None:
    long = "call me maybe " * 20  # 280 characters: reported by its length, not echoed
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(rig.daemon)), base_url="http://x") as c:
        r = await c.post("/api/dnc", headers=SUP, json={"numbers": ["+12125550142", "-", "", long, "+12125550143"]})
        # over DNC_CHARS, within [http] max_body_bytes (a larger body is a 413 before the route)
        too_big = await c.post("/api/dnc", headers=SUP, json={"numbers": ["1" * 500_001, "2" * 500_001]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["added"], body["already"], body["rejected"]) == (2, 0, 3), body
    assert [e["line"] for e in body["errors"]] == [2, 3, 4]
    assert "280 characters" in body["errors"][2]["reason"]
    assert len(body["errors"][2]["reason"]) < 200
    store = LeadStore(rig.store.r, prefix=rig.store.prefix)
    assert await store.is_dnc("+12125550142")
    assert await store.is_dnc("+12125550143")
    assert too_big.status_code == 422
    assert "split" in too_big.text


async def test_cli_dnc_import_with_a_junk_cell_adds_the_rest_and_names_its_line(rig: Rig, tmp_path) -> None:
    f = tmp_path / "dnc.csv"
    f.write_text("number,added\n+12125550142,2024-01-01\n-,2024-01-02\n+12125550143,2024-01-03\n")
    async with live_server(build_app(rig.daemon)) as url:
        out, err = io.StringIO(), io.StringIO()
        code = await asyncio.to_thread(cli.main, ["dnc", "import", str(f), "--url", url, "--token",
                                                  TOKENS["supervisor"]], out=out, err=err)
    assert code == 0, err.getvalue()
    lines = out.getvalue().splitlines()
    assert lines[0] == "do-not-call: 2 added, 0 already listed, 1 rejected", out.getvalue()
    assert lines[1].startswith("  line 3, column 1 (number): '-'"), out.getvalue()
    store = LeadStore(rig.store.r, prefix=rig.store.prefix)
    assert await store.is_dnc("+12125550142")
    assert await store.is_dnc("+12125550143")


def test_cli_dnc_batches_stay_within_the_api_bounds() -> None:
    assert cli._dnc_batches(["1"] * 5, most=2) == [(0, 2), (2, 4), (4, 5)]
    assert cli._dnc_batches(["12", "123", "1"], chars=4) == [(0, 1), (1, 3)]
    assert cli._dnc_batches(["x" * 10, "y"], chars=4) == [(0, 1), (1, 2)]  # a long item goes alone
    assert cli._dnc_batches([]) == []
