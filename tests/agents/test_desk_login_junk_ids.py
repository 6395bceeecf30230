"""Failed logins for made-up agent ids cannot push a real agent's slow-down out of the limiter's memory.

Before, the three counts shared one map of 10,000 keys, the stalest dropped first, and a failure for an id with
no account added two keys of its own: after someone guessing at agent001 from many addresses had it slowed
down, 3,400 failures for made-up ids from fresh addresses dropped its agent-wide count and the guessing
started over at 20 unslowed tries. An account's agent-wide count is now kept apart, one per account."""

from __future__ import annotations

import httpx

from agents.desk.harness import DeskHarness
from agents.desk.ratelimit import LoginLimiter, Refusal

ACCOUNTS = {"agent001", "agent002"}


class Clock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _slowed_agent001(clock: Clock, lim: LoginLimiter) -> None:
    for n in range(25):  # a fresh address each time (an IPv6 /64 holds any number)
        clock.t += 0.1
        address = f"2001:db8::{n:x}"
        if lim.check("agent001", address) is None:
            lim.failed("agent001", address)
    assert lim.check("agent001", "2001:db8::ffff") is not None


def test_junk_ids_do_not_push_out_an_account_s_agent_wide_count() -> None:
    clock = Clock()
    lim = LoginLimiter(max_keys=1000, accounts=ACCOUNTS.__contains__, now=clock)
    _slowed_agent001(clock, lim)
    for j in range(5000):
        clock.t += 0.01
        lim.failed(f"x{j}", f"2001:db8:1::{j:x}")
    # the delay after the last failure has run out meanwhile; the next failure takes the count on from there
    refusal = lim.failed("agent001", "2001:db8::fffe")
    assert refusal == Refusal("anywhere", 2)  # the 21st failure: the second delay
    assert lim.locked("agent001")


def test_an_id_with_no_account_is_refused_as_an_account_is() -> None:
    # the answers must not tell which ids exist: a made-up id is locked at an address as agent001 is
    clock = Clock()
    lim = LoginLimiter(max_per_agent_address=5, accounts=ACCOUNTS.__contains__, now=clock)
    for agent in ("agent001", "nobody"):
        got = [lim.failed(agent, "192.0.2.7") for _ in range(5)]
        assert got == [None] * 4 + [Refusal("agent", 300)]
        assert lim.locked(agent)
        assert lim.unlock(agent)
        assert lim.check(agent, "192.0.2.7") is None


async def test_the_desk_counts_its_accounts_apart(redis_url) -> None:
    clock = Clock()
    async with DeskHarness(redis_url=redis_url, serve_http=False, monotonic=clock) as h:
        assert h.desk is not None
        lim = h.desk.limiter
        for n in range(25):
            clock.t += 0.1
            lim.failed("ann", f"2001:db8::{n:x}")
        for j in range(10_100):  # past the default max_keys
            lim.failed(f"x{j}", f"2001:db8:1::{j:x}")
        refusal = lim.failed("ann", "2001:db8::fffd")
        assert refusal == Refusal("anywhere", 64)  # the 26th failure
        transport = httpx.ASGITransport(app=h.app, client=("2001:db8::fffe", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://desk.test", timeout=10) as c:
            r = await c.post("/api/desk/login", json={"agent_id": "ann", "password": "guess"})
        assert r.status_code == 429
