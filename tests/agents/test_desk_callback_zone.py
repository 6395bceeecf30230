"""The desk reads "Call back at" on the customer's clock: `zoneInstant` (agents/desk/static/desk.js) turns a
wall time in the customer's IANA zone into the instant, across DST changes too, whatever the agent's own
zone. Runs the page's own functions under node, the agent's browser in Prague."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from page_js import js_function

JS = (Path(__file__).parents[2] / "agents" / "desk" / "static" / "desk.js").read_text()


def _fn(name: str) -> str:
    return js_function(JS, name)


def _run(expr: str) -> object:
    script = f"{_fn('zoneParts')}\n{_fn('zoneInput')}\n{_fn('zoneInstant')}\nconsole.log(JSON.stringify({expr}));"
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True,
                         env={**os.environ, "TZ": "Europe/Prague"})
    return json.loads(out.stdout)


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
@pytest.mark.parametrize(
    ("wall", "zone"),
    [
        ("2030-01-15T10:30", "America/New_York"),
        ("2024-03-10T03:30", "America/New_York"),  # the first hour after the spring-forward gap
        ("2024-11-03T10:00", "America/New_York"),  # the day DST ends (25 hours)
        ("2024-11-03T00:30", "America/Los_Angeles"),
        ("2030-06-01T09:15", "Asia/Kathmandu"),  # a quarter-hour offset
        ("2030-06-01T09:15", "Europe/Prague"),  # the agent's own zone
    ],
)
def test_a_wall_time_on_the_customers_clock_is_that_instant(wall, zone):
    want = datetime.fromisoformat(wall).replace(tzinfo=ZoneInfo(zone)).timestamp() * 1000
    assert _run(f"zoneInstant({json.dumps(wall)}, {json.dumps(zone)})") == want
    assert _run(f"zoneInput({want}, {json.dumps(zone)})") == wall  # and back, as the input shows it
