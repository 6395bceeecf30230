"""A bad `DIALER_*` environment value is blamed on its variable, not on the config file: `DIALER_AMI__PORT=abc
dialer run --config etc/dialer.toml --check-config` said `etc/dialer.toml: setting ami.port: Input should be a
valid integer`, sending the operator to a file that is right."""

from __future__ import annotations

import pytest

from dialer.config import load_settings
from dialer.errors import ConfigError


@pytest.mark.parametrize("variable", ["DIALER_AMI__PORT", "dialer_ami__port"])
def test_a_bad_environment_value_names_its_variable(tmp_path, monkeypatch, variable: str) -> None:
    cfg = tmp_path / "dialer.toml"
    cfg.write_text("[ami]\nport = 5038\n")
    monkeypatch.setenv(variable, "abc")
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    text = str(err.value)
    assert text.startswith(f"environment variable {variable}: setting ami.port:"), text
    assert str(cfg) not in text


def test_a_bad_file_value_still_names_the_file(tmp_path, monkeypatch) -> None:
    cfg = tmp_path / "dialer.toml"
    cfg.write_text("hold_s = 9\n[ami]\nport = 5038\n")
    monkeypatch.setenv("DIALER_AMI__PORT", "5039")  # a good value in the environment is not blamed
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    assert str(err.value).startswith(f"{cfg}: setting hold_s:"), str(err.value)


def test_a_bad_list_given_whole_in_the_environment_names_its_variable(tmp_path, monkeypatch) -> None:
    cfg = tmp_path / "dialer.toml"
    cfg.write_text("")
    monkeypatch.setenv("DIALER_CAMPAIGNS", '[{"id": "bad id!"}]')
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    assert str(err.value).startswith("environment variable DIALER_CAMPAIGNS: setting campaigns.0.id:"), str(err.value)
