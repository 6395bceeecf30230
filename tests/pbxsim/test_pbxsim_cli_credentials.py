"""`dialer pbxsim --username U --secret S`: the simulator takes the credentials the daemon's `[ami]` has, so a
daemon with a real secret can log in to it (it accepted only dialer / change-me, and the daemon got `AMI login
refused (Authentication failed)`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from pbxsim_client import AmiTestClient

from dialer import cli, pbxsim


async def _login(port: int, username: str, secret: str) -> str:
    c = await AmiTestClient.connect(port)
    try:
        await c.banner()
        reply = await c.action([("Action", "Login"), ("ActionID", "login"), ("Username", username),
                                ("Secret", secret)])
    finally:
        await c.close()
    return f"{reply.get('Response')}: {reply.get('Message')}"


def test_pbxsim_logs_in_with_the_credentials_given_on_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    real = pbxsim.run_pbxsim
    answers: list[str] = []

    async def serve_then_try_logins(host: str, port: int, traffic: Any, seed: int, scale: float,
                                    **kw: Any) -> None:
        ready: asyncio.Future[pbxsim.PbxSimulator] = asyncio.get_running_loop().create_future()
        on_ready: Callable[[pbxsim.PbxSimulator], None] = ready.set_result
        # port 0: a free one (the CLI's own --port is checked by the parser below)
        task = asyncio.create_task(real(host, 0, traffic, seed, scale, on_ready=on_ready, **kw))
        sim = await asyncio.wait_for(ready, 10)
        answers.append(await _login(sim.port, "dialer-prod", "s3cret-from-dialer-toml"))
        answers.append(await _login(sim.port, "dialer", "change-me"))
        task.cancel()

    monkeypatch.setattr(pbxsim, "run_pbxsim", serve_then_try_logins)
    monkeypatch.setattr(cli, "configure_logging", lambda level: None)  # the root logger stays the test run's
    assert cli.main(["pbxsim", "--port", "0", "--username", "dialer-prod", "--secret", "s3cret-from-dialer-toml"]) == 0
    assert answers[0].startswith("Success"), answers
    assert answers[1] == "Error: Authentication failed", answers


def test_pbxsim_help_says_the_default_credentials(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["pbxsim", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--username USERNAME AMI user the simulator accepts (default dialer" in text
    assert "--secret SECRET that user's secret (default change-me" in text
