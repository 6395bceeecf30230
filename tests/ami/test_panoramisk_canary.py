"""What panoramisk 1.4 itself does with an Originate pending when the connection drops.

Not a test of our code: a canary that proves the double-dial hazard AmiClient fences off is real,
and that `forgetable_actions` is the switch. If panoramisk changes this, these tests say so.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import panoramisk
import pytest
from fake_server import FakeAmi

from dialer.ami import actions


@pytest.fixture
async def ami() -> AsyncIterator[FakeAmi]:
    async with FakeAmi() as server:
        yield server


@pytest.mark.parametrize(
    ("forgetable", "replayed"),
    [
        (("ping", "login"), True),  # panoramisk's default: the Originate is dialled twice
        (("ping", "login", "originate"), False),
    ],
)
async def test_stock_manager_replays_a_pending_originate_after_reconnect(
    ami: FakeAmi, forgetable: tuple[str, ...], replayed: bool
) -> None:
    booted = asyncio.Event()
    manager = panoramisk.Manager(
        loop=asyncio.get_running_loop(),
        host="127.0.0.1",
        port=ami.port,
        username="dialer",
        secret="s3cret",
        reconnect_timeout=0,
        forgetable_actions=forgetable,
    )
    manager.register_event("FullyBooted", lambda _m, _e: booted.set())
    try:
        async with asyncio.timeout(10):
            await manager.connect()
            await booted.wait()
            booted.clear()
            ami.plans["c-1"] = "silent"  # no answer at all before the drop
            manager.send_action(
                actions.originate(
                    call_id="c-1",
                    number="15551230",
                    campaign="k",
                    lead_id="L1",
                    timeout_ms=30_000,
                    caller_id_name="Acme",
                    caller_id_number="5550100",
                ).as_dict()
            )
            await ami.wait_action("Originate")
            ami.drop()
            await booted.wait()  # logged in again; panoramisk's replay task was scheduled before us
            await manager.send_action({"Action": "Ping"})
        assert ("Originate" in ami.conns[1].names()) is replayed
    finally:
        manager.close()
