"""Configuration: TOML file, DIALER_* overrides, one clear line on error."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.cli import main
from dialer.config import load_settings
from dialer.errors import ConfigError

EXAMPLE = Path(__file__).parents[2] / "examples" / "dialer.toml"


def test_example_config_loads():
    s = load_settings(EXAMPLE)
    assert s.ami.host == "127.0.0.1"
    assert [c.id for c in s.campaigns] == ["base_upsell"]
    assert s.campaigns[0].pacing.mode.value == "predictive"


def test_environment_overrides_the_file(monkeypatch):
    monkeypatch.setenv("DIALER_AMI__HOST", "pbx7.example.net")
    monkeypatch.setenv("DIALER_HOLD_S", "1.2")
    s = load_settings(EXAMPLE)
    assert s.ami.host == "pbx7.example.net"
    assert s.hold_s == 1.2


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("hold_s = 3.5\n", "hold_s"),
        ("[ami]\nport = 'five'\n", "ami.port"),
        ("[[campaigns]]\nid = 'x y'\n", "campaigns.0.id"),
        ("[[campaigns]]\nid = 'c'\nring_timeout_s = 5\n", "ring_timeout_s"),
        ("[redis]\nurl = 'redis://x'\nbogus = 1\n", "redis.bogus"),
        ("this is [ not toml", "not valid TOML"),
    ],
)
def test_bad_config_gives_one_line_naming_the_setting(tmp_path, text, needle):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


def test_check_config_exit_codes(tmp_path, capsys):
    assert main(["run", "--config", str(EXAMPLE), "--check-config"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("config OK")
    assert "change-me" not in out
    bad = tmp_path / "bad.toml"
    bad.write_text("hold_s = 9\n")
    assert main(["run", "--config", str(bad), "--check-config"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "hold_s" in err[0]
    assert main(["run", "--config", str(tmp_path / "missing.toml"), "--check-config"]) == 1


def test_secrets_never_print(monkeypatch):
    monkeypatch.setenv("DIALER_AMI__SECRET", "s3cr3t-value")
    s = load_settings(EXAMPLE)
    assert "s3cr3t-value" not in repr(s)
    assert "s3cr3t-value" not in s.model_dump_json()
