"""A request whose refused value holds a lone surrogate (JSON may carry `\\ud800`) gets its 422, not a 500: the
answer echoes the value, and neither FastAPI's own handler (the desk's routes) nor the supervisor's
`ClearErrors` could write it as UTF-8."""

from __future__ import annotations

import json

import httpx
import pytest

from agents.desk.harness import DeskHarness
from dialer.supervisor.errors import _summary, json_safe

BODIES = [b'{"agent_id": ["\\ud800"], "password": "x"}',
          b'{"agent_id": "\\ud800", "password": 1}',
          b'{"agent_id": "' + b"\\udfff" * 300 + b'", "password": "x"}']


@pytest.mark.parametrize("body", BODIES)
async def test_a_desk_login_with_a_lone_surrogate_is_refused_with_a_422(redis_url, body: bytes) -> None:
    async with DeskHarness(redis_url=redis_url, full_app=True) as h:
        transport = httpx.ASGITransport(app=h.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as c:
            r = await c.post("/api/desk/login", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "agent_id"]


def test_the_supervisor_s_one_line_422_summary_encodes_a_lone_surrogate() -> None:
    out = _summary({"loc": ("body", "numbers", 0), "msg": "bad", "type": "x", "input": "\ud800 1"})
    assert json.dumps(out, ensure_ascii=False).encode("utf-8")  # what JSONResponse does; raised before
    assert out["input"] == "\\ud800 1"


def test_json_safe_writes_what_strict_utf8_json_cannot() -> None:
    assert json_safe({"a": ["\ud800", float("nan"), 1.5, None]}) == {"a": ["\\ud800", "nan", 1.5, None]}
    assert json_safe("Zoë") == "Zoë"
