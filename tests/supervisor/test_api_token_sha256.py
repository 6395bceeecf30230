"""API tokens kept as their SHA-256 (`token_sha256`): the token opens the API, its hash does not.

Before, `[[api_tokens]] token` held the token in clear, so whoever read the config file held the API. Now
the config may keep only the hex SHA-256 (`dialer hash-token`); the token given is hashed and compared with
every entry's digest in constant time. Tokens in clear keep working (hashed the same way when read).
"""

from __future__ import annotations

import httpx
from pydantic import SecretStr
from sup_fakes import make_rig, settings

from dialer.config import ApiToken
from dialer.credentials import hash_token
from dialer.http import build_app
from dialer.supervisor.auth import Role, TokenBook

LEAD = "QmFzZTY0LWxvb2tpbmctcmFuZG9tLXRva2VuLWZvci1sZWFk"
WATCH = "another-long-random-token-for-the-wallboard"


def book() -> TokenBook:
    return TokenBook([ApiToken(name="lead", token_sha256=hash_token(LEAD), role="admin"),
                      ApiToken(name="wall", token=SecretStr(WATCH), role="read-only")])


def test_a_hashed_token_is_accepted_and_anything_else_refused():
    b = book()
    lead = b.identify(LEAD)
    assert lead is not None
    assert (lead.name, lead.role) == ("lead", Role.ADMIN)
    wall = b.identify(WATCH)
    assert wall is not None
    assert (wall.name, wall.role) == ("wall", Role.READ_ONLY)
    for wrong in (LEAD[:-1], LEAD + "x", LEAD.lower(), hash_token(LEAD), "", WATCH + " "):
        assert b.identify(wrong) is None, wrong


async def test_the_api_takes_the_token_whose_hash_is_configured_and_not_the_hash(redis):
    cfg = settings(tokens=False).model_copy(update={"api_tokens": [
        ApiToken(name="lead", token_sha256=hash_token(LEAD).upper(), role="supervisor")]})
    rig = make_rig(redis, cfg=cfg)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(rig.daemon)), base_url="http://x") as c:
        r = await c.get("/api/whoami", headers={"Authorization": f"Bearer {LEAD}"})
        assert r.status_code == 200
        assert r.json()["name"] == "lead"
        r = await c.get("/api/whoami", headers={"Authorization": f"Bearer {hash_token(LEAD)}"})
        assert r.status_code == 401
        assert "unknown API token" in r.json()["detail"]
