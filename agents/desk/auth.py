"""Agent logins and signed session tokens for the desktop.

A session token is a JWT (RFC 7519) signed HS256 by PyJWT: claims `{"sub": agent id, "exp": expiry (epoch
seconds), "jti": random id}`, the key derived from `settings.http.session_secret` by HMAC-SHA256 under a
label of its own (so the same secret used elsewhere never yields the same signature). Verification pins
the algorithm to HS256 (a token naming `none` or another algorithm is refused, whatever it carries),
requires the three claims, and checks the signature before reading them; then the expiry and the logout
list. The server keeps no session table: a restart does not log anyone out, and any number of daemons
sharing the secret accept the same token.

Why PyJWT rather than hand-written HMAC or itsdangerous: signing and comparing MACs is security code we
would rather not keep ourselves, and a JWT carries exactly the claims a session has, its expiry included.
itsdangerous' `URLSafeTimedSerializer` derives the expiry from the signing time and the `max_age` given at
verification, so a changed `session_ttl_s` would move the expiry of tokens already issued, and a token from
a daemon whose clock runs a second ahead would be refused as signed in the future. PyJWT reads the wall
clock itself (no clock can be given), so the desk asks it to require `exp` but compares it here, with
PyJWT's own rule (expired when `exp <= now`), against the signer's clock, which tests set.

The logout list (`Logouts`) is the exception, and it lives in Redis so that it outlasts a restart and
reaches every daemon: `<prefix>:desk_logout:<jti>` is `ended` (logged out: refused) or `waiting` (the
logout waits for the agent's wrap-up: still accepted; ended by the desk once the agent is no longer
waiting to log out), and expires when the token would have expired anyway. Each daemon also keeps its own
logouts in memory, so they take effect at once and while Redis is away; their Redis writes go through the
store's outbox (in order, retried). Every request reads the key (`SessionSigner.check`); when Redis does
not answer, only this daemon's own logouts are refused until it does (logged).

The token travels in an HttpOnly, SameSite=Strict cookie (the page's EventSource cannot set headers),
or as `Authorization: Bearer` for scripts and tests.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import math
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import jwt

from dialer.config import AgentAccount
from dialer.credentials import decoy_hash, verify_password
from dialer.errors import ConfigError, DialerError, StateStoreError
from dialer.store import redis_call

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from dialer.store import RedisStore

__all__ = ["ENDED", "WAITING", "Accounts", "Logouts", "Session", "SessionInvalid", "SessionSigner"]

log = logging.getLogger(__name__)

Mark = Literal["ended", "waiting"]
ENDED: Mark = "ended"  # logged out: the token is refused
WAITING: Mark = "waiting"  # the logout waits for the agent's wrap-up: the token still works meanwhile


class SessionInvalid(DialerError):
    """A session token is malformed, forged, expired or logged out: log in again."""


@dataclass(frozen=True, slots=True)
class Session:
    agent_id: str
    expires_at: float
    jti: str
    token: str


def _logged_out() -> SessionInvalid:
    return SessionInvalid("session ended by logout; log in again")


def _malformed() -> SessionInvalid:
    return SessionInvalid("malformed session token; log in again")


_ALGORITHM = "HS256"
# a token is about 250 characters (a 64-character agent id at most); anything much longer is not one of
# ours, and is refused before PyJWT decodes it
_MAX_TOKEN_CHARS = 1024
_CLAIMS = ["sub", "exp", "jti"]
# exp is required but compared in SessionSigner.verify, against the signer's clock: PyJWT reads the wall
# clock itself. sub and jti must be strings (PyJWT's verify_sub and verify_jti, on by default).
_DECODE_OPTIONS: jwt.types.Options = {"require": _CLAIMS, "verify_exp": False}


class Logouts:
    """Session ids (jti) ended by logout, or whose logout waits for the agent's wrap-up, until their tokens
    expire: in this process's memory and, given the daemon's `RedisStore`, in Redis (see the module
    docstring). Without a store (a signer on its own, in tests or tools) only the memory is kept."""

    def __init__(self, store: RedisStore | None = None, *, now: Callable[[], float] = time.time) -> None:
        self._store = store
        self._now = now
        self._marks: dict[str, tuple[Mark, float]] = {}  # jti -> (mark, the token's expiry)
        self._waiting: dict[str, Session] = {}  # this process's logouts waiting for a wrap-up
        self._redis_away = False

    def end(self, session: Session) -> None:
        """The session is over: refused from now on, by every daemon sharing the store."""
        self._waiting.pop(session.jti, None)
        self._mark(session, ENDED)

    def end_after_wrapup(self, session: Session) -> None:
        """The agent's logout waits for their wrap-up: the session goes on until the desk ends it."""
        if self.known(session.jti) == ENDED:
            return
        self._waiting[session.jti] = session
        self._mark(session, WAITING)

    def known(self, jti: str) -> Mark | None:
        """What this process knows of the session, without asking Redis."""
        got = self._marks.get(jti)
        return got[0] if got is not None and got[1] > self._now() else None

    def waiting(self) -> list[Session]:
        """This process's sessions whose logout waits for a wrap-up (expired ones dropped)."""
        now = self._now()
        self._waiting = {j: s for j, s in self._waiting.items() if s.expires_at > now}
        return list(self._waiting.values())

    async def lookup(self, jti: str) -> Mark | None:
        """What this process or Redis knows of the session: a logout by another daemon, or by this one
        before a restart, included. A Redis that does not answer leaves this process's knowledge."""
        mine = self.known(jti)
        if mine == ENDED or self._store is None:
            return mine
        store = self._store
        try:
            async with redis_call("reading the desk logouts", store.timeout_s):
                got = await store.r.get(store.key("desk_logout", jti))
        except StateStoreError as exc:
            if not self._redis_away:
                self._redis_away = True
                log.warning("desk logouts cannot be read from Redis: until it answers, only the logouts made on "
                            "this daemon are refused", extra={"error": repr(exc)})
            return mine
        if self._redis_away:
            self._redis_away = False
            log.info("desk logouts are read from Redis again")
        return ENDED if got == ENDED else WAITING if got == WAITING or mine == WAITING else None

    def _mark(self, session: Session, mark: Mark) -> None:
        now = self._now()
        self._marks = {j: m for j, m in self._marks.items() if m[1] > now}
        ttl = math.ceil(session.expires_at - now)
        if ttl <= 0:
            return  # expired already: refused as such
        self._marks[session.jti] = (mark, session.expires_at)
        if self._store is None:
            return
        key = self._store.key("desk_logout", session.jti)

        async def op(r: aioredis.Redis) -> None:
            # an ended session never goes back to waiting (NX), whichever daemon wrote first
            await r.set(key, mark, ex=ttl + 1, nx=mark == WAITING)

        self._store.enqueue(f"desk logout {mark} ({key})", op)


