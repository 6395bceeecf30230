"""A 422 lists the first few errors and counts the rest, each error's `loc` and `msg` cut like a refused value.

Before, only each refused `input` was cut: a megabyte of 100,000 unknown keys on the unauthenticated
`/api/desk/login` (`extra="forbid"`) was answered with all 100,000 errors (a 10 MB answer, seconds of the event
loop), and one 500 KB key name was echoed in full in its error's `loc`."""

from __future__ import annotations

import json
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError

from agents.desk.routes import LoginBody
from dialer.supervisor.errors import ECHO_CHARS, ECHO_ERRORS, ClearErrors, validation_error_response

MANY = 5_000
HUGE = "k" * 500_000


def _desk_like_app() -> FastAPI:
    """FastAPI's own 422 handler swapped for ours, as dialer.http.build_app does, on the desk's login body."""
    app = FastAPI()

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> Response:
        return validation_error_response(exc)

    @app.post("/login")
    async def login(body: LoginBody) -> dict[str, Any]:
        return {"ok": True}

    return app


def _supervisor_like_app() -> FastAPI:
    router = APIRouter(route_class=ClearErrors)

    @router.post("/login")
    async def login(body: LoginBody) -> dict[str, Any]:
        return {"ok": True}

    app = FastAPI()
    app.include_router(router)
    return app


async def _post(app: FastAPI, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as c:
        return await c.post("/login", content=json.dumps(body), headers={"content-type": "application/json"})


def _login_with_extras(extra: dict[str, Any]) -> dict[str, Any]:
    return {"agent_id": "ann", "password": "p", **extra}


async def test_the_desk_s_422_lists_the_first_errors_and_counts_the_rest() -> None:
    r = await _post(_desk_like_app(), _login_with_extras({f"x{i}": 1 for i in range(MANY)}))
    assert r.status_code == 422
    body = r.json()
    assert len(body["detail"]) == ECHO_ERRORS
    assert body["more"] == MANY - ECHO_ERRORS
    assert body["detail"][0]["loc"] == ["body", "x0"]
    assert len(r.content) < 4000


async def test_the_desk_s_422_cuts_a_huge_unknown_key() -> None:
    r = await _post(_desk_like_app(), _login_with_extras({HUGE: 1}))
    assert r.status_code == 422
    body = r.json()
    [err] = body["detail"]
    assert err["loc"] == ["body", "k" * ECHO_CHARS + "…"]
    assert "more" not in body
    assert len(r.content) < 1000


async def test_the_supervisor_s_422_lists_the_first_errors_and_counts_the_rest() -> None:
    r = await _post(_supervisor_like_app(), _login_with_extras({HUGE: 1} | {f"x{i}": 1 for i in range(MANY)}))
    assert r.status_code == 422
    body = r.json()
    assert len(body["detail"]) == ECHO_ERRORS
    assert body["more"] == MANY + 1 - ECHO_ERRORS
    assert body["detail"][0]["loc"] == ["body", "k" * ECHO_CHARS + "…"]
    assert body["message"] == f"body.{'k' * ECHO_CHARS}…: Extra inputs are not permitted (and {MANY} more)"
    assert len(r.content) < 4000


async def test_a_422_with_few_errors_is_unchanged() -> None:
    r = await _post(_supervisor_like_app(), {"agent_id": "ann"})
    assert r.status_code == 422
    body = r.json()
    assert body["message"] == "body.password: Field required"
    assert "more" not in body
    r = await _post(_desk_like_app(), {"agent_id": "ann"})
    assert r.json()["detail"][0]["loc"] == ["body", "password"]
    assert "more" not in r.json()
