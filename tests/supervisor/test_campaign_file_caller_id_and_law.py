"""A campaign's caller ID and abandon-rate law come from its campaign file where dialer.toml is silent.

The file requires both (its caller_id_number checked as a valid number), but the daemon read neither:
it dialed with `"Dialer" <0000>` (not a number the person can call back, as US and UK rules require) and
paced a `jurisdiction = "uk"` campaign under the US 30-day law, with no 24-hour window and no AMD false
positives counted. A campaign created through the API takes them from its file the same way.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sup_fakes import HookedDaemon, Rig, make_rig

from dialer.ami import actions
from dialer.cli import main
from dialer.config import CampaignSettings, check_campaign_files, load_settings, settle_campaign
from dialer.daemon import runtime_from_settings
from dialer.errors import ConfigError
from dialer.supervisor.control import Supervisor
from dialer.supervisor.errors import Invalid
from pacing import Jurisdiction

UK = """id = "uk-upsell"
kind = "base_upsell"
name = "UK upsell"
caller_id_name = "Acme"
caller_id_number = "020 7946 0000"
default_region = "GB"
jurisdiction = "uk"
"""


def files(tmp_path: Path, entry: str = "") -> Path:
    (tmp_path / "uk.toml").write_text(UK)
    cfg = tmp_path / "dialer.toml"
    cfg.write_text(f"[[campaigns]]\nid = 'uk-upsell'\nfile = '{tmp_path / 'uk.toml'}'\n{entry}")
    return cfg


def test_the_originate_shows_the_files_caller_id_and_the_ledger_keeps_its_law(tmp_path):
    cs = settle_campaign(load_settings(files(tmp_path, "[campaigns.pacing]\nmode = 'predictive'\n")).campaigns[0])
    runtime = runtime_from_settings(cs)
    originate = actions.originate(call_id="uk-upsell-1-abcdef", number="+442079460123", campaign="uk-upsell",
                                  lead_id="L1", timeout_ms=20000, caller_id_name=runtime.caller_id_name,
                                  caller_id_number=runtime.caller_id_number)
    assert dict(originate.as_dict())["CallerID"] == '"Acme" <+442079460000>'
    assert runtime.pacer.knobs.jurisdiction is Jurisdiction.UK
    assert cs.pacing.knobs().jurisdiction is Jurisdiction.UK  # what a supervisor's knob change rebuilds from


def test_dialer_toml_may_still_name_the_caller_id_and_check_config_says_which_is_used(tmp_path, capsys):
    cfg = files(tmp_path, "caller_id_number = '2079460001'\n")
    cs = settle_campaign(load_settings(cfg).campaigns[0])
    assert (cs.caller_id_name, cs.caller_id_number) == ("Acme", "2079460001")
    assert main(["run", "--config", str(cfg), "--check-config"]) == 0
    assert "dialer.toml's caller_id_number '2079460001' is dialed with" in capsys.readouterr().err


def test_a_jurisdiction_in_dialer_toml_that_contradicts_the_file_is_refused(tmp_path, capsys):
    cfg = files(tmp_path, "[campaigns.pacing]\njurisdiction = 'us'\n")
    with pytest.raises(ConfigError, match=r"jurisdiction = 'us' but its campaign file .* says 'uk'"):
        check_campaign_files(load_settings(cfg))
    assert main(["run", "--config", str(cfg), "--check-config"]) == 1
    assert "says 'uk'" in capsys.readouterr().err
    agreeing = settle_campaign(load_settings(files(tmp_path, "[campaigns.pacing]\njurisdiction = 'uk'\n")).campaigns[0])
    assert agreeing.pacing.jurisdiction is Jurisdiction.UK


@pytest.fixture
def hooked(redis: object) -> Rig:
    return make_rig(redis, daemon_cls=HookedDaemon)


async def test_a_campaign_created_through_the_api_takes_them_from_its_file(hooked: Rig, tmp_path):
    files(tmp_path)
    added: list[CampaignSettings] = []
    add = hooked.daemon.add_campaign

    async def spy(settings: CampaignSettings) -> None:
        added.append(settings)
        await add(settings)

    hooked.daemon.add_campaign = spy  # type: ignore[method-assign]
    await Supervisor(hooked.daemon).create(CampaignSettings(id="uk2", file=tmp_path / "uk.toml"))
    [settled] = added  # what the daemon builds the campaign's runtime from (runtime_from_settings)
    assert (settled.caller_id_name, settled.caller_id_number) == ("Acme", "+442079460000")
    assert hooked.engine.campaigns["uk2"].pacer.knobs.jurisdiction is Jurisdiction.UK
    wrong = CampaignSettings(id="uk3", file=tmp_path / "uk.toml", pacing={"jurisdiction": "us"})  # type: ignore[arg-type]
    with pytest.raises(Invalid, match="says 'uk'"):
        await Supervisor(hooked.daemon).create(wrong)


def test_a_uk_campaign_that_would_count_no_amd_false_positives_is_warned_of(tmp_path, capsys):
    cfg = files(tmp_path, "[campaigns.pacing]\namd_false_positive = 0\namd_audit_share = 0\n")
    assert main(["run", "--config", str(cfg), "--check-config"]) == 0
    assert "Ofcom's reasoned estimate" in capsys.readouterr().err
    assert main(["run", "--config", str(files(tmp_path, "[campaigns.pacing]\namd_false_positive = 0\n")),
                 "--check-config"]) == 0  # the audit measures it
    assert "Ofcom" not in capsys.readouterr().err