class SessionSigner:
    """Issues and verifies session tokens. `now` is wall-clock epoch seconds (injectable for tests).
    `logouts`: where logouts are kept (default: this process's memory only)."""

    def __init__(self, secret: str | bytes, ttl_s: float, *, now: Callable[[], float] = time.time,
                 logouts: Logouts | None = None) -> None:
        raw = secret.encode() if isinstance(secret, str) else secret
        if not raw:
            raise ValueError("the session secret is empty; set [http] session_secret")
        self._key = hmac.new(b"telecom-dialer agent-desk session v1", raw, hashlib.sha256).digest()
        self.ttl_s = ttl_s
        self._now = now
        self.logouts = logouts if logouts is not None else Logouts(now=now)

    def issue(self, agent_id: str) -> Session:
        exp = int(self._now() + self.ttl_s)
        jti = secrets.token_hex(12)
        token = jwt.encode({"sub": agent_id, "exp": exp, "jti": jti}, self._key, algorithm=_ALGORITHM)
        return Session(agent_id, float(exp), jti, token)

    def verify(self, token: str) -> Session:
        """The session a token stands for, as far as this process knows (logouts Redis holds are read by
        `check`). Raises SessionInvalid saying why, and nothing else whatever the string."""
        # PyJWT encodes a str as UTF-8, which a lone surrogate cannot be; a token of ours is ASCII anyway
        if len(token) > _MAX_TOKEN_CHARS or not token.isascii():
            raise _malformed()
        try:
            claims = jwt.decode(token, self._key, algorithms=[_ALGORITHM], options=_DECODE_OPTIONS)
        except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError):
            raise SessionInvalid("session token signature does not match; log in again") from None
        except jwt.PyJWTError:
            raise _malformed() from None
        agent_id, exp, jti = claims["sub"], claims["exp"], claims["jti"]
        if not isinstance(agent_id, str) or not isinstance(jti, str) or type(exp) is not int:
            raise _malformed()
        if exp <= self._now():
            raise SessionInvalid("session expired; log in again")
        if self.logouts.known(jti) == ENDED:
            raise _logged_out()
        try:
            expires_at = float(exp)
        except OverflowError:  # JSON has no bound on integers; ours are epoch seconds
            raise _malformed() from None
        return Session(agent_id, expires_at, jti, token)

    async def check(self, token: str, *, wait_over: Callable[[Session], bool] | None = None) -> Session:
        """`verify`, then the logouts Redis holds (another daemon's, this one's before a restart): every
        request's check. A session whose logout waited for a wrap-up is ended here once `wait_over(session)`
        says the wait is over. Raises SessionInvalid saying why."""
        session = self.verify(token)
        mark = await self.logouts.lookup(session.jti)
        if mark == WAITING and wait_over is not None and wait_over(session):
            self.revoke(session)
            mark = ENDED
        if mark == ENDED:
            raise _logged_out()
        return session

    def revoke(self, session: Session) -> None:
        """Refuse this token from now on (logout), here and, given a store, in every daemon and after a
        restart. Remembered until it would have expired anyway."""
        self.logouts.end(session)


