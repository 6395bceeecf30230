"""`dialer run --check-config` refuses what `dialer run` refuses: it said `config OK` and exited 0 for a config
with no campaigns (which `dialer run` refuses: `no [[campaigns]] configured`) and for a campaign whose call
script cannot be read (which `dialer run` found out only when it built the screen pop)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.cli import main

ROOT = Path(__file__).resolve().parents[2]


def campaign(script: str = "") -> str:
    return (f'[[campaigns]]\nid = "upsell"\nfile = "{ROOT / "examples" / "campaigns" / "base_upsell.toml"}"\n'
            f'{script}\n[campaigns.pacing]\nmode = "progressive"\n')


@pytest.mark.parametrize(("body", "words"), [
    ('log_level = "INFO"\n', "no [[campaigns]] configured"),
    (campaign(f'script = "{ROOT / "examples" / "scripts" / "no-such-script.yaml"}"'), "no-such-script.yaml"),
], ids=["no campaigns", "missing script"])
def test_check_config_refuses_what_run_refuses(tmp_path, capsys, body: str, words: str) -> None:
    cfg = tmp_path / "dialer.toml"
    cfg.write_text(body)
    assert main(["run", "--config", str(cfg), "--check-config"]) == 1
    err = capsys.readouterr().err
    assert "configuration error" in err, err
    assert words in err, err


def test_check_config_passes_a_campaign_with_a_readable_script(tmp_path, capsys) -> None:
    cfg = tmp_path / "dialer.toml"
    cfg.write_text(campaign(f'script = "{ROOT / "examples" / "scripts" / "upsell-device.yaml"}"'))
    assert main(["run", "--config", str(cfg), "--check-config"]) == 0, capsys.readouterr().err
    assert "config OK: 1 campaign(s)" in capsys.readouterr().out
