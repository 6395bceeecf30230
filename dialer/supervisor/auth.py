"""Bearer-token auth for the supervisor API, with three roles.

Tokens come only from the daemon's `api_tokens` settings, each with a role. Agents' desktop session
tokens are a different kind of credential (signed with `http.session_secret`) and are never in that
list, so they get 401 here: agents cannot use the supervisor API. A token is configured as its SHA-256
(`token_sha256`, which `dialer hash-token` prints) or in clear (`token`); either way the token given is
hashed and its digest compared with each entry's in constant time, over the whole list so its timing
does not tell which entry matched.

Roles are ordered: read-only < supervisor < admin. A route asks for the least role it needs.
    read-only    look: campaigns, decisions, agents, calls (numbers masked), reports, wallboard
    supervisor   act on the shift: start/pause/stop, pacing knobs, agents' pause/logout, listen/whisper/
                 barge, DNC additions, lead imports, what-if replays
    admin        change the set-up: create and edit campaigns, remove DNC entries, read the audit log
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from dialer.config import ApiToken
from dialer.credentials import token_digest

__all__ = ["Principal", "Role", "TokenBook", "requirer"]


class Role(IntEnum):
    """What a token may do; a higher role may do everything a lower one may."""

    READ_ONLY = 1
    SUPERVISOR = 2
    ADMIN = 3

    @classmethod
    def parse(cls, name: str) -> Role:
        return {"read-only": cls.READ_ONLY, "supervisor": cls.SUPERVISOR, "admin": cls.ADMIN}[name]

    @property
    def label(self) -> str:
        return {Role.READ_ONLY: "read-only", Role.SUPERVISOR: "supervisor", Role.ADMIN: "admin"}[self]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's name (for the audit log) and its role."""

    name: str
    role: Role

    def may(self, role: Role) -> bool:
        return self.role >= role


class TokenBook:
    """The configured tokens, each kept as its SHA-256 (`token_sha256`, or the hash of a `token` in clear);
    `identify(token)` hashes the token given once and compares digests in constant time over the whole list."""

    def __init__(self, tokens: Sequence[ApiToken]) -> None:
        self._entries = [(_digest(t), Principal(t.name, Role.parse(t.role))) for t in tokens]

    def __len__(self) -> int:
        return len(self._entries)

    def identify(self, token: str) -> Principal | None:
        given = token_digest(token)
        found: Principal | None = None
        for digest, who in self._entries:
            if hmac.compare_digest(digest, given) and found is None:
                found = who
        return found


def _digest(t: ApiToken) -> bytes:
    if t.token_sha256 is not None:
        return bytes.fromhex(t.token_sha256)
    if t.token is None:  # ApiToken's validation sees to one of the two
        raise ValueError(f"api token {t.name!r} has neither token nor token_sha256")
    return token_digest(t.token.get_secret_value())


_bearer = HTTPBearer(auto_error=False, description="an API token from the daemon's [[api_tokens]] settings")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def requirer(book: TokenBook) -> Callable[[Role], Callable[[Credentials], Principal]]:
    """`need(Role.X)` gives a FastAPI dependency that returns the caller or raises 401/403."""

    def need(role: Role) -> Callable[[Credentials], Principal]:
        def check(creds: Credentials) -> Principal:
            if not len(book):
                raise _unauthorized("no API tokens are configured: add [[api_tokens]] (name, token_sha256 "
                                    "from `dialer hash-token`, role) to the config")
            if creds is None:
                raise _unauthorized("missing credentials: send 'Authorization: Bearer <API token>'")
            who = book.identify(creds.credentials)
            if who is None:
                raise _unauthorized("unknown API token (agent session tokens are not accepted here)")
            if not who.may(role):
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN,
                    detail=f"token {who.name!r} has role {who.role.label}; this needs {role.label} or higher",
                )
            return who

        return check

    return need
