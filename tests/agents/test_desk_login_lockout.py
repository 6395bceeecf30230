"""Failed desk logins lock an agent out of one address only; from many addresses they slow the agent down.

Someone who can reach the login page and knows an agent's ID (they are guessable) must not lock that agent
out of their own desk: the hard lock is per agent *and* client address, and the agent-wide count only adds a
growing delay, which an address the agent logged in from does not wait for (agents.desk.ratelimit).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from agents.desk import DeskOptions
from agents.desk.core import DeskError
from agents.desk.harness import DeskHarness
from agents.desk.ratelimit import LoginLimiter, Refusal

ATTACKER, DESK = "203.0.113.66", "10.0.0.21"


class Clock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@asynccontextmanager
async def from_address(h: DeskHarness, host: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=h.app, client=(host, 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://desk.test", timeout=10) as c:
        yield c


async def login(c: httpx.AsyncClient, agent: str, password: str) -> httpx.Response:
    return await c.post("/api/desk/login", json={"agent_id": agent, "password": password})


async def test_wrong_passwords_from_elsewhere_do_not_lock_the_agent_out_of_their_own_desk(redis_url):
    clock = Clock()
    async with DeskHarness(redis_url=redis_url, serve_http=False, monotonic=clock) as h, \
            from_address(h, ATTACKER) as attacker, from_address(h, DESK) as desk:
        for i in range(5):
            clock.t = 1000.0 + i
            assert (await login(attacker, "ann", "guess")).status_code == 401
        assert (await login(desk, "ann", "ann-secret-1")).status_code == 200  # her own desk is not locked
        r = await login(attacker, "ann", "ann-secret-1")  # the attacker's address is, even for the password
        assert (r.status_code, r.headers["retry-after"]) == (429, "296")
        assert r.json()["detail"] == (
            "too many failed logins for ann from this address; try again in 296 s, or a supervisor can lift it "
            "now (dialer agents unlock ann, or POST /api/agents/ann/login-unlock)")


async def test_a_lock_is_logged_at_warning_with_the_address_and_what_locked(redis_url, caplog):
    async with DeskHarness(redis_url=redis_url, serve_http=False, monotonic=Clock()) as h, \
            from_address(h, ATTACKER) as attacker:
        with caplog.at_level(logging.WARNING, logger="agents.desk.core"):
            for _ in range(6):
                await login(attacker, "ann", "guess")
        got = [(r.getMessage(), r.levelno, r.agent_id, r.client, getattr(r, "scope", None))  # type: ignore[attr-defined]
               for r in caplog.records]
        assert got == [*[("desk login refused", logging.WARNING, "ann", ATTACKER, None)] * 4,
                       ("desk login refused", logging.WARNING, "ann", ATTACKER, None),
                       ("desk login locked", logging.WARNING, "ann", ATTACKER, "agent"),
                       ("desk login throttled", logging.WARNING, "ann", ATTACKER, "agent")]


async def test_a_supervisors_unlock_lifts_the_lock_at_once(redis_url):
    clock = Clock()
    async with DeskHarness(redis_url=redis_url, serve_http=False, monotonic=clock) as h, \
            from_address(h, DESK) as desk:
        assert h.desk is not None
        for _ in range(5):
            assert (await login(desk, "ann", "typo")).status_code == 401
        assert (await login(desk, "ann", "ann-secret-1")).status_code == 429
        assert h.desk.unlock_login("ann", by="sup-user") is True
        assert (await login(desk, "ann", "ann-secret-1")).status_code == 200
        assert h.desk.unlock_login("ann", by="sup-user") is False  # nothing on any more


async def test_the_agent_id_in_the_lock_log_is_cut_as_in_the_refusal_log(redis_url, caplog):
    long_id = "x" * 200  # the desk itself is called with it here (the route refuses ids over 64 characters)
    async with DeskHarness(redis_url=redis_url, serve_http=False, options=DeskOptions(login_max_failures_per_agent=1),
                           monotonic=Clock()) as h:
        assert h.desk is not None
        with caplog.at_level(logging.WARNING, logger="agents.desk.core"), \
                pytest.raises(DeskError, match="wrong password"):
            await h.desk.login(long_id, "guess", None, "198.51.100.1")
        ids = {r.agent_id for r in caplog.records}  # type: ignore[attr-defined]
        assert ids == {"x" * 64}
        assert {r.getMessage() for r in caplog.records} == {"desk login refused", "desk login locked"}


# ---------------------------------------------------------------------------------------------- the limiter alone
def limiter(clock: Clock, **kw: float) -> LoginLimiter:
    return LoginLimiter(max_per_agent_address=5, max_per_address=20, window_s=300.0, slow_after=20,
                        agent_window_s=3600.0, base_delay_s=1.0, max_delay_s=120.0, now=clock, **kw)  # type: ignore[arg-type]


def test_guessing_one_agent_from_many_addresses_waits_a_growing_delay_not_a_lock():
    clock = Clock()
    lim = limiter(clock)
    for i in range(19):  # four tries from each of five addresses: no address is locked
        clock.t += 1.0
        assert lim.check("ann", f"198.51.100.{i // 4}") is None
        assert lim.failed("ann", f"198.51.100.{i // 4}") is None
    clock.t += 1.0
    assert lim.failed("ann", "198.51.100.4") == Refusal("anywhere", 1)  # the 20th: the slow-down starts
    waits = []
    for i in range(10):
        refusal = lim.check("ann", f"192.0.2.{i}")  # a fresh address each time: only the agent-wide count
        assert refusal is not None
        assert refusal.scope == "anywhere"
        waits.append(refusal.retry_after_s)
        clock.t += refusal.retry_after_s
        assert lim.check("ann", f"192.0.2.{i}") is None  # after the wait, one more try
        lim.failed("ann", f"192.0.2.{i}")
    assert waits == [1, 2, 4, 8, 16, 32, 64, 120, 120, 120]  # doubling, then at most max_delay_s
    assert lim.check("bob", "192.0.2.50") is None  # another agent is not slowed


def test_the_agents_own_address_is_not_slowed_and_a_success_clears_the_agent_wide_count():
    clock = Clock()
    lim = limiter(clock)
    lim.succeeded("ann", "10.0.0.21")  # she logged in from her desk before
    for i in range(30):
        clock.t += 0.1
        lim.failed("ann", f"198.51.100.{i}")
    assert lim.check("ann", "198.51.100.200") is not None
    assert lim.check("ann", "10.0.0.21") is None
    lim.succeeded("ann", "10.0.0.21")
    assert lim.check("ann", "198.51.100.200") is None
    clock.t += 30 * 86400.0  # known for 30 days only
    assert not lim.known("ann", "10.0.0.21")


def test_the_agent_wide_count_is_kept_for_its_own_longer_window():
    clock = Clock()
    lim = limiter(clock)
    for i in range(20):
        lim.failed("ann", f"198.51.100.{i}")
    clock.t += 3599.0
    assert lim.check("ann", "192.0.2.1") is None  # the last delay is long over; the count is still there
    lim.failed("ann", "192.0.2.1")
    assert lim.check("ann", "192.0.2.2") == Refusal("anywhere", 2)
    clock.t += 3601.0  # all out of the hour
    assert lim.check("ann", "192.0.2.2") is None
    lim.failed("ann", "192.0.2.2")
    assert lim.check("ann", "192.0.2.3") is None


def test_spraying_many_agents_from_one_address_locks_the_address_and_unlock_does_not_lift_it():
    clock = Clock()
    lim = limiter(clock)
    for i in range(20):
        clock.t += 1.0
        lim.failed(f"agent{1000 + i}", "203.0.113.66")
    refusal = lim.check("ann", "203.0.113.66")
    assert refusal == Refusal("address", 281)
    assert not refusal.unlockable
    assert lim.unlock("agent1000") is False  # one failure: no lock of that agent was on
    assert lim.check("ann", "203.0.113.66") == refusal
    assert lim.check("ann", "10.0.0.21") is None


def test_unlock_clears_the_agent_at_every_address_and_anywhere():
    clock = Clock()
    lim = limiter(clock)
    for i in range(25):
        lim.failed("ann", f"198.51.100.{i % 5}")  # five locked addresses, and the slow-down
    assert lim.locked("ann")
    assert lim.unlock("ann") is True
    assert not lim.locked("ann")
    assert all(lim.check("ann", f"198.51.100.{i}") is None for i in range(5))
    assert lim.check("ann", "192.0.2.1") is None
    assert lim.unlock("ann") is False


def test_limits_out_of_range_are_refused():
    with pytest.raises(ValueError):
        LoginLimiter(max_per_agent_address=0)
    with pytest.raises(ValueError):
        LoginLimiter(base_delay_s=10.0, max_delay_s=5.0)
