"""The built-in `supervisor_extension` is the supervisor's phone in the shipped asterisk_conf/pjsip.conf (2001):
it was 1999, which has no endpoint there, so a config that left it unset sent every transfer fallback and every
listen/whisper/barge to a Dial that fails (CHANUNAVAIL) on real Asterisk."""

from __future__ import annotations

from astconf_files import as_dict, load

from dialer.config import DialerSettings, load_settings


def test_the_default_supervisor_extension_is_the_shipped_pjsip_supervisor_phone(tmp_path) -> None:
    endpoints = {c.name for c in load("pjsip.conf").categories if ("type", "endpoint") in as_dict(c).items()}
    cfg = tmp_path / "dialer.toml"
    cfg.write_text('log_level = "INFO"\n')
    assert DialerSettings().supervisor_extension in endpoints
    assert load_settings(cfg).supervisor_extension == "2001"
