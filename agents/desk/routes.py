"""HTTP for the agent desktop: the page, its JSON API and its event stream (SSE).

    GET  /desk                          the page (plain HTML/CSS/JS from this package; nothing from a CDN)
    GET  /desk/static/{desk.js,desk.css}
    POST /api/desk/login                {agent_id, password, campaign_id?} -> session cookie (+ token)
    POST /api/desk/logout               -> {done} (false: waits for the current call's wrap-up)
    GET  /api/desk/snapshot             everything to redraw the page, with the feed's `seq`
    GET  /api/desk/events?after=N       text/event-stream of the agent's feed after seq N (or Last-Event-ID)
    POST /api/desk/heartbeat            a sign of life (the page answers each stream `ping`)
    POST /api/desk/command              {type: ready | pause | disposition, ...} as on MQTT
    POST /api/desk/dnc                  {call_id, notes?} the customer's do-not-call request, final at once
    GET  /api/desk/transfer-targets     agents of the campaign (+ supervisor)
    POST /api/desk/transfer             {call_id, target}          blind transfer
    POST /api/desk/preview/dial         {lead_id, number_index?}   dial the lead on screen (preview mode)
    POST /api/desk/preview/skip         {lead_id, reason}          skip it (back to the hopper)
    POST /api/desk/dial                 {number}                   manual dial, after the contact policy
    GET  /api/desk/callbacks            the callbacks the agent kept for themselves ("My callbacks")
    POST /api/desk/callbacks/move       {lead_id, at?, owner}      move one of them, or hand it to anyone

Errors are JSON `{"detail": ...}`: 401 no/forged/expired session, 403 the contact policy forbids the
dial (PolicyViolation), 403/404 not yours, 409 the agent's state forbids it (IllegalTransition), 415 not
JSON, 422 a bad field (named), 429 too many failed logins (with Retry-After; the detail says whether a supervisor
can lift it), 501 a missing daemon hook.
POSTs accept only `application/json`, which a cross-site form cannot send; with the SameSite=Strict
cookie that keeps other sites from acting as the agent.
"""


import json
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib import resources
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.commands import PreviewDial, PreviewSkip, parse_agent_command
from agents.desk.auth import Session, SessionInvalid
from agents.desk.core import ChooseCampaign, Desk, DeskError, LoginThrottled
from agents.dispositions import DispositionRejected
from dialer.errors import CallbackNotMovable, DialerError, IllegalTransition, PolicyViolation

__all__ = ["desk_routes"]

_T = TypeVar("_T")
_STATIC = {"desk.js": "text/javascript; charset=utf-8", "desk.css": "text/css; charset=utf-8"}
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
_Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginBody(_Body):
    agent_id: _Id
    password: Annotated[str, Field(min_length=1, max_length=256)]
    campaign_id: _Id | None = None


class DncBody(_Body):
    call_id: Annotated[str, Field(min_length=1, max_length=64)]
    notes: Annotated[str, Field(max_length=500)] = ""


class TransferBody(_Body):
    call_id: Annotated[str, Field(min_length=1, max_length=64)]
    target: _Id


class PreviewDialBody(_Body):
    lead_id: Annotated[str, Field(min_length=1, max_length=128)]
    number_index: Annotated[int, Field(ge=0, le=19)] = 0


class PreviewSkipBody(_Body):
    lead_id: Annotated[str, Field(min_length=1, max_length=128)]
    reason: Annotated[str, Field(min_length=1, max_length=64)] = "skipped"


class CallbackMoveBody(_Body):
    lead_id: Annotated[str, Field(min_length=1, max_length=128)]
    at: Annotated[str | None, Field(min_length=1, max_length=40, description="ISO-8601 with a UTC offset; "
                                    "null: the time stays")] = None
    owner: Literal["mine", "anyone"] = "mine"


class DialBody(_Body):
    number: Annotated[str, Field(min_length=3, max_length=32)]


def _static(name: str) -> bytes:
    return resources.files("agents.desk").joinpath("static", name).read_bytes()


