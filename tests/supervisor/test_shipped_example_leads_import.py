"""The shipped example's leads import into the shipped example's campaign, as docs/CAMPAIGNS.md says: the daemon
runs a campaign under its `[[campaigns]]` id, whatever its file's `id`. examples/dialer.toml's `base_upsell` entry
names examples/campaigns/base_upsell.toml, whose own id is `upsell-fiber`; the import routes refused it with 409
(`is for campaign 'upsell-fiber', not 'base_upsell'`) while the daemon ran it, so its hopper stayed empty."""

from __future__ import annotations

from pathlib import Path

from sup_fakes import TOKENS, cli_runner, live_server, make_rig, settings

from dialer.config import load_settings
from dialer.hopper import LeadStore
from dialer.http import build_app

ROOT = Path(__file__).resolve().parents[2]


async def test_the_example_leads_import_into_the_example_campaign_under_its_dialer_toml_id(redis) -> None:
    shipped = load_settings(ROOT / "examples" / "dialer.toml")
    [campaign] = shipped.campaigns
    assert campaign.file_config().id != campaign.id  # what this test is about
    rig = make_rig(redis, cfg=settings(shipped.campaigns))
    async with live_server(build_app(rig.daemon)) as url:
        out = await cli_runner(url, TOKENS["supervisor"])(
            "leads", "import", campaign.id, str(ROOT / "examples" / "campaigns" / "leads" / "base_upsell.csv"))
    assert " 0 rejected" in out, out
    store = LeadStore(rig.store.r, prefix=rig.store.prefix)
    assert await store.lead_count(campaign.id) == 8
    assert await store.lead_count(campaign.file_config().id) == 0  # not under the file's id, which nobody dials
