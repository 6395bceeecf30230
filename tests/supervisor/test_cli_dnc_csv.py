"""`dialer dnc import FILE` reads the file as CSV: a quoted name with a comma (as a spreadsheet writes
"Doe, Jane") keeps its column, and a row without a number, or with a bad one, is reported by its line."""

from __future__ import annotations

import asyncio
import io
import json

from sup_fakes import TOKENS, Rig, live_server

from dialer.hopper import LeadStore
from dialer.http import build_app
from dialer.supervisor import cli

CSV = ('name,number\n'
       '"Doe, Jane",+12125550142\n'   # line 2: the comma inside quotes is part of the name
       '\n'
       'Bob,+12125550143\n'           # line 4
       'Carl\n'                       # line 5: no number column at all
       '"Smith,\nAl",not a phone\n'   # lines 6-7: a quoted line break; a bad number
       'Dee,+12125550144\n')          # line 8


async def test_cli_dnc_import_reads_csv_quoting_and_reports_bad_rows_by_line(rig: Rig, tmp_path):
    f = tmp_path / "dnc.csv"
    f.write_text(CSV)
    async with live_server(build_app(rig.daemon)) as url:
        def run(*extra: str) -> tuple[int, str, str]:
            out, err = io.StringIO(), io.StringIO()
            code = cli.main(["dnc", "import", str(f), "--url", url, "--token", TOKENS["supervisor"], *extra],
                            out=out, err=err)
            return code, out.getvalue(), err.getvalue()

        code, out, err = await asyncio.to_thread(run)
        code2, js, _ = await asyncio.to_thread(run, "--json")
    assert code == 0, err  # as the other imports: the good rows are in, the bad ones listed
    lines = out.splitlines()
    assert lines[0] == "do-not-call: 3 added, 0 already listed, 2 rejected", out
    assert lines[1].startswith("  line 5: no number in column 2"), out
    assert lines[2].startswith("  line 6, column 2 (number): "), out
    store = LeadStore(rig.store.r, prefix=rig.store.prefix)
    for n in ("+12125550142", "+12125550143", "+12125550144"):
        assert await store.is_dnc(n), n
    got = json.loads(js)
    assert (code2, got["added"], got["already"], got["rejected"]) == (0, 0, 3, 2)
    assert [e["line"] for e in got["errors"]] == [5, 6]


async def test_cli_dnc_import_of_a_file_with_one_number_per_line(rig: Rig, tmp_path):
    f = tmp_path / "dnc.txt"
    f.write_text("\ufeff(212) 555-0145\n\n2125550146\n")  # a byte-order mark, as Excel saves UTF-8
    async with live_server(build_app(rig.daemon)) as url:
        out, err = io.StringIO(), io.StringIO()
        code = await asyncio.to_thread(cli.main, ["dnc", "import", str(f), "--url", url, "--token",
                                                  TOKENS["supervisor"]], out=out, err=err)
    assert (code, out.getvalue()) == (0, "do-not-call: 2 added, 0 already listed, 0 rejected\n"), err.getvalue()
