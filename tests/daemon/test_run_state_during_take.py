"""A stop or pause of a campaign, or the daemon's own stop, that comes while the pacing step awaits its leads
(the hopper's take is a Redis round trip) holds for those leads: they go back undialed, as when AMI went
down during the take. The supervisor was told "stopped"; nothing may dial after that.

The pacing steps are run by the test (`_pace_once`, with the AMI side running), and the take waits until
the test lets it finish: no sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest
from daemon_fakes import pause_campaign, progressive_ami_side, ready_agent, shut_down, stop_campaign

from dialer.daemon import Daemon
from dialer.engine.core import DialRequest
from dialer.leadsource import InMemoryLeadSource

T0 = 1_795_000_000.0
LIMIT = 10.0  # real seconds: only turns a hang into a failure


class GatedLeads(InMemoryLeadSource):
    """A take that waits, once it has begun, until the test opens the gate; says when two leads came back."""

    def __init__(self, n: int) -> None:
        super().__init__([DialRequest(f"L{i}", f"+1555000{i:04d}") for i in range(n)])
        self.taking = asyncio.Event()
        self.gate = asyncio.Event()
        self.back = asyncio.Event()

    async def take(self, n: int, now: float) -> list[DialRequest]:
        self.taking.set()
        await self.gate.wait()
        return await super().take(n, now)

    async def give_back(self, request: DialRequest, now: float) -> None:
        await super().give_back(request, now)
        if len(self.given_back) == 2:
            self.back.set()


class Ami:
    def __init__(self) -> None:
        self.originates: list[object] = []
        self._never: asyncio.Event = asyncio.Event()

    async def events(self) -> AsyncIterator[object]:
        await self._never.wait()
        yield None

    def submit_originate(self, action: object) -> None:
        self.originates.append(action)

    async def send(self, action: object, timeout: float = 10.0, *, check: bool = True) -> object:
        return None

    async def core_show_channels(self, timeout: float = 5.0) -> list[object]:
        return []


@contextlib.asynccontextmanager
async def daemon(redis_url: str, leads: GatedLeads) -> AsyncIterator[tuple[Daemon, Ami]]:
    ami = Ami()
    async with progressive_ami_side(redis_url, leads, ami, "takestop", T0) as d:  # `_later` gives back there
        d.engine.campaigns["c"].pacer.ledger.release()  # the ledger's read-back is not what this is about
        d.overrides_hold = ""  # nothing stored to read back
        yield d, ami


@pytest.mark.parametrize("change", [stop_campaign, pause_campaign, shut_down])
async def test_leads_taken_while_the_campaign_was_stopped_go_back_undialed(redis_url, change: Callable[[Daemon], None]):
    leads = GatedLeads(4)
    async with daemon(redis_url, leads) as (d, ami):
        ready_agent(d, "a1", "1001", campaign="c")
        ready_agent(d, "a2", "1002", campaign="c")
        step = asyncio.create_task(d._pace_once("c", leads))
        async with asyncio.timeout(LIMIT):
            await leads.taking.wait()  # the decision launched 2 and is taking its leads
        change(d)
        leads.gate.set()
        async with asyncio.timeout(LIMIT):
            await step
        assert ami.originates == []
        assert d.engine.campaigns["c"].active == set()  # no call made
        async with asyncio.timeout(LIMIT):
            await leads.back.wait()  # each give-back is a task of its own
        assert sorted(r.lead_id for r in leads.given_back) == ["L0", "L1"]
        assert d.leads_returned == 2


async def test_a_campaign_running_through_the_take_dials_what_it_took(redis_url):
    leads = GatedLeads(4)
    async with daemon(redis_url, leads) as (d, ami):
        ready_agent(d, "a1", "1001", campaign="c")
        leads.gate.set()
        await d._pace_once("c", leads)
        assert len(ami.originates) == 1
        assert leads.given_back == []
