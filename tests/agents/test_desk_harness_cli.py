"""`python -m agents.desk.harness --help` (docs/AGENT_DESKTOP.md) prints its usage and starts nothing; it used to
ignore the flag, start Redis and HTTP, and end in an EOFError traceback once stdin had nothing to read."""

from __future__ import annotations

import builtins

import pytest

from agents.desk import harness


def test_help_prints_usage_and_starts_nothing(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    def started() -> None:
        raise AssertionError("--help started the services")

    monkeypatch.setattr(harness, "_serve_forever", started)
    with pytest.raises(SystemExit) as exit_:
        harness.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "usage: python -m agents.desk.harness" in out
    assert "places a simulated call" in " ".join(out.split())


def test_an_unknown_argument_is_refused_before_anything_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness, "_serve_forever", lambda: pytest.fail("started"))
    with pytest.raises(SystemExit) as exit_:
        harness.main(["--port", "1"])
    assert exit_.value.code == 2


def test_end_of_input_quits_instead_of_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def closed(_prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr(builtins, "input", closed)
    assert harness._command("> ") == "q"
