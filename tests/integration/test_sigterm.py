"""`dialer run` as operators start it: SIGTERM drains and exits 0."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


async def test_sigterm_stops_the_daemon_cleanly(tmp_path):
    cfg = tmp_path / "dialer.toml"
    cfg.write_text(
        f"""
log_level = "INFO"
shutdown_grace_s = 5
[ami]
host = "embedded"
ping_interval_s = 1
[redis]
url = "embedded"
[mqtt]
url = "embedded"
[metrics]
port = 0
[http]
port = 0  # served (a loopback port of its own): its stop is part of the stop checked here
session_secret = "a-test-session-secret-of-this-test-only"
[[campaigns]]
id = "upsell-fiber"
file = "{ROOT / 'examples' / 'campaigns' / 'base_upsell.toml'}"
"""
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALER_")}
    proc = await asyncio.create_subprocess_exec(  # -X faulthandler: a stuck daemon shows where (below)
        sys.executable, "-X", "faulthandler", "-m", "dialer.cli", "run", "--config", str(cfg),
        stderr=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL, env=env, cwd=ROOT,
    )
    assert proc.stderr is not None
    log: list[str] = []
    stage = "start-up"
    try:
        async with asyncio.timeout(60):
            while True:  # wait until the daemon is connected to the broker (it logs it), reading its output
                line = (await proc.stderr.readline()).decode()
                assert line, f"dialer run exited early: {''.join(log)}"
                log.append(line)
                if "mqtt connected" in line:
                    break
            stage = "drain after SIGTERM"
            proc.send_signal(signal.SIGTERM)
            rest = (await proc.stderr.read()).decode()
            code = await proc.wait()
    except TimeoutError:
        # This once timed out in a full run and never again: make the next one say where it was stuck.
        proc.send_signal(signal.SIGABRT)  # faulthandler writes every thread's stack to stderr, then it dies
        async with asyncio.timeout(20):
            tail = (await proc.stderr.read()).decode()
            await proc.wait()
        pytest.fail(f"dialer run stuck in {stage} for 60 s; its stderr, then its threads' stacks:\n"
                    + "".join(log) + tail)
    assert code == 0, "".join(log) + rest
    assert "every call record written" in rest
    # nothing at ERROR on a clean stop (log alerting fires on it): uvicorn's lifespan used to be cancelled mid-way
    assert "ERROR" not in rest, rest
    assert "Traceback" not in rest, rest
