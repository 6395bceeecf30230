"""`dialer dnc import FILE` sends every number of a file with several number columns (name,mobile,home),
not only the first column's, and reports a bad cell by its line and column."""

from __future__ import annotations

import asyncio
import io
import json

from sup_fakes import TOKENS, Rig, live_server

from dialer.hopper import LeadStore
from dialer.http import build_app
from dialer.supervisor import cli


async def test_cli_dnc_import_sends_every_number_column(rig: Rig, tmp_path):
    f = tmp_path / "dnc.csv"
    f.write_text("name,mobile,home\n"
                 "Mary Johnson,+12125550141,+12125550100\n"
                 "Ann Lee,junk,+13125550178\n"   # line 3: a bad mobile, a good home number
                 "Carl\n")                       # line 4: no number
    async with live_server(build_app(rig.daemon)) as url:
        def run(*extra: str) -> tuple[int, str, str]:
            out, err = io.StringIO(), io.StringIO()
            code = cli.main(["dnc", "import", str(f), "--url", url, "--token", TOKENS["supervisor"], *extra],
                            out=out, err=err)
            return code, out.getvalue(), err.getvalue()

        code, out, err = await asyncio.to_thread(run)
        code2, js, _ = await asyncio.to_thread(run, "--json")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "do-not-call: 3 added, 0 already listed, 2 rejected", out
    assert lines[1].startswith("  line 3, column 2 (mobile): 'junk'"), out
    assert lines[2].startswith("  line 4: no number in columns 2 (mobile), 3 (home) (the row has 1 field"), out
    store = LeadStore(rig.store.r, prefix=rig.store.prefix)
    for n in ("+12125550141", "+12125550100", "+13125550178"):
        assert await store.is_dnc(n), n
    got = json.loads(js)
    assert (code2, got["added"], got["already"], got["rejected"]) == (0, 0, 3, 2)
    assert [(e["line"], e["column"]) for e in got["errors"]] == [(3, "2 (mobile)"), (4, "2 (mobile), 3 (home)")]