def desk_routes(desk: Desk, lifespan: Any = None) -> APIRouter:
    router = APIRouter(lifespan=lifespan)
    page = _static("index.html")
    assets = {name: _static(name) for name in _STATIC}
    cookie = desk.options.cookie_name

    async def session_of(request: Request) -> Session:
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else request.cookies.get(cookie, "")
        if not token:
            raise HTTPException(401, "not logged in")
        try:
            return await desk.session(token)
        except SessionInvalid as exc:
            raise HTTPException(401, str(exc)) from None

    def json_only(request: Request) -> None:
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            raise HTTPException(415, "send the body as application/json")

    Auth = Annotated[Session, Depends(session_of)]
    json_post = [Depends(json_only)]

    def guarded(fn: Callable[[], _T]) -> _T:
        try:
            return fn()
        except DialerError as exc:
            raise _http_error(exc) from None

    async def guarded_async(fn: Callable[[], Awaitable[_T]]) -> _T:
        try:
            return await fn()
        except DialerError as exc:
            raise _http_error(exc) from None

    # ------------------------------------------------------------------ the page
    @router.get("/desk", include_in_schema=False)
    async def index() -> Response:
        return Response(page, media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": _CSP, "X-Content-Type-Options": "nosniff",
                                 "Cache-Control": "no-cache", "Referrer-Policy": "no-referrer"})

    @router.get("/desk/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in assets:
            raise HTTPException(404, "no such file")
        return Response(assets[name], media_type=_STATIC[name],
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"})

    # ------------------------------------------------------------------ sessions
    @router.post("/api/desk/login", tags=["agent desk"], dependencies=json_post)
    async def login(body: LoginBody, request: Request) -> JSONResponse:
        # the address the login counts are kept by: uvicorn's, which behind a trusted proxy (FORWARDED_ALLOW_IPS,
        # default the local host) is the client's from X-Forwarded-For (docs/AGENT_DESKTOP.md, "Login rate limiting")
        try:
            s = await desk.login(body.agent_id, body.password, body.campaign_id,
                                 request.client.host if request.client is not None else "")
        except LoginThrottled as exc:
            raise HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after_s)}) from None
        except ChooseCampaign as exc:
            return JSONResponse({"detail": str(exc), "campaigns": exc.campaigns}, status_code=422)
        except DeskError as exc:
            raise HTTPException(exc.status, str(exc)) from None
        except IllegalTransition as exc:
            raise HTTPException(409, str(exc)) from None
        resp = JSONResponse({"agent_id": s.agent_id, "expires_at": s.expires_at, "token": s.token})
        resp.set_cookie(cookie, s.token, max_age=int(desk.signer.ttl_s), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
        return resp

    @router.post("/api/desk/logout", tags=["agent desk"], dependencies=json_post)
    async def logout(session: Auth) -> JSONResponse:
        done = guarded(lambda: desk.logout(session))
        resp = JSONResponse({"done": done, **desk.state_of(session.agent_id)})
        if done:
            resp.delete_cookie(cookie, path="/")
        return resp

    @router.get("/api/desk/snapshot", tags=["agent desk"])
    async def snapshot(session: Auth) -> dict[str, Any]:
        desk.heartbeat(session)
        await desk.restored()
        return desk.snapshot(session)

    @router.post("/api/desk/heartbeat", tags=["agent desk"], status_code=204, dependencies=json_post)
    async def heartbeat(session: Auth) -> Response:
        desk.heartbeat(session)
        return Response(status_code=204)

    # ------------------------------------------------------------------ commands
    @router.post("/api/desk/command", tags=["agent desk"], dependencies=json_post)
    async def command(session: Auth, request: Request) -> dict[str, Any]:
        raw = await request.body()
        try:
            cmd, command_id = parse_agent_command(session.agent_id, raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            raise HTTPException(422, f"{where}: {first['msg']}") from None
        if isinstance(cmd, PreviewDial | PreviewSkip):  # they have their own routes, which answer the call id
            verb = "dial" if isinstance(cmd, PreviewDial) else "skip"
            raise HTTPException(422, f"type: use POST /api/desk/preview/{verb} for {cmd.__class__.__name__}")
        return guarded(lambda: desk.command(session, cmd, command_id))

    @router.post("/api/desk/dnc", tags=["agent desk"], dependencies=json_post)
    async def dnc(session: Auth, body: DncBody) -> dict[str, Any]:
        try:
            return await desk.request_dnc(session, body.call_id, body.notes)
        except DeskError as exc:
            raise HTTPException(exc.status, str(exc)) from None

    @router.get("/api/desk/transfer-targets", tags=["agent desk"])
    async def transfer_targets(session: Auth) -> dict[str, Any]:
        return desk.transfer_targets(session)

    @router.post("/api/desk/transfer", tags=["agent desk"], dependencies=json_post)
    async def transfer(session: Auth, body: TransferBody) -> dict[str, Any]:
        return guarded(lambda: desk.transfer(session, body.call_id, body.target))

    @router.post("/api/desk/preview/dial", tags=["agent desk"], dependencies=json_post)
    async def preview_dial(session: Auth, body: PreviewDialBody) -> dict[str, Any]:
        return await guarded_async(lambda: desk.preview_dial(session, body.lead_id, body.number_index))

    @router.post("/api/desk/preview/skip", tags=["agent desk"], dependencies=json_post)
    async def preview_skip(session: Auth, body: PreviewSkipBody) -> dict[str, Any]:
        return await guarded_async(lambda: desk.preview_skip(session, body.lead_id, body.reason))

    @router.get("/api/desk/callbacks", tags=["agent desk"])
    async def callbacks(session: Auth) -> dict[str, Any]:
        return await guarded_async(lambda: desk.callbacks(session))

    @router.post("/api/desk/callbacks/move", tags=["agent desk"], dependencies=json_post)
    async def move_callback(session: Auth, body: CallbackMoveBody) -> dict[str, Any]:
        return await guarded_async(lambda: desk.move_callback(session, body.lead_id, body.at, body.owner))

    @router.post("/api/desk/dial", tags=["agent desk"], dependencies=json_post)
    async def manual_dial(session: Auth, body: DialBody) -> dict[str, Any]:
        return await guarded_async(lambda: desk.manual_dial(session, body.number))

    # ------------------------------------------------------------------ the event stream
    @router.get("/api/desk/events", tags=["agent desk"])
    async def events(session: Auth, request: Request, after: int | None = None) -> StreamingResponse:
        agent_id = session.agent_id
        if desk.presence.streams(agent_id) >= desk.options.max_streams_per_agent:
            raise HTTPException(429, "too many open desktops for this agent; close one")
        last_id = _event_id(request.headers.get("last-event-id", ""))
        start = last_id if last_id is not None else after if after is not None else desk.daemon.feed.last_seq(
            agent_id)
        return StreamingResponse(_stream(desk, session, start), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return router


def _event_id(header: str) -> int | None:
    """The seq a `Last-Event-ID` header resumes after; None (the header is ignored) unless it is 1 to 18 ASCII
    digits: str.isdigit() also takes digits int() refuses ('²'), and int() refuses more than 4300 digits."""
    if not header or len(header) > 18 or not header.isascii() or not header.isdigit():
        return None
    return int(header)


def _http_error(exc: DialerError) -> HTTPException:
    """The HTTP answer to an error of the desk or the daemon."""
    if isinstance(exc, DeskError):
        return HTTPException(exc.status, str(exc))
    if isinstance(exc, DispositionRejected):
        return HTTPException(422, str(exc))
    if isinstance(exc, IllegalTransition):
        return HTTPException(409, str(exc))
    if isinstance(exc, PolicyViolation):
        return HTTPException(403, f"the contact policy forbids this call: {exc}")
    if isinstance(exc, CallbackNotMovable):
        return HTTPException(404 if exc.why == "not_yours" else 409, str(exc))
    return HTTPException(502, f"the dialer refused: {exc}")


def _sse(event: str | None, data: dict[str, Any], ident: int | None = None) -> str:
    head = (f"id: {ident}\n" if ident is not None else "") + (f"event: {event}\n" if event else "")
    return f"{head}data: {json.dumps(data, separators=(',', ':'), ensure_ascii=False, default=str)}\n\n"


async def _stream(desk: Desk, session: Session, start: int) -> AsyncIterator[str]:
    """The agent's feed after `start`, in order. A gap (the replay buffer no longer reaches back, or the
    daemon restarted and its seq is behind the page's) ends the stream with `gap`: the page then loads
    a snapshot and reconnects after the snapshot's seq. An ended session ends it with `expired`."""
    agent_id = session.agent_id
    feed = desk.daemon.feed
    desk.stream_opened(agent_id)
    try:
        yield f"retry: {desk.options.retry_ms}\n\n"
        pos = start
        while True:
            if pos > feed.last_seq(agent_id):
                yield _sse("gap", {"last_seq": feed.last_seq(agent_id)})
                return
            msgs = await feed.wait(agent_id, pos, desk.options.ping_s)
            desk.maybe_sweep()
            try:  # checked after every wait, so nothing is delivered once the session is over
                await desk.session(session.token)
            except SessionInvalid as exc:
                yield _sse("expired", {"detail": str(exc)})
                return
            if msgs is None:
                yield _sse("gap", {"last_seq": feed.last_seq(agent_id)})
                return
            if not msgs:
                yield _sse("ping", {"seq": pos})
                continue
            pos = msgs[-1]["seq"]
            yield "".join(_sse(None, m, m["seq"]) for m in msgs)
    finally:
        desk.presence.stream_closed(agent_id)
