"""`dialer leads show CAMPAIGN LEAD` takes a phone number as well as a lead id: a lead imported without an `id`
has the id `n<its first number's E.164 digits>` (`s-<subscriber_id>` with a subscriber), which nothing said, so an
operator holding the number could not find the lead. A lead not found names the rule."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sup_fakes import TOKENS, live_server, make_rig, settings

from dialer.campaigns.loader import load_campaign
from dialer.config import CampaignSettings
from dialer.hopper import Hopper, LeadStore
from dialer.hopper_source import HopperLeadSource
from dialer.http import build_app
from dialer.policy.contact import ContactPolicy
from dialer.supervisor import cli

CAMPAIGN = Path(__file__).resolve().parents[2] / "examples" / "campaigns" / "base_upsell.toml"
T0 = dt.datetime(2026, 11, 23, 13, 0, tzinfo=ZoneInfo("America/New_York")).timestamp()


async def _rig(redis: Any) -> tuple[Any, str]:
    loaded = load_campaign(CAMPAIGN)
    rig = make_rig(redis, cfg=settings([CampaignSettings(id=loaded.id)]), start=T0)
    store = LeadStore(redis, prefix=rig.store.prefix)
    rows = [{"mobile": "+1 415 555 0123", "first_name": "Pat"},
            {"subscriber_id": "S77", "mobile": "+1 415 555 0124", "first_name": "Sam"}]
    report = await store.import_rows(loaded, rows, now=T0 - 3600)
    assert report.accepted == 2, report
    hopper = Hopper(redis, loaded, ContactPolicy(loaded), prefix=rig.store.prefix)
    rig.daemon.leads[loaded.id] = HopperLeadSource(hopper)
    return rig, loaded.id


async def test_leads_show_finds_a_lead_by_its_number_and_by_its_derived_ids(redis: Any) -> None:
    rig, cid = await _rig(redis)
    async with live_server(build_app(rig.daemon)) as url:
        def run(lead: str) -> tuple[int, str, str]:
            out, err = io.StringIO(), io.StringIO()
            code = cli.main(["leads", "show", cid, lead, "--url", url, "--token", TOKENS["supervisor"]],
                            out=out, err=err)
            return code, out.getvalue(), err.getvalue()

        by_number = await asyncio.to_thread(run, "+1 (415) 555-0123")
        by_id = await asyncio.to_thread(run, "n14155550123")
        by_subscriber = await asyncio.to_thread(run, "s-S77")
        unknown = await asyncio.to_thread(run, "+14155550199")
        national = await asyncio.to_thread(run, "4155550123")
    assert by_number[0] == 0, by_number[2]
    assert by_number[1].startswith(f"lead n14155550123 ({cid}): ")
    assert by_number[1] == by_id[1]
    assert by_subscriber[0] == 0, by_subscriber[2]
    assert by_subscriber[1].startswith(f"lead s-S77 ({cid}): ")
    for code, _out, err in (unknown, national):
        assert code == 1
        assert "a lead imported without an id is s-<subscriber_id> when its row has one, else n and the " \
               "E.164 digits of its first valid number (n14155550123)" in err, err
        assert "give a number as +<country code><number>" in err, err
