"""The reports page (static/reports.js) asks for the days from `from` to `to` as [local midnight of `from`, the
local midnight after `to`): a calendar day, not 86400 s, so the day DST ends (25 hours) keeps its last hour and
the day it starts (23 hours) takes nothing of the next day, as the CLI's `--until DAY` and the API's "today".
Runs the page's own `dayStart` and `query` under node with TZ=America/New_York."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import page_js
import pytest

import dialer.supervisor

JS = (Path(dialer.supervisor.__file__).parent / "static" / "reports.js").read_text()
NY = ZoneInfo("America/New_York")


def js_function(name: str) -> str:
    return page_js.js_function(JS, name)


def page_query(day_from: str, day_to: str) -> dict[str, str]:
    script = f"""
const vals = {{from: {json.dumps(day_from)}, to: {json.dumps(day_to)}, cpm: "", cph: "", campaign: ""}};
const $ = (id) => ({{ value: vals[id] }});
let kind = "compliance";
{js_function("dayStart")}
{js_function("query")}
const q = query("json");
console.log(JSON.stringify(Object.fromEntries(new URLSearchParams(q.split("?")[1]))));
"""
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True, timeout=30,
                         env={**os.environ, "TZ": "America/New_York"})
    return json.loads(out.stdout)


def midnight(d: date) -> float:
    return datetime(d.year, d.month, d.day, tzinfo=NY).timestamp()


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
@pytest.mark.parametrize(("day_from", "day_to"), [("2024-11-03", "2024-11-03"), ("2024-03-10", "2024-03-10"),
                                                  ("2024-03-01", "2024-03-31"), ("2024-01-31", "2024-02-29"),
                                                  ("2024-12-31", "2024-12-31")])
def test_until_is_the_local_midnight_after_the_last_day(day_from, day_to):
    q = page_query(day_from, day_to)
    assert float(q["since"]) == midnight(date.fromisoformat(day_from))
    assert float(q["until"]) == midnight(date.fromisoformat(day_to) + timedelta(days=1))


def test_no_request_of_the_page_counts_a_day_as_86400_seconds():
    assert "+ 86400" not in JS
    assert len(re.findall(r'until: dayStart\(\$\("to"\)\.value, 1\)', JS)) == 2  # the reports and the what-if
