"""Request bodies past [http] max_body_bytes are refused with 413 before the app reads them.

Before, nothing limited a body: FastAPI read and parsed the whole JSON before the token check, the desk's
content-type check and the login throttle, in the event loop that paces calls and reads AMI, so one
unauthenticated 200 MB POST stalled dialing for seconds. Now a declared Content-Length past the limit is
answered at once and a chunked body is counted and cut off at the limit; the two streamed upload routes keep
their own cap. A 422 no longer echoes a refused value in full.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import ValidationError
from sup_fakes import AUTH, make_rig, settings

from dialer.config import CampaignSettings, HttpSettings
from dialer.http import STREAMED_UPLOADS, BodyLimit, build_app
from dialer.supervisor.errors import ECHO_CHARS, brief

SUP = AUTH["supervisor"]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "campaigns"
LIMIT = 64 * 1024


@pytest.fixture
async def client(redis: Any, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, list[int]]]:
    text = (EXAMPLE / "base_upsell.toml").read_text().replace('id = "upsell-fiber"', 'id = "upsell"')
    (tmp_path / "upsell.toml").write_text(text)
    cfg = settings([CampaignSettings(id="upsell", file=tmp_path / "upsell.toml")])
    cfg = cfg.model_copy(update={"http": HttpSettings(enabled=False, max_body_bytes=LIMIT)})
    rig = make_rig(redis, cfg=cfg)
    app = build_app(rig.daemon)
    read: list[int] = []  # sizes of the chunks the app took from the server

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        async def counted() -> Any:
            message = await receive()
            read.append(len(message.get("body", b"")))
            return message
        await app(scope, counted, send)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=counting), base_url="http://x") as c:
        yield c, read


async def chunks(total: int, size: int = 8192) -> AsyncIterator[bytes]:
    sent = 0
    yield b'{"numbers": ["+12125550142"], "note": "'
    while sent < total:
        yield b"A" * size
        sent += size
    yield b'"}'


async def streamed(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def refused(r: httpx.Response) -> None:
    assert r.status_code == 413, r.text
    detail = r.json()["detail"]
    assert "larger than 64 KB (65536 bytes)" in detail
    assert "max_body_bytes" in detail
    assert "send less" in detail
    assert r.headers["connection"] == "close"


@pytest.mark.parametrize("path", ["/api/desk/login", "/api/dnc", "/api/campaigns/upsell/leads"])
async def test_a_declared_length_past_the_limit_is_refused_unread_and_unauthenticated(client, path):
    c, read = client
    r = await c.post(path, content=b"{" + b" " * LIMIT + b"}", headers={"content-type": "application/json"})
    refused(r)
    assert read == []  # not one byte of the body taken


async def test_a_chunked_body_is_counted_and_cut_off_at_the_limit(client):
    c, read = client
    r = await c.post("/api/dnc", headers={**SUP, "content-type": "application/json"}, content=chunks(10 * LIMIT))
    refused(r)
    assert "content-length" not in r.request.headers  # sent chunked: nothing declared
    assert sum(read) <= LIMIT + 8192  # the app stopped reading at the chunk that passed the limit


async def test_a_chunked_body_past_the_limit_is_refused_on_the_desk_too(client):
    c, _ = client
    r = await c.post("/api/desk/login", headers={"content-type": "application/json"}, content=chunks(2 * LIMIT))
    refused(r)


async def test_bodies_within_the_limit_are_served_as_before(client):
    c, _ = client
    numbers = [f"+1212555{i:04d}" for i in range(2000)]
    r = await c.post("/api/dnc", headers=SUP, json={"numbers": numbers})
    assert (r.status_code, r.json()["added"]) == (200, 2000), r.text
    r = await c.post("/api/dnc", headers={**SUP, "content-type": "application/json"}, content=chunks(LIMIT // 2))
    assert r.status_code == 422, r.text  # read in full, judged by the route
    assert "note" in r.json()["message"]
    r = await c.post("/api/desk/login", json={"agent_id": "nobody", "password": "pw"})
    assert r.status_code == 401, r.text
    assert (await c.get("/healthz")).status_code == 200


async def test_the_streamed_uploads_take_files_past_the_limit(client):
    c, read = client
    rows = b"".join(b"S%d,+1212555%04d,current\n" % (i, i % 10_000) for i in range(3 * LIMIT // 24))
    body = b"subscriber_id,mobile,status\n" + rows
    assert len(body) > 2 * LIMIT
    r = await c.post("/api/subscribers/upload", headers={**SUP, "Content-Type": "text/csv"}, content=body)
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == body.count(b"\n") - 1
    leads = (EXAMPLE / "leads" / "base_upsell.csv").read_bytes()
    head, rest = leads.split(b"\n", 1)
    big = head + b"\n" + rest * (2 * LIMIT // len(rest) + 1)
    r = await c.post("/api/campaigns/upsell/leads/upload", headers={**SUP, "content-type": "text/csv"},
                     content=streamed(big[i:i + 8192] for i in range(0, len(big), 8192)))  # chunked, too
    assert r.status_code == 200, r.text
    # still their token first: an upload without one is refused before its body is read
    read.clear()
    r = await c.post("/api/subscribers/upload", headers={"Content-Type": "text/csv"}, content=body)
    assert r.status_code == 401
    assert read == []


def test_the_exempt_routes_exist_under_those_paths(redis):
    paths = build_app(make_rig(redis).daemon).openapi()["paths"]
    # an upload route renamed would fall under the limit: rename it in STREAMED_UPLOADS too
    assert all("post" in paths.get(path, {}) for path in STREAMED_UPLOADS)


async def test_a_route_that_answered_before_reading_on_is_left_alone():
    app = FastAPI()

    @app.post("/early")
    async def early(request: Request) -> Any:
        return {"first": len(await anext(request.stream()))}  # reads one chunk and answers

    limited = BodyLimit(app, max_bytes=16)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=limited), base_url="http://x") as c:
        r = await c.post("/early", content=streamed([b"x" * 10, b"y" * 10]))
    assert r.json() == {"first": 10}


def test_the_limit_is_a_setting_within_bounds():
    assert HttpSettings().max_body_bytes == 1024 * 1024
    for bad in (0, 1024, 65 * 1024 * 1024):
        with pytest.raises(ValidationError):
            HttpSettings(max_body_bytes=bad)


async def test_a_422_on_the_desk_echoes_a_refused_value_cut_down(client):
    c, _ = client
    r = await c.post("/api/desk/login", json={"agent_id": "ann", "password": "p" * 50_000})
    assert r.status_code == 422
    [err] = r.json()["detail"]
    assert err["loc"] == ["body", "password"]
    assert err["input"] == "p" * ECHO_CHARS + "…"
    assert len(r.content) < 1000
    r = await c.post("/api/desk/login", json=[{"k": "v" * 1000}] * 50)  # not an object: the whole body refused
    assert r.status_code == 422
    assert len(r.content) < 2000


def test_brief_cuts_strings_objects_and_arrays():
    assert brief("short") == "short"
    assert brief("x" * 500) == "x" * ECHO_CHARS + "…"
    assert brief(list(range(30))) == [*range(10), "… 20 more"]
    assert brief({f"k{i}": i for i in range(12)}) == {**{f"k{i}": i for i in range(10)}, "…": "2 more"}
    assert brief({"a": {"b": {"c": 1}}}) == {"a": {"b": "…"}}
    assert brief(None) is None
    assert brief(3.5) == 3.5
