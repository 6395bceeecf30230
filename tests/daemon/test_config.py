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


def test_agentless_settings_default_and_reach_the_engine(tmp_path):
    from dialer.daemon import runtime_from_settings

    cfg = tmp_path / "d.toml"
    cfg.write_text("[[campaigns]]\nid = 'outage'\nagentless_message = 'custom/outage-notice'\n"
                   "agentless_on_machine = 'message'\n[campaigns.pacing]\nmode = 'agentless'\n")
    [cs] = load_settings(cfg).campaigns
    assert (cs.agentless_context, cs.agentless_exten) == ("dialer-agentless", "s")
    plan = runtime_from_settings(cs).agentless
    assert (plan.context, plan.exten, plan.message, plan.on_machine) == (
        "dialer-agentless", "s", "custom/outage-notice", "message")


@pytest.mark.parametrize(
    ("line", "needle", "words"),
    [
        ("agentless_on_machine = 'voicemail'", "agentless_on_machine", "'hangup' or 'message'"),
        ("agentless_message = 'notice,DIALER_AMD=0'", "agentless_message", "not a sound file name"),
        ("agentless_message = 'custom/notice.wav x'", "agentless_message", "no extension"),
        ("agentless_message = '../../etc/passwd'", "agentless_message", "not a sound file name"),
        ("agentless_exten = 'machine'", "agentless_exten", "answering machines"),
        ("agentless_context = 'my ivr'", "agentless_context", "pattern"),
    ],
)
def test_bad_agentless_settings_say_what_to_fix(tmp_path, line, needle, words):
    cfg = tmp_path / "d.toml"
    cfg.write_text(f"[[campaigns]]\nid = 'c'\n{line}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert needle in str(info.value)
    assert words in str(info.value)
    assert "\n" not in str(info.value)


def test_the_desk_section_sets_the_pause_reasons_agents_choose_from(tmp_path):
    from types import SimpleNamespace

    from agents.desk import build_desk

    cfg = tmp_path / "desk.toml"
    cfg.write_text('[desk]\npresence_timeout_s = 90\ntransfer_to_supervisor = false\n'
                   'pause_reasons = [{code = "break", label = "Short break"},\n'
                   '                 {code = "smoke", label = "Smoke break"}]\n')
    s = load_settings(cfg)
    daemon = SimpleNamespace(settings=s, engine=SimpleNamespace(screenpop=None))
    desk = build_desk(daemon)  # type: ignore[arg-type]
    assert [(c.code, c.label) for c in desk.options.pause_reasons] == [("break", "Short break"),
                                                                        ("smoke", "Smoke break")]
    assert (desk.options.presence_timeout_s, desk.options.transfer_to_supervisor) == (90.0, False)
    default = build_desk(SimpleNamespace(settings=load_settings(None),  # type: ignore[arg-type]
                                         engine=SimpleNamespace(screenpop=None)))
    assert [c.code for c in default.options.pause_reasons] == ["break", "lunch", "training", "meeting", "coaching",
                                                                "technical"]


@pytest.mark.parametrize(("reasons", "words"), [
    ('[{code = "lunch", label = "Lunch"}, {code = "lunch", label = "Late lunch"}]', "'lunch' is listed twice"),
    ('[{code = "offline", label = "Gone"}]', "'offline' is one the dialer sets itself"),
    ('[{code = "Big Break", label = "x"}]', "desk.pause_reasons.0.code"),
    ("[]", "desk.pause_reasons"),
])
def test_bad_pause_reasons_say_what_to_fix(tmp_path, reasons, words):
    cfg = tmp_path / "desk.toml"
    cfg.write_text(f"[desk]\npause_reasons = {reasons}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert words in str(info.value)


def test_the_dialers_own_pause_reasons_are_the_ones_config_reserves():
    from agents.desk.core import OFFLINE_REASON
    from dialer.config import SYSTEM_PAUSE_CODES, SYSTEM_PAUSE_LABELS
    from dialer.daemon import RESTART_REASON
    from dialer.engine.agentside import WRAPUP_TIMEOUT
    from dialer.supervisor.schemas import AgentPause

    own = {OFFLINE_REASON, RESTART_REASON, WRAPUP_TIMEOUT, "campaign stopped", AgentPause().reason}
    assert own == SYSTEM_PAUSE_CODES == set(SYSTEM_PAUSE_LABELS)
