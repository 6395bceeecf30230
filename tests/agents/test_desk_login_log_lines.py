"""The desk's login-limit log lines carry the client address, what locked and for how long, and who unlocked.

Before, the JSON log wrote only the extras it knew (`agent_id` here): `{"msg":"desk login unlocked",
"agent_id":"agent001"}`, with no address, scope, wait or supervisor, while docs/AGENT_DESKTOP.md promises the
client address."""

from __future__ import annotations

import io
import json
import logging

import httpx

from agents.desk.harness import DeskHarness
from dialer.logs import configure_logging

ATTACKER = "198.51.100.200"  # 12 digits and dots: a phone number to the log's masking


class Clock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


async def test_login_limit_lines_carry_their_extras(redis_url) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    buf = io.StringIO()
    configure_logging("INFO", stream=buf)
    try:
        async with DeskHarness(redis_url=redis_url, serve_http=False, monotonic=Clock()) as h:
            assert h.desk is not None
            transport = httpx.ASGITransport(app=h.app, client=(ATTACKER, 5000))
            async with httpx.AsyncClient(transport=transport, base_url="http://desk.test", timeout=10) as c:
                for _ in range(6):
                    await c.post("/api/desk/login", json={"agent_id": "ann", "password": "guess"})
            assert h.desk.unlock_login("ann", by="sup1") is True
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    desk = [x for x in lines if x["msg"].startswith("desk login")]
    got = [(x["msg"], x.get("client"), x.get("scope"), x.get("for_s"), x.get("by"), x.get("was_locked"))
           for x in desk]
    assert got == [*[("desk login refused", ATTACKER, None, None, None, None)] * 5,
                   ("desk login locked", ATTACKER, "agent", 300, None, None),
                   ("desk login throttled", ATTACKER, "agent", 300, None, None),
                   ("desk login unlocked", None, None, None, "sup1", True)]
