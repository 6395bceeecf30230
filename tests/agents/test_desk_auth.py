"""Session tokens and logins: forged, tampered, expired and logged-out tokens are refused."""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections.abc import AsyncIterator

import jwt
import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from agents.desk.auth import ENDED, WAITING, Accounts, Logouts, SessionInvalid, SessionSigner
from agents.desk.presence import Presence
from dialer.config import AgentAccount
from dialer.store import RedisStore, connect_redis


class Clock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def b64(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_a_token_round_trips_and_carries_its_expiry():
    clock = Clock()
    s = SessionSigner("secret", 3600, now=clock)
    issued = s.issue("ann")
    got = s.verify(issued.token)
    assert (got.agent_id, got.expires_at, got.jti) == ("ann", clock.t + 3600, issued.jti)


def test_a_token_signed_with_another_secret_or_edited_is_forged():
    s = SessionSigner("secret", 3600, now=Clock())
    token = s.issue("ann").token
    header, payload, sig = token.split(".")
    other = SessionSigner("other-secret", 3600, now=Clock()).issue("ann").token
    as_bob = f"{header}.{b64({'sub': 'bob', 'exp': 2_000_000, 'jti': 'x'})}.{sig}"
    # flip the signature's second-to-last character (the last may carry unused base64 bits): always a change
    flipped = sig[:-2] + ("B" if sig[-2] == "A" else "A") + sig[-1]
    for forged in (other, as_bob, f"{header}.{payload}.{flipped}"):
        with pytest.raises(SessionInvalid, match="signature does not match"):
            s.verify(forged)


@pytest.mark.parametrize("bad", ["", "abc", ".", "abc.", ".abc", "..", "a.b.c", "x" * 2000])
def test_malformed_tokens_are_refused(bad):
    with pytest.raises(SessionInvalid):
        SessionSigner("secret", 60).verify(bad)


def test_a_correctly_signed_but_malformed_payload_is_refused():
    s = SessionSigner("secret", 60, now=Clock())
    for claims in ({"sub": "ann"}, {"sub": 1, "exp": 2_000_000, "jti": "j"}):
        token = jwt.encode(claims, s._key, algorithm="HS256")
        with pytest.raises(SessionInvalid, match="malformed"):
            s.verify(token)


def test_expiry_and_logout_end_a_session():
    clock = Clock()
    s = SessionSigner("secret", 60, now=clock)
    a, b = s.issue("ann"), s.issue("ann")
    s.revoke(a)
    with pytest.raises(SessionInvalid, match="ended by logout"):
        s.verify(a.token)
    assert s.verify(b.token).agent_id == "ann"
    clock.t += 60
    with pytest.raises(SessionInvalid, match="expired"):
        s.verify(b.token)


@pytest.fixture
async def shared(redis_url: str) -> AsyncIterator[tuple[aioredis.Redis, str]]:
    """A client of the suite's Redis and a prefix of this test's own (its keys deleted afterwards): what
    daemons sharing that Redis, or one daemon before and after a restart, have in common."""
    client = connect_redis(redis_url)
    prefix = f"auth-{secrets.token_hex(4)}"
    try:
        yield client, prefix
    finally:
        keys = [k async for k in client.scan_iter(f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


def daemon_signer(client: aioredis.Redis, prefix: str, clock: Clock,
                  ttl_s: float = 3600) -> tuple[SessionSigner, RedisStore]:
    """The signer a daemon's desk has (`agents.desk.build_desk`), its logouts in the daemon's Redis store."""
    store = RedisStore(client, prefix=prefix)
    return SessionSigner("s3cret", ttl_s, now=clock, logouts=Logouts(store, now=clock)), store


async def test_a_logout_outlives_a_restart_and_reaches_every_daemon(shared):
    # docs/AGENT_DESKTOP.md: "A forged, edited, expired or logged-out token gets a 401 on every endpoint";
    # the logout list lived in the signer's memory only, so a restarted daemon took the token back
    client, prefix = shared
    clock = Clock(1_800_000_000.0)
    before, store = daemon_signer(client, prefix, clock, 8 * 3600)
    s, other = before.issue("ann"), before.issue("ann")
    before.revoke(s)  # POST /api/desk/logout
    with pytest.raises(SessionInvalid, match="ended by logout"):
        await before.check(s.token)  # at once, before Redis has it
    await store.flush()  # the daemon stops: its outbox is written
    key = store.key("desk_logout", s.jti)
    assert await client.get(key) == ENDED
    assert 8 * 3600 - 5 <= await client.ttl(key) <= 8 * 3600 + 1  # until the token would expire anyway
    clock.t += 60
    for _daemon in ("restarted", "another one"):  # sharing the secret and Redis
        after, _ = daemon_signer(client, prefix, clock, 8 * 3600)
        with pytest.raises(SessionInvalid, match="ended by logout"):
            await after.check(s.token)
        assert (await after.check(other.token)).jti == other.jti  # a restart logs nobody else out


async def test_a_logout_that_waits_for_the_wrapup_ends_the_session_when_the_wait_is_over(shared):
    client, prefix = shared
    clock = Clock(1_800_000_000.0)
    signer, store = daemon_signer(client, prefix, clock)
    s = signer.issue("ann")
    signer.logouts.end_after_wrapup(s)  # POST /api/desk/logout answered done: false
    waiting = True

    def wait_over(_s: object) -> bool:
        return not waiting

    assert (await signer.check(s.token, wait_over=wait_over)).jti == s.jti  # still at work
    assert signer.logouts.waiting() == [s]
    key = store.key("desk_logout", s.jti)
    await store.flush()
    assert await client.get(key) == WAITING
    # the daemon restarts meanwhile: the new one knows the logout waits, and ends it once the wait is over
    other, _ = daemon_signer(client, prefix, clock)
    assert (await other.check(s.token, wait_over=wait_over)).jti == s.jti
    waiting = False  # the wrap-up ended: the agent is logged out
    for either in (signer, other):
        with pytest.raises(SessionInvalid, match="ended by logout"):
            await either.check(s.token, wait_over=wait_over)
    assert signer.logouts.waiting() == []
    await store.flush()
    assert await client.get(key) == ENDED
    # a waiting logout written late (by a daemon that never saw the end) never takes an ended one back
    late, late_store = daemon_signer(client, prefix, clock)
    late.logouts.end_after_wrapup(s)
    await late_store.flush()
    assert await client.get(key) == ENDED
    with pytest.raises(SessionInvalid, match="ended by logout"):
        signer.verify(s.token)


async def test_with_redis_away_this_daemons_logouts_are_still_refused_and_the_outage_logged_once(caplog):
    clock = Clock(1_800_000_000.0)
    client = connect_redis("redis://127.0.0.1:1")  # nothing listens there: every read fails at once
    try:
        signer = SessionSigner("s3cret", 3600, now=clock,
                               logouts=Logouts(RedisStore(client, prefix="away", timeout_s=1.0), now=clock))
        s, other = signer.issue("ann"), signer.issue("bob")
        signer.revoke(s)
        with pytest.raises(SessionInvalid, match="ended by logout"):
            await signer.check(s.token)
        for _ in range(3):
            assert (await signer.check(other.token)).agent_id == "bob"
        away = [r for r in caplog.records if "cannot be read from Redis" in r.getMessage()]
        assert [r.levelno for r in away] == [logging.WARNING]
        assert "Redis failed while reading the desk logouts" in away[0].error  # dialer.store.redis_call's words
    finally:
        await client.aclose()


def test_an_empty_secret_is_refused():
    with pytest.raises(ValueError, match="session_secret"):
        SessionSigner("", 60)


def test_accounts_check_passwords_and_treat_unknown_agents_like_wrong_passwords():
    acc = Accounts([AgentAccount(id="ann", extension="1001", password=SecretStr("pw-ann"))])
    assert acc.check("ann", "pw-ann").id == "ann"
    assert acc.check("ann", "pw-an") is None
    assert acc.check("ann", "pw-ann ") is None
    assert acc.check("zed", "pw-ann") is None
    assert [a.id for a in acc] == ["ann"]


def test_presence_goes_offline_without_a_sign_of_life_and_reports_it_once():
    clock = Clock(0.0)
    p = Presence(30.0, now=clock)
    assert p.seen("ann") is True
    assert p.seen("ann") is False
    p.stream_opened("ann")
    clock.t = 30.0
    assert p.sweep() == []
    assert p.online("ann")
    clock.t = 30.5
    assert not p.online("ann")
    assert p.sweep() == ["ann"]
    assert p.sweep() == []
    assert p.to_json("ann") == {"online": False, "streams": 1, "seen_s_ago": 30.5}
    assert p.seen("ann") is True  # back
    p.stream_closed("ann")
    p.forget("ann")
    assert p.to_json("ann") == {"online": False, "streams": 0, "seen_s_ago": None}
    with pytest.raises(ValueError, match="positive"):
        Presence(0)
