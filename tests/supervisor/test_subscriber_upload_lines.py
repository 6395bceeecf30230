"""POST /api/subscribers/upload (also `dialer subscribers import`) names the file's line of a bad row: the header
is line 1, and a row starts on the line its first value is on."""

from __future__ import annotations

import httpx
from sup_fakes import AUTH, Rig

from dialer.hopper import LeadStore


async def test_upload_errors_name_the_file_line(rig: Rig, client: httpx.AsyncClient):
    prefix = rig.store.prefix
    try:
        body = (b'\xef\xbb\xbfSubscriber_ID,note,mobile\r\n'  # 1, with Excel's byte-order mark
                b'S1,"two\r\nlines",+12125550123\r\n'  # 2-3
                b'\r\n'  # 4: blank
                b'S2,x,not-a-number\r\n')  # 5
        r = await client.post("/api/subscribers/upload", headers={**AUTH["supervisor"], "Content-Type": "text/csv"},
                              content=body)
        assert r.status_code == 200, r.text
        out = r.json()
        assert (out["rows"], out["current"], out["rejected"]) == (2, 1, 1), out
        assert [e["line"] for e in out["errors"]] == [5], out
        assert await LeadStore(rig.store.r, prefix=prefix).subscriber_for("+12125550123") == "S1"
    finally:
        keys = [k async for k in rig.store.r.scan_iter(match=f"{prefix}:*")]
        if keys:
            await rig.store.r.delete(*keys)


async def test_upload_lists_a_former_row_whose_number_another_subscriber_holds(rig: Rig, client: httpx.AsyncClient):
    prefix = rig.store.prefix
    try:
        body = b"subscriber_id,mobile,status\nS-new,+12125550123,current\nS-old,+12125550123,former\n"
        r = await client.post("/api/subscribers/upload", headers={**AUTH["supervisor"], "Content-Type": "text/csv"},
                              content=body)
        assert r.status_code == 200, r.text
        out = r.json()
        assert (out["current"], out["former"], out["former_held"]) == (1, 1, 1), out
        assert out["skipped"][0]["line"] == 3
        assert "now belongs to subscriber S-new" in out["skipped"][0]["reason"]
        assert await LeadStore(rig.store.r, prefix=prefix).subscriber_for("+12125550123") == "S-new"
    finally:
        keys = [k async for k in rig.store.r.scan_iter(match=f"{prefix}:*")]
        if keys:
            await rig.store.r.delete(*keys)
