"""`dialer leads import CAMPAIGN FILE` without --list-name names the list after the file, as
LeadStore.import_file does (cleaned to the names the API takes): every such import went into one list
"upload", so a wrong vendor file could not be paused alone and the lists' figures mixed files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sup_fakes import TOKENS, cli_runner, live_server, make_rig, settings

from dialer.config import CampaignSettings, PacingSettings
from dialer.http import build_app
from dialer.leads.files import list_name_of_file
from pacing import Mode

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "campaigns"


@pytest.mark.parametrize(("file", "name"), [
    ("leads-nov.csv", "leads-nov"),
    ("/tmp/x/Vendor May (v2).jsonl", "Vendor-May-v2"),
    ("week_1.2.CSV", "week_1.2"),
    ("Ärger.csv", "rger"),
    ("€€€.csv", "upload"),  # nothing left: the API's own default
    ("x" * 80 + ".csv", "x" * 64),
])
def test_the_default_list_name_is_the_files_cleaned(file: str, name: str) -> None:
    assert list_name_of_file(file) == name


async def test_cli_import_without_list_name_uses_the_files_name(redis, tmp_path) -> None:
    text = (EXAMPLE / "base_upsell.toml").read_text().replace('id = "upsell-fiber"', 'id = "upsell"')
    (tmp_path / "upsell.toml").write_text(text)
    rig = make_rig(redis, cfg=settings([CampaignSettings(id="upsell", file=tmp_path / "upsell.toml",
                                                         pacing=PacingSettings(mode=Mode.POWER))]))
    f = tmp_path / "vendor may.csv"
    shutil.copy(EXAMPLE / "leads" / "base_upsell.csv", f)
    async with live_server(build_app(rig.daemon)) as url:
        out = await cli_runner(url, TOKENS["supervisor"])("leads", "import", "upsell", str(f))
    assert out.startswith("upsell/vendor-may: "), out


async def test_import_file_names_the_list_as_the_cli_does(redis, tmp_path) -> None:
    # one file, one list name, whichever way it came in (it was "vendor may" here, "vendor-may" by the CLI)
    from dialer.campaigns.loader import load_campaign
    from dialer.hopper import LeadStore

    f = tmp_path / "vendor may.csv"
    shutil.copy(EXAMPLE / "leads" / "base_upsell.csv", f)
    store = LeadStore(redis, prefix="listname")
    report = await store.import_file(load_campaign(EXAMPLE / "base_upsell.toml"), f, now=1_795_000_000.0)
    assert report.summary().startswith("upsell-fiber/vendor-may: "), report.summary()
