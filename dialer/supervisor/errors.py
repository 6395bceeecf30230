"""Supervisor API errors, each with the HTTP status it becomes.

    DialerError
    └── SupervisorError        status 400
        ├── NotFound           404: no such campaign, agent, call
        ├── Conflict           409: the target exists, or its state forbids the move now
        ├── Invalid            422: the payload is well-formed but breaks a rule (knob out of range)
        ├── Unavailable        503: Redis or AMI did not answer; nothing was changed
        └── NotSupported       501: the running daemon lacks the hook this needs

`http_errors()` turns them (and IllegalTransition, LeadError, DispositionRejected, CallbackNotMovable,
StateStoreError, AmiError) into HTTPException at the route, so the service code never imports FastAPI.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from agents.dispositions import DispositionRejected
from dialer.errors import AmiError, CallbackNotMovable, DialerError, IllegalTransition, LeadError, StateStoreError

__all__ = [
    "ECHO_ERRORS",
    "ClearErrors",
    "Conflict",
    "Invalid",
    "NotFound",
    "NotSupported",
    "SupervisorError",
    "Unavailable",
    "brief",
    "http_errors",
    "json_safe",
    "validation_error_response",
]


class SupervisorError(DialerError):
    """A supervisor request that cannot be carried out; the message says why and what to do."""

    status = 400


class NotFound(SupervisorError):
    """The campaign, agent or call named in the request does not exist."""

    status = 404


class Conflict(SupervisorError):
    """The request clashes with the current state (already exists, agent not on a call...)."""

    status = 409


class Invalid(SupervisorError):
    """The payload parsed but a value breaks a rule."""

    status = 422


class Unavailable(SupervisorError):
    """A backing service (Redis, AMI) did not answer; nothing was changed."""

    status = 503


class NotSupported(SupervisorError):
    """The running daemon does not offer what this request needs."""

    status = 501


@contextlib.contextmanager
def http_errors() -> Iterator[None]:
    """Map our errors to HTTP statuses with the message as `detail`."""
    try:
        yield
    except SupervisorError as exc:
        raise HTTPException(exc.status, detail=str(exc)) from exc
    except IllegalTransition as exc:
        raise HTTPException(409, detail=str(exc)) from exc
    except (LeadError, DispositionRejected) as exc:
        raise HTTPException(422, detail=str(exc)) from exc
    except CallbackNotMovable as exc:
        raise HTTPException(404 if exc.why == "not_yours" else 409, detail=str(exc)) from exc
    except (StateStoreError, AmiError) as exc:
        raise HTTPException(503, detail=str(exc)) from exc


def json_safe(value: Any) -> Any:
    """`value` (JSON-like: dicts, lists, str, numbers) made writable as strict UTF-8 JSON: a lone surrogate (which
    a JSON string may carry as `\\ud800`) is written as its escape, a NaN or an infinity as its name. An error
    answer that echoes what it refuses must not fail to encode it (FastAPI answers 500 then)."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {json_safe(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


ECHO_CHARS = 80  # of a refused string echoed in a 422 (the payload may be up to [http] max_body_bytes)
_ECHO_ITEMS = 10  # of a refused object or array
_ECHO_DEPTH = 2


def brief(value: Any, depth: int = 0) -> Any:
    """`value` (JSON-like) cut down for echoing in an error answer: strings to ECHO_CHARS characters, objects
    and arrays to their first few items, two levels deep, each cut marked with "…". A 422 says which value
    was refused, not all of it: a 1 MB string answered in full doubles the work of refusing it."""
    if isinstance(value, str):
        return value if len(value) <= ECHO_CHARS else value[:ECHO_CHARS] + "…"
    if isinstance(value, dict | list | tuple) and depth >= _ECHO_DEPTH:
        return "…"
    if isinstance(value, dict):
        out = {brief(str(k), _ECHO_DEPTH): brief(v, depth + 1) for k, v in list(value.items())[:_ECHO_ITEMS]}
        if len(value) > _ECHO_ITEMS:
            out["…"] = f"{len(value) - _ECHO_ITEMS} more"
        return out
    if isinstance(value, list | tuple):
        items = [brief(v, depth + 1) for v in value[:_ECHO_ITEMS]]
        return items + ([f"… {len(value) - _ECHO_ITEMS} more"] if len(value) > _ECHO_ITEMS else [])
    return value


ECHO_ERRORS = 10  # errors a 422 lists; the rest are counted ("more")


def _first_errors(exc: RequestValidationError) -> tuple[list[dict[str, Any]], int]:
    """The first ECHO_ERRORS errors and how many more there are. A body of 100,000 unknown keys (a megabyte, under
    `extra="forbid"`) is 100,000 errors: answered in full, 10 MB built in the event loop for seconds."""
    errors = exc.errors()
    return [dict(e) for e in errors[:ECHO_ERRORS]], max(0, len(errors) - ECHO_ERRORS)


MSG_CHARS = 400  # of an error's message: ours say what to do (cut at ECHO_CHARS, the advice went), yet may quote input


def _brief_msg(msg: Any) -> str:
    text = str(msg)
    return text if len(text) <= MSG_CHARS else text[:MSG_CHARS] + "…"


def _brief_loc(loc: Any) -> list[Any]:
    """Each part of an error's `loc` cut like a refused value: a refused unknown key is named there."""
    return [p if isinstance(p, int) else brief(str(p)) for p in loc or ()]


def validation_error_response(exc: RequestValidationError) -> JSONResponse:
    """FastAPI's own 422 answer (`{"detail": [errors]}`), for the routes outside `ClearErrors` (the agent desk):
    the first ECHO_ERRORS errors, each `loc` part, `msg` and refused `input` cut down (`brief`) and made safe to
    encode (`json_safe`); `more`, how many errors were left out, when some were."""
    shown, more = _first_errors(exc)
    errors = [{**e, "loc": _brief_loc(e.get("loc")), "msg": _brief_msg(e.get("msg", ""))}
              | ({"input": brief(e["input"])} if "input" in e else {}) for e in shown]
    body: dict[str, Any] = {"detail": json_safe(jsonable_encoder(errors))}
    if more:
        body["more"] = more
    return JSONResponse(body, status_code=422)


def _summary(err: dict[str, Any]) -> dict[str, Any]:
    where = [str(p) for p in _brief_loc(err.get("loc"))]
    out: dict[str, Any] = {"loc": where, "msg": _brief_msg(err.get("msg", "invalid")), "type": str(err.get("type", ""))}
    given = err.get("input")
    if isinstance(given, bool | int | str) or (isinstance(given, float) and math.isfinite(given)):
        out["input"] = json_safe(brief(given))
    return out


class ClearErrors(APIRoute):
    """Routes whose 422s say `where: what` in one line and never fail to encode (a NaN in the payload
    makes FastAPI's own handler answer 500, because the offending input cannot be written as JSON)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except RequestValidationError as exc:
                shown, more = _first_errors(exc)
                errors = [_summary(e) for e in shown]
                first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
                where = ".".join(first["loc"]) or "request"
                rest = len(errors) - 1 + more
                tail = f" (and {rest} more)" if rest > 0 else ""
                body: dict[str, Any] = {"detail": errors, "message": f"{where}: {first['msg']}{tail}"}
                if more:
                    body["more"] = more
                return JSONResponse(body, status_code=422)

        return handler
