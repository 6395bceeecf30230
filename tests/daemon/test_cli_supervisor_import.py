"""`dialer`'s parser does not hide a failing import of the supervisor's commands (FastAPI is a hard
dependency): with it unimportable, `dialer status` used to answer "invalid choice" instead of the ImportError."""

from __future__ import annotations

import sys

import pytest

from dialer import cli


def test_an_unimportable_supervisor_cli_is_an_error_not_a_missing_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dialer.supervisor.cli", None)  # import raises ImportError
    with pytest.raises(ImportError, match=r"dialer\.supervisor\.cli"):
        cli.main(["status"])


def test_the_supervisor_commands_are_registered() -> None:
    args = cli._parser().parse_args(["status", "--json"])
    assert args.command == "status"
