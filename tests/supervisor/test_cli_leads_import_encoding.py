"""`dialer leads import ... --encoding cp1252` reads a Windows-encoded lead file as such: without it the
accented rows were rejected with advice to import the file with its encoding, which the CLI could not do."""

from __future__ import annotations

from pathlib import Path

from sup_fakes import TOKENS, cli_runner, live_server, make_rig, settings

from dialer.config import CampaignSettings, PacingSettings
from dialer.http import build_app
from pacing import Mode

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "campaigns"
ROWS = ("id,subscriber_id,name,mobile,tariff,arpu,address,area\r\n"
        "e-1,S901,Zoë Müller,(212) 555-0142,Internet 100,42.50,\"12 Oak St, New York, NY\",NY01\r\n"
        "e-2,S902,José Peña,(312) 555-0177,Internet 300,61.00,\"5 Lake Ave, Chicago, IL\",IL03\r\n")


async def test_cli_import_reads_the_file_in_the_encoding_given(redis, tmp_path) -> None:
    text = (EXAMPLE / "base_upsell.toml").read_text().replace('id = "upsell-fiber"', 'id = "upsell"')
    (tmp_path / "upsell.toml").write_text(text)
    rig = make_rig(redis, cfg=settings([CampaignSettings(id="upsell", file=tmp_path / "upsell.toml",
                                                         pacing=PacingSettings(mode=Mode.POWER))]))
    f = tmp_path / "vendor.csv"
    f.write_bytes(ROWS.encode("cp1252"))
    async with live_server(build_app(rig.daemon)) as url:
        run = cli_runner(url, TOKENS["supervisor"])
        as_utf8 = await run("leads", "import", "upsell", str(f), "--list-name", "first")
        out = await run("leads", "import", "upsell", str(f), "--encoding", "cp1252")
    assert "2 rejected" in as_utf8, as_utf8  # the bytes are not UTF-8: each accented row is refused
    assert "2 new" in out, out
    assert " 0 rejected" in out, out
