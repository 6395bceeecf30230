"""The desk's login slow-down (one agent from any addresses) is set in the config file's `[desk]` section, as the
other login limits are: `login_slow_after_per_agent`, `login_slow_window_s` and `login_max_delay_s` were
DeskOptions fields that no config could reach."""

from __future__ import annotations

import pytest

from agents.desk.core import DeskOptions
from dialer.config import load_settings
from dialer.errors import ConfigError


def test_the_desk_section_sets_the_login_slow_down(tmp_path) -> None:
    cfg = tmp_path / "dialer.toml"
    cfg.write_text("[desk]\nlogin_slow_after_per_agent = 12\nlogin_slow_window_s = 7200\nlogin_max_delay_s = 300\n")
    o = DeskOptions.from_settings(load_settings(cfg).desk)
    assert (o.login_slow_after_per_agent, o.login_slow_window_s, o.login_max_delay_s) == (12, 7200.0, 300.0)


def test_left_unset_they_keep_the_desks_defaults(tmp_path) -> None:
    cfg = tmp_path / "dialer.toml"
    cfg.write_text("[desk]\nlogin_max_failures_per_agent = 3\n")
    o = DeskOptions.from_settings(load_settings(cfg).desk)
    d = DeskOptions()
    assert (o.login_slow_after_per_agent, o.login_slow_window_s, o.login_max_delay_s) == (
        d.login_slow_after_per_agent, d.login_slow_window_s, d.login_max_delay_s)


@pytest.mark.parametrize("line", ["login_slow_after_per_agent = 0", "login_slow_window_s = 0",
                                  "login_max_delay_s = 0.5"])
def test_values_the_limiter_refuses_are_refused_at_start(tmp_path, line: str) -> None:
    cfg = tmp_path / "dialer.toml"
    cfg.write_text(f"[desk]\n{line}\n")
    with pytest.raises(ConfigError, match=line.split()[0]):
        load_settings(cfg)
