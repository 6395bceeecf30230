"""A relative campaign `file` or `script` in the config file is read from the config file's folder, not the
daemon's working directory: `cd /tmp && dialer run --config /path/examples/dialer.toml --check-config` could not
read `examples/campaigns/base_upsell.toml`. A path given through the API (`dialer campaign create --file`) is
the daemon's: its error names the absolute path tried."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.cli import main
from dialer.config import CampaignSettings, load_settings, settle_campaign
from dialer.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "dialer.toml"


def test_the_example_config_checks_from_any_working_directory(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    [campaign] = load_settings(EXAMPLE).campaigns
    assert campaign.file == ROOT / "examples" / "campaigns" / "base_upsell.toml"
    assert main(["run", "--config", str(EXAMPLE), "--check-config"]) == 0, capsys.readouterr().err


def test_relative_paths_are_read_from_the_config_files_folder_and_absolute_ones_as_they_are(tmp_path,
                                                                                            monkeypatch) -> None:
    (tmp_path / "etc").mkdir()
    cfg = tmp_path / "etc" / "dialer.toml"
    cfg.write_text('[[campaigns]]\nid = "a"\nfile = "campaigns/a.toml"\nscript = "../scripts/a.yaml"\n'
                   f'[[campaigns]]\nid = "b"\nfile = "{ROOT / "examples" / "campaigns" / "cold.toml"}"\n')
    monkeypatch.chdir(ROOT)
    a, b = load_settings(cfg).campaigns
    assert a.file == tmp_path / "etc" / "campaigns" / "a.toml"
    assert a.script == tmp_path / "etc" / ".." / "scripts" / "a.yaml"
    assert b.file == ROOT / "examples" / "campaigns" / "cold.toml"
    monkeypatch.chdir(tmp_path)
    [rel] = load_settings(Path("etc/dialer.toml")).campaigns[:1]
    assert rel.file == tmp_path / "etc" / "campaigns" / "a.toml"  # absolute, whatever the working directory


def test_a_campaign_file_given_through_the_api_is_the_daemons_and_its_error_says_the_path_tried(tmp_path,
                                                                                                 monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as err:
        settle_campaign(CampaignSettings(id="x", file=Path("campaigns/x.toml")))
    assert str(tmp_path / "campaigns" / "x.toml") in str(err.value)
    assert "working directory" in str(err.value)
