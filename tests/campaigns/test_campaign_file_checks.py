"""The daemon's start-up check of campaign files (`dialer.config.check_campaign_files`, run by `dialer run`
and `--check-config`): every file loads, and a follow-up naming a campaign that is not configured is
warned about (its leads would wait where nobody dials them)."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from dialer import cli
from dialer.config import CampaignSettings, DialerSettings, check_campaign_files, load_settings
from dialer.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def _settings(*campaigns: CampaignSettings) -> DialerSettings:
    return DialerSettings(campaigns=list(campaigns))


def test_example_config_warns_of_its_confirmation_campaign_until_it_is_uncommented(tmp_path: Path) -> None:
    # examples/dialer.toml runs base_upsell alone, whose sales' confirmation calls go to "confirm-order":
    # said at start; uncommenting the example's confirm-order entry configures it
    checked, warnings = check_campaign_files(load_settings(EXAMPLES / "dialer.toml"))
    assert checked == 1
    assert [w.split(":")[0] for w in warnings] == ["campaign base_upsell"]
    assert "'confirm-order', which is not configured" in warnings[0]
    lines = (EXAMPLES / "dialer.toml").read_text(encoding="utf-8").splitlines()
    start = lines.index('# id = "confirm-order"') - 1
    end = lines.index('# mode = "progressive"') + 1
    lines[start:end] = [line.removeprefix("# ") for line in lines[start:end]]
    enabled = tmp_path / "dialer.toml"  # its relative paths are read from its folder: give it the example's
    for folder in ("campaigns", "scripts"):
        (tmp_path / folder).symlink_to(EXAMPLES / folder)
    enabled.write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = load_settings(enabled)
    assert [c.id for c in settings.campaigns] == ["base_upsell", "confirm-order"]
    assert (settings.campaigns[1].amd, settings.campaigns[1].ring_timeout_s) == (True, 25.0)
    assert check_campaign_files(settings) == (2, [])


def test_follow_up_to_a_campaign_not_configured_is_warned_about() -> None:
    upsell = CampaignSettings(id="base_upsell", file=EXAMPLES / "campaigns" / "base_upsell.toml")
    checked, warnings = check_campaign_files(_settings(upsell))
    assert checked == 1
    [warning] = warnings
    assert "campaign base_upsell:" in warning
    assert "names campaign 'confirm-order', which is not configured (configured: base_upsell)" in warning
    assert "add a [[campaigns]] entry with id = 'confirm-order'" in warning
    confirm = CampaignSettings(id="confirm-order", file=EXAMPLES / "campaigns" / "confirmation.yaml")
    assert check_campaign_files(_settings(upsell, confirm)) == (2, [])


def test_bad_campaign_file_is_an_error_naming_the_campaign(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('id = "c"\nkind = "cold"\nname = "C"\ncaller_id_name = "A"\ncaller_id_number = "+12125550100"\n'
                 'jurisdiction = "us"\nring_timeout_s = 30\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        check_campaign_files(_settings(CampaignSettings(id="c", file=f)))
    assert str(info.value).startswith("campaign c: ")
    assert "ring_timeout_s is not read from a campaign file" in str(info.value)


def test_check_config_prints_the_warning(tmp_path: Path) -> None:
    cfg = tmp_path / "dialer.toml"
    cfg.write_text(f'[[campaigns]]\nid = "base_upsell"\nfile = "{EXAMPLES / "campaigns" / "base_upsell.toml"}"\n'
                   '[http]\nsession_secret = "not-the-built-in-one-7f3k"\n',  # the default is warned of too
                   encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        assert cli.main(["run", "--config", str(cfg), "--check-config"]) == 0
    assert out.getvalue().startswith("config OK: 1 campaign(s) (1 campaign file(s) loaded, 1 warning(s))")
    [warning] = err.getvalue().splitlines()
    assert warning.startswith("WARNING: campaign base_upsell: ")
