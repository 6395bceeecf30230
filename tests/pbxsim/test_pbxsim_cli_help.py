"""`dialer pbxsim --help` explains every option (--host, --port and --seed had no help text)."""

from __future__ import annotations

import pytest

from dialer import cli


def test_every_pbxsim_option_has_a_help_text(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["pbxsim", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--host HOST address to listen on" in text
    assert "--port PORT AMI TCP port to listen on" in text
    assert "--seed SEED seed of the called people's draws" in text
    assert "--speed SPEED virtual seconds per real second" in text
