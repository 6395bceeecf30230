"""`dialer demo --help` says the default speed's cap as the demo computes it: it said "at most 2000/agents" long
after MAX_AGENTS_X_SPEED became 700."""

from __future__ import annotations

import pytest

from dialer.cli import main
from dialer.demo_speed import MAX_AGENTS_X_SPEED, default_speed


def test_demo_help_states_the_cap_the_default_speed_uses(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"at most {MAX_AGENTS_X_SPEED:g}/agents" in text, text
    assert default_speed(100, 8.0) == MAX_AGENTS_X_SPEED / 100  # the cap the help states is the one applied
