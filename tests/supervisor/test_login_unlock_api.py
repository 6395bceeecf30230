"""`POST /api/agents/{id}/login-unlock` and `dialer agents unlock A`: a supervisor lifts an agent's desk login lock."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr
from sup_fakes import AUTH, TOKENS, Rig, live_server, make_rig, settings

from agents.desk import build_desk
from dialer.config import AgentAccount
from dialer.http import build_app
from dialer.supervisor import cli

AWAY = "203.0.113.66"


@pytest.fixture
def rig(redis: object) -> Rig:
    cfg = settings().model_copy(update={"agents": [
        AgentAccount(id="ann", extension="1001", password=SecretStr("ann-secret-1"))]})
    return make_rig(redis, cfg=cfg)


@pytest.fixture
async def app_client(rig: Rig) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(rig.daemon), client=(AWAY, 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://dialer") as c:
        yield c


async def desk_login(c: httpx.AsyncClient, password: str) -> httpx.Response:
    return await c.post("/api/desk/login", json={"agent_id": "ann", "password": password})


async def test_a_supervisor_unlocks_an_agent_and_the_right_password_works_at_once(rig: Rig,
                                                                                  app_client: httpx.AsyncClient):
    c = app_client
    for _ in range(5):
        assert (await desk_login(c, "typo")).status_code == 401
    assert (await desk_login(c, "ann-secret-1")).status_code == 429
    r = await c.post("/api/agents/ann/login-unlock", headers=AUTH["supervisor"])
    assert (r.status_code, r.json()) == (200, {"agent_id": "ann", "was_locked": True})
    assert (await desk_login(c, "ann-secret-1")).status_code == 200
    r = await c.post("/api/agents/ann/login-unlock", headers=AUTH["supervisor"])
    assert r.json() == {"agent_id": "ann", "was_locked": False}
    audit = (await c.get("/api/audit", headers=AUTH["admin"])).json()
    assert [(e["target"], e["who"], e["details"]) for e in audit if e["action"] == "agent.login_unlock"] == [
        ("ann", "supervisor-user", {"was_locked": False}), ("ann", "supervisor-user", {"was_locked": True})]


async def test_read_only_tokens_and_agents_desk_sessions_may_not_unlock(rig: Rig, app_client: httpx.AsyncClient):
    c = app_client
    session = (await desk_login(c, "ann-secret-1")).json()["token"]
    for _ in range(5):
        await desk_login(c, "typo")
    assert (await c.post("/api/agents/ann/login-unlock", headers=AUTH["read-only"])).status_code == 403
    as_agent = {"Authorization": f"Bearer {session}"}
    assert (await c.post("/api/agents/ann/login-unlock", headers=as_agent)).status_code == 401
    assert (await c.post("/api/agents/ann/login-unlock")).status_code == 401
    assert (await desk_login(c, "ann-secret-1")).status_code == 429  # still locked


async def test_unlocking_an_agent_with_no_desk_account_is_404(app_client: httpx.AsyncClient):
    r = await app_client.post("/api/agents/agent1001/login-unlock", headers=AUTH["supervisor"])
    assert r.status_code == 404
    assert "no agent 'agent1001' may log in to the desk" in r.json()["detail"]


async def test_cli_agents_unlock_says_whether_a_lock_was_lifted(rig: Rig):
    desk = build_desk(rig.daemon)
    app = build_app(rig.daemon, desk=desk)
    for _ in range(5):
        desk.limiter.failed("ann", AWAY)
    async with live_server(app) as url:
        def run(*argv: str) -> tuple[int, str, str]:
            out, err = io.StringIO(), io.StringIO()
            code = cli.main(["agents", "unlock", *argv, "--url", url, "--token", TOKENS["supervisor"]],
                            out=out, err=err)
            return code, out.getvalue(), err.getvalue()

        first = await asyncio.to_thread(run, "ann")
        again = await asyncio.to_thread(run, "ann")
        unknown = await asyncio.to_thread(run, "bob")
    assert first == (0, "ann: desk login unlocked; they can log in again now\n", "")
    assert again == (0, "ann: desk login was not locked (nothing to lift)\n", "")
    assert unknown[0] == 1
    assert "no agent 'bob' may log in to the desk" in unknown[2]
    assert desk.limiter.check("ann", AWAY) is None