class Accounts:
    """The agents who may log in (`settings.agents`), each with a password_hash (Argon2id) or a password in
    clear. Whatever the agent id, a login does the same work: an unknown id, or an account whose password
    is in clear, also verifies a decoy hash costing what the accounts' hashes cost, so timing does not tell
    which ids exist."""

    def __init__(self, accounts: Iterable[AgentAccount]) -> None:
        self._by_id = {a.id: a for a in accounts}
        self._dummy = secrets.token_bytes(32)
        self._decoy = decoy_hash(a.password_hash for a in self._by_id.values() if a.password_hash is not None)

    def get(self, agent_id: str) -> AgentAccount | None:
        return self._by_id.get(agent_id)

    def __iter__(self) -> Iterator[AgentAccount]:
        return iter(self._by_id.values())

    @property
    def hashed(self) -> bool:
        """Whether a login costs an Argon2 verification (tens of milliseconds of CPU): run it off the loop."""
        return self._decoy is not None

    def check(self, agent_id: str, password: str) -> AgentAccount | None:
        """The account when the password matches, else None. Blocks for an Argon2 verification when any
        account has a password_hash (`hashed`)."""
        # a lone surrogate (JSON may spell one) is a wrong password, not an encoding error
        given = password.encode("utf-8", "surrogatepass")
        account = self._by_id.get(agent_id)
        clear = account.password if account is not None else None
        expected = clear.get_secret_value().encode() if clear is not None else self._dummy
        ok = hmac.compare_digest(given, expected) and account is not None and clear is not None
        stored = account.password_hash if account is not None else None
        if stored is None:
            if self._decoy is not None:
                self._verify(self._decoy, given)  # the cost of a hashed account's check; never matches
            return account if ok else None
        return account if self._verify(stored, given, agent_id) else None

    async def check_off_loop(self, agent_id: str, password: str) -> AgentAccount | None:
        """`check`, in a worker thread when it verifies a hash (Argon2 releases the GIL), so a login does not
        stall the event loop that paces calls and answers Asterisk."""
        if not self.hashed:
            return self.check(agent_id, password)
        return await asyncio.to_thread(self.check, agent_id, password)

    @staticmethod
    def _verify(stored: str, password: bytes, agent_id: str | None = None) -> bool:
        try:
            return verify_password(stored, password)
        except ConfigError as exc:
            log.error("desk login cannot verify a password hash: %s", exc, extra={"agent_id": agent_id})
            return False
