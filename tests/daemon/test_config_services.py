"""A config file that names one real service and leaves another out is refused, not run on a stand-in.

Every service defaults to its embedded stand-in (the demo needs no file), so before this a production file
without `[redis]` kept the DNC list and the ledger in a throwaway Redis, and one without `[ami]` dialed the
PBX simulator into the real Redis, each with no word said. `--check-config` also catches what `dialer run`
would refuse later (a campaign with no file) and warns of agents sharing a phone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.cli import main
from dialer.config import DialerSettings, check_agents, check_services, load_settings
from dialer.errors import ConfigError

CAMPAIGN = Path(__file__).resolve().parents[2] / "examples" / "campaigns" / "base_upsell.toml"


def config(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "d.toml"
    p.write_text(text + f"\n[[campaigns]]\nid = 'base_upsell'\nfile = '{CAMPAIGN}'\n")
    return p


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("[ami]\nhost = 'pbx1'\n", ("[redis] url is not set", "[mqtt] url is not set")),
        ("[redis]\nurl = 'redis://r:6379/0'\n[mqtt]\nurl = 'mqtt://m'\n", ("[ami] host is not set",)),
        ("[ami]\nhost = 'pbx1'\n[redis]\nurl = 'redis://r:6379/0'\n", ("[mqtt] url is not set",)),
    ],
)
def test_a_service_left_out_beside_a_real_one_is_refused_naming_it(tmp_path, capsys, text, missing):
    with pytest.raises(ConfigError) as err:
        check_services(load_settings(config(tmp_path, text)))
    for words in missing:
        assert words in str(err.value)
    assert str(err.value).count("is not set") == len(missing)
    assert main(["run", "--config", str(config(tmp_path, text)), "--check-config"]) == 1
    assert missing[0] in capsys.readouterr().err


def test_the_environment_names_a_service_as_well_as_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("DIALER_REDIS__URL", "redis://r:6379/0")
    monkeypatch.setenv("DIALER_MQTT__URL", "mqtt://m")
    assert check_services(load_settings(config(tmp_path, "[ami]\nhost = 'pbx1'\n"))) == []


def test_embedded_on_purpose_beside_a_real_service_runs_with_a_warning(tmp_path, capsys):
    text = "[ami]\nhost = 'pbx1'\n[redis]\nurl = 'embedded'\n[mqtt]\nurl = 'mqtt://m'\n"
    [warning] = check_services(load_settings(config(tmp_path, text)))
    assert warning.startswith("[redis] is embedded beside a real ami (pbx1)")
    assert "lost" in warning
    assert main(["run", "--config", str(config(tmp_path, text)), "--check-config"]) == 0
    assert "WARNING: [redis] is embedded" in capsys.readouterr().err


def test_all_embedded_is_quiet_and_settings_built_in_code_name_every_service(tmp_path):
    assert check_services(load_settings(config(tmp_path, ""))) == []
    built = check_services(DialerSettings(ami={"host": "pbx1"}))  # type: ignore[arg-type]
    assert [w.split(" is ")[0] for w in built] == ["[redis]", "[mqtt]"]


def test_check_config_refuses_a_campaign_without_a_file_as_run_would(tmp_path, capsys):
    p = tmp_path / "d.toml"
    p.write_text("[[campaigns]]\nid = 'x'\n")
    assert main(["run", "--config", str(p), "--check-config"]) == 1
    assert "campaign x: set `file`" in capsys.readouterr().err


def test_agents_sharing_a_phone_or_an_unknown_campaign_are_warned_of(tmp_path):
    text = ("[[agents]]\nid = 'a1'\nextension = '1001'\npassword = 'p'\n"
            "[[agents]]\nid = 'a2'\nextension = '1001'\npassword = 'p'\ncampaign = 'nope'\n"
            "[[agents]]\nid = 'a3'\nextension = '1003'\npassword = 'p'\ncampaign = 'base_upsell'\n")
    warnings = check_agents(load_settings(config(tmp_path, text)))
    assert len(warnings) == 2
    assert warnings[0].startswith("agents a1, a2 share extension 1001")
    assert warnings[1].startswith("agent a2: campaign 'nope' is not configured")
