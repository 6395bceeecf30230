"""Desk logins against an agent's password_hash (Argon2id), with the timing of every refusal alike.

Before, `Accounts.check` compared the password with one kept in clear in the config. Now an account may
keep only its Argon2id hash; an unknown agent id, or an account whose password is in clear, verifies a
decoy hash of the same cost, so how long a refusal takes does not tell which ids exist. The verification
runs in a worker thread (the event loop paces calls meanwhile), one login at a time, so attempts made at
once still meet the login limiter one after another.
"""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from argon2 import PasswordHasher, extract_parameters
from pydantic import SecretStr

import agents.desk.auth as desk_auth
from agents.desk import DeskOptions
from agents.desk.auth import Accounts
from agents.desk.harness import DeskHarness
from dialer.config import AgentAccount
from dialer.credentials import decoy_hash, verify_password
from dialer.errors import ConfigError

# cheap parameters, as a test can afford; the decoy follows whatever the accounts use
FAST = PasswordHasher(time_cost=1, memory_cost=16, parallelism=1)
ANN = AgentAccount(id="ann", extension="1001", password_hash=FAST.hash("ann-secret-1"))
BOB = AgentAccount(id="bob", extension="1002", password=SecretStr("bob-secret-2"))


def shape(h: str) -> tuple[int, int, int, int, int]:
    p = extract_parameters(h)
    return p.memory_cost, p.time_cost, p.parallelism, p.salt_len, p.hash_len


def test_a_hashed_password_logs_in_and_a_wrong_one_does_not():
    acc = Accounts([ANN, BOB])
    assert acc.check("ann", "ann-secret-1") is ANN
    assert acc.check("ann", "ann-secret-2") is None
    assert acc.check("ann", "ann-secret-1 ") is None
    assert acc.check("ann", FAST.hash("ann-secret-1")) is None  # nor does a hash stand for the password
    assert acc.check("bob", "bob-secret-2") is BOB  # in clear, still
    assert acc.check("bob", "ann-secret-1") is None
    assert acc.check("zed", "ann-secret-1") is None
    for agent_id in ("ann", "bob", "zed"):  # a lone surrogate, as JSON may spell one: refused, not an error
        assert acc.check(agent_id, "\ud800") is None


@pytest.mark.parametrize("agent_id", ["ann", "bob", "zed"])
def test_every_login_verifies_one_hash_of_the_accounts_cost_whoever_it_names(monkeypatch, agent_id):
    acc = Accounts([ANN, BOB])
    verified: list[str] = []

    def spy(stored: str, password: bytes) -> bool:
        verified.append(stored)
        return verify_password(stored, password)

    monkeypatch.setattr(desk_auth, "verify_password", spy)
    assert acc.check(agent_id, "wrong") is None
    [stored] = verified
    assert shape(stored) == shape(ANN.password_hash or "")
    assert (stored == ANN.password_hash) is (agent_id == "ann")  # the others verify the decoy


def test_without_hashed_accounts_no_hash_is_verified(monkeypatch):
    def no(stored: str, password: str) -> bool:
        raise AssertionError("no Argon2 verification expected")

    monkeypatch.setattr(desk_auth, "verify_password", no)
    acc = Accounts([BOB])
    assert not acc.hashed
    assert acc.check("zed", "x") is None
    assert acc.check("bob", "bob-secret-2") is BOB


def test_the_decoy_follows_the_most_common_parameters_and_matches_no_password():
    other = FAST.hash("x")
    slow = PasswordHasher(time_cost=2, memory_cost=32, parallelism=1).hash("y")
    decoy = decoy_hash([other, slow, ANN.password_hash or ""])
    assert decoy is not None
    assert shape(decoy) == shape(other)
    assert decoy_hash([]) is None
    for guess in ("", "x", "ann-secret-1"):
        assert verify_password(decoy, guess) is False


def test_a_hash_that_cannot_be_verified_at_login_refuses_and_says_why(monkeypatch, caplog):
    def broken(stored: str, password: str) -> bool:
        raise ConfigError("a password_hash could not be verified (Memory allocation error)")

    monkeypatch.setattr(desk_auth, "verify_password", broken)
    with caplog.at_level(logging.ERROR, logger="agents.desk.auth"):
        assert Accounts([ANN]).check("ann", "ann-secret-1") is None
    assert "Memory allocation error" in caplog.text


async def test_the_desk_logs_in_with_a_hashed_password_and_meets_the_limiter_one_attempt_at_a_time(redis_url):
    opts = DeskOptions(login_max_failures_per_agent=3, login_max_failures_per_address=50, login_window_s=300.0)
    async with DeskHarness(redis_url=redis_url, serve_http=False, options=opts) as h:
        assert h.desk is not None
        h.desk.accounts = Accounts([ANN.model_copy(update={"campaign": h.campaign}),
                                    AgentAccount(id="bob", extension="1002", password_hash=FAST.hash("bob-secret-2"),
                                                 campaign=h.campaign)])
        transport = httpx.ASGITransport(app=h.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://desk.test", timeout=10) as c:
            async def login(agent: str, password: str) -> int:
                r = await c.post("/api/desk/login", json={"agent_id": agent, "password": password})
                return r.status_code

            assert await login("ann", "ann-secret-1") == 200
            assert await login("bob", "wrong") == 401
            # six wrong guesses at once: the limit of three holds, as it does one after another
            codes = await asyncio.gather(*(login("zed", f"guess-{i}") for i in range(6)))
            assert sorted(codes) == [401, 401, 401, 429, 429, 429]
            assert await login("bob", "bob-secret-2") == 200
