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
enabled = false
[[campaigns]]
id = "upsell-fiber"
file = "{ROOT / 'examples' / 'campaigns' / 'base_upsell.toml'}"
"""
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALER_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dialer.cli", "run", "--config", str(cfg),
        stderr=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL, env=env, cwd=ROOT,
    )
    assert proc.stderr is not None
    log: list[str] = []
    async with asyncio.timeout(60):
        while True:  # wait until the daemon is connected to the broker (it logs it), reading its output
            line = (await proc.stderr.readline()).decode()
            assert line, f"dialer run exited early: {''.join(log)}"
            log.append(line)
            if "mqtt connected" in line:
                break
        proc.send_signal(signal.SIGTERM)
        rest = (await proc.stderr.read()).decode()
        code = await proc.wait()
    assert code == 0, "".join(log) + rest
    assert "every call record written" in rest
