"""The agent desktop: a web page served by the daemon, its JSON API and its event stream.

    build_router(daemon)   the FastAPI routes (`dialer.http.build_app` includes them)
    build_desk(daemon)     the desk itself, to pass options or to reach it from tests

Modules: `auth` (logins, signed session tokens), `presence` (who is really at their desk), `core` (the
desk's logic), `routes` (HTTP and SSE), `hooks` (what the desk needs from the daemon for preview dialing,
manual dialing and blind transfer), `static/` (the page: plain HTML, CSS and JavaScript, no build step).
See docs/AGENT_DESKTOP.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter

from agents.desk.auth import Accounts, Logouts, SessionSigner
from agents.desk.core import Desk, DeskOptions
from agents.desk.presence import Presence
from agents.desk.routes import desk_routes
from agents.screenpop import ScreenPopRenderer
from dialer.config import DEFAULT_SESSION_SECRET, SECRET_HINT
from dialer.store import RedisStore

if TYPE_CHECKING:
    from dialer.daemon import Daemon

__all__ = ["Desk", "DeskOptions", "build_desk", "build_router"]

log = logging.getLogger(__name__)


def build_desk(
    daemon: Daemon,
    *,
    options: DeskOptions | None = None,
    renderer: ScreenPopRenderer | None = None,
    wall_clock: Callable[[], float] = time.time,
    monotonic: Callable[[], float] = time.monotonic,
) -> Desk:
    """The desk of this daemon. The renderer defaults to the engine's own screen-pop renderer (so the
    desk validates dispositions against the same scripts), else one with the default dispositions."""
    options = options or DeskOptions.from_settings(daemon.settings.desk)
    if renderer is None:
        found = daemon.engine.screenpop
        renderer = found if isinstance(found, ScreenPopRenderer) else ScreenPopRenderer()
    http = daemon.settings.http
    secret = http.session_secret.get_secret_value()
    if secret == DEFAULT_SESSION_SECRET:  # `dialer run` refuses it beyond loopback (check_placeholder_secrets)
        log.warning("the agent desk uses the default session secret, which anyone can sign sessions with; "
                    "set [http] session_secret: %s", SECRET_HINT)
    # logouts are kept in the daemon's Redis, so a restart or another daemon refuses them too (a desk built
    # for its options alone, in a test, has no store: memory then)
    store = getattr(daemon, "store", None)
    logouts = Logouts(store if isinstance(store, RedisStore) else None, now=wall_clock)
    return Desk(
        daemon,
        options=options,
        renderer=renderer,
        signer=SessionSigner(secret, http.session_ttl_s, now=wall_clock, logouts=logouts),
        accounts=Accounts(daemon.settings.agents),
        presence=Presence(options.presence_timeout_s, now=monotonic),
    )


def build_router(daemon: Daemon, *, desk: Desk | None = None) -> APIRouter:
    """Routes of the agent desktop, with a lifespan task that keeps agent presence up to date."""
    the_desk = desk or build_desk(daemon)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        stop = asyncio.Event()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(_sweep_presence(the_desk, stop), name="desk-presence")
            try:
                yield
            finally:
                stop.set()

    return desk_routes(the_desk, lifespan)


async def _sweep_presence(desk: Desk, stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(desk.options.sweep_every_s):
                await stop.wait()
        desk.sweep_presence()
