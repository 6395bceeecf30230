"""Agent logins and signed session tokens for the desktop.

A session token is `<payload>.<mac>`, both base64url: the payload is JSON `{"sub": agent id, "exp":
expiry (epoch seconds), "jti": random id}`, the MAC is HMAC-SHA256 over the payload bytes with a key
derived from `settings.http.session_secret` (derived, so the same secret used elsewhere never yields
the same MAC). Verification recomputes the MAC and compares with `hmac.compare_digest` before reading
the payload, then checks expiry and the logout list. The server keeps no session table: a restart does
not log anyone out, and any number of daemons sharing the secret accept the same token.

The token travels in an HttpOnly, SameSite=Strict cookie (the page's EventSource cannot set headers),
or as `Authorization: Bearer` for scripts and tests.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from dialer.config import AgentAccount
from dialer.errors import DialerError

__all__ = ["Accounts", "Session", "SessionInvalid", "SessionSigner"]


class SessionInvalid(DialerError):
    """A session token is malformed, forged, expired or logged out: log in again."""


@dataclass(frozen=True, slots=True)
class Session:
    agent_id: str
    expires_at: float
    jti: str
    token: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Issues and verifies session tokens. `now` is wall-clock epoch seconds (injectable for tests)."""

    def __init__(self, secret: str | bytes, ttl_s: float, *, now: Callable[[], float] = time.time) -> None:
        raw = secret.encode() if isinstance(secret, str) else secret
        if not raw:
            raise ValueError("the session secret is empty; set [http] session_secret")
        self._key = hmac.new(b"telecom-dialer agent-desk session v1", raw, hashlib.sha256).digest()
        self.ttl_s = ttl_s
        self._now = now
        self._revoked: dict[str, float] = {}

    def issue(self, agent_id: str) -> Session:
        exp = int(self._now() + self.ttl_s)
        jti = secrets.token_hex(12)
        payload = _b64(json.dumps({"sub": agent_id, "exp": exp, "jti": jti}, separators=(",", ":")).encode())
        token = f"{payload}.{self._mac(payload)}"
        return Session(agent_id, float(exp), jti, token)

    def verify(self, token: str) -> Session:
        """The session a token stands for. Raises SessionInvalid saying why."""
        payload, dot, mac = token.partition(".")
        if not dot or not payload or not mac or len(token) > 1024:
            raise SessionInvalid("malformed session token; log in again")
        if not hmac.compare_digest(mac.encode(), self._mac(payload).encode()):
            raise SessionInvalid("session token signature does not match; log in again")
        try:
            data = json.loads(_unb64(payload))
            agent_id, exp, jti = data["sub"], data["exp"], data["jti"]
        except (binascii.Error, ValueError, KeyError, TypeError):
            raise SessionInvalid("malformed session token; log in again") from None
        if not isinstance(agent_id, str) or not isinstance(exp, int) or not isinstance(jti, str):
            raise SessionInvalid("malformed session token; log in again")
        now = self._now()
        if exp <= now:
            raise SessionInvalid("session expired; log in again")
        if jti in self._revoked:
            raise SessionInvalid("session ended by logout; log in again")
        return Session(agent_id, float(exp), jti, token)

    def revoke(self, session: Session) -> None:
        """Refuse this token from now on (logout). Remembered only until it would have expired anyway."""
        now = self._now()
        self._revoked = {j: e for j, e in self._revoked.items() if e > now}
        self._revoked[session.jti] = session.expires_at

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode("ascii", "replace"), hashlib.sha256).digest())


class Accounts:
    """The agents who may log in (`settings.agents`)."""

    def __init__(self, accounts: Iterable[AgentAccount]) -> None:
        self._by_id = {a.id: a for a in accounts}
        self._dummy = secrets.token_bytes(32)

    def get(self, agent_id: str) -> AgentAccount | None:
        return self._by_id.get(agent_id)

    def __iter__(self) -> Iterator[AgentAccount]:
        return iter(self._by_id.values())

    def check(self, agent_id: str, password: str) -> AgentAccount | None:
        """The account when the password matches, else None. An unknown agent costs the same comparison,
        so timing does not tell which agent ids exist."""
        account = self._by_id.get(agent_id)
        expected = account.password.get_secret_value().encode() if account is not None else self._dummy
        ok = hmac.compare_digest(password.encode(), expected)
        return account if ok and account is not None else None
