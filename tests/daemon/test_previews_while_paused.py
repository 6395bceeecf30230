"""A paused or stopped campaign offers no preview, and no callback an agent kept for themselves ("me").

A preview is a dial to come: a lead on an agent's screen is dialed when they press Dial, or by itself after
the campaign's `preview_auto_dial_s`. So, as for the pacer's own dials (`test_run_state_during_take`):

- a lead whose take (a Redis round trip) was under way when the supervisor paused or stopped the campaign,
  or when the daemon began to stop, is given back to its source, not offered;
- a lead already on an agent's screen when the campaign is paused or stopped is withdrawn: back to the
  source, the agent ready again (and told why), and neither Dial nor the auto-dial dials it.

The steps are run by the test (`_pace_once`, `offer_own_callbacks`, with the AMI side running), and each
take waits until the test lets it finish: no sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import pytest
from daemon_fakes import FakeAmi, pause_campaign, progressive_ami_side, ready_agent, shut_down, stop_campaign

from agents.state import AgentState
from dialer.daemon import Daemon
from dialer.engine.commands import AutoDialPreview
from dialer.engine.core import DialRequest
from dialer.errors import IllegalTransition
from dialer.leadsource import InMemoryLeadSource
from dialer.overrides import RunState
from pacing import Mode

T0 = 1_795_000_000.0
LIMIT = 10.0  # real seconds: only turns a hang into a failure


class GatedLeads(InMemoryLeadSource):
    """`n` leads to preview. Once `gated`, a take waits, once it has begun, until the test opens the gate."""

    def __init__(self, n: int) -> None:
        super().__init__([DialRequest(f"L{i}", f"+1555000{i:04d}") for i in range(n)])
        self.gated = False
        self.taking = asyncio.Event()
        self.gate = asyncio.Event()
        self.back = asyncio.Event()  # set at each give-back (clear it to wait for the next one)
        self.takes = 0

    async def _wait_gate(self) -> None:
        if self.gated:
            self.taking.set()
            await self.gate.wait()

    async def take(self, n: int, now: float) -> list[DialRequest]:
        self.takes += 1
        await self._wait_gate()
        return await super().take(n, now)

    async def give_back(self, request: DialRequest, now: float) -> None:
        await super().give_back(request, now)
        self.back.set()


class GatedCallbacks(GatedLeads):
    """No leads, but callbacks kept for agents ("me"; `callbacks`: agent -> their due one), taken through the
    lead source's side of them (`dialer.leadsource.OwnCallbackSource`); the take is gated as `take` is."""

    def __init__(self, callbacks: dict[str, DialRequest]) -> None:
        super().__init__(0)
        self.callbacks = dict(callbacks)

    async def take_own_callbacks(self, agent_ids: Iterable[str], now: float) -> dict[str, DialRequest]:
        await self._wait_gate()
        return {a: self.callbacks.pop(a) for a in agent_ids if a in self.callbacks}

    async def due_own_callbacks(self, agent_ids: Iterable[str], now: float) -> dict[str, list[str]]:
        return {a: [self.callbacks[a].lead_id] for a in agent_ids if a in self.callbacks}

    async def own_callbacks(self, agent_id: str, limit: int = 50) -> list[dict[str, Any]]:
        return []

    async def scheduled_callbacks(self, limit: int = 50) -> list[dict[str, Any]]:
        return []

    async def reassign_callbacks(self, from_agent: str, to_agent: str | None) -> int:
        return 0

    async def move_callback(self, lead_id: str, at: float | None, keep_for: str | None, *,
                            kept_for: str | None = None, now: float | None = None) -> Any:
        return "not_scheduled"


class Ami(FakeAmi):
    def __init__(self) -> None:
        super().__init__()
        self.originates: list[object] = []

    def submit_originate(self, action: object) -> None:
        self.originates.append(action)


@contextlib.asynccontextmanager
async def daemon(redis_url: str, leads: GatedLeads, prefix: str, *, mode: Mode = Mode.PREVIEW,
                 auto_dial_s: float | None = None) -> AsyncIterator[tuple[Daemon, Ami]]:
    ami = Ami()
    async with progressive_ami_side(redis_url, leads, ami, prefix, T0) as d:  # `_later` gives back there
        camp = d.engine.campaigns["c"]
        camp.pacer.set_knobs(dataclasses.replace(camp.pacer.knobs, mode=mode))
        camp.pacer.ledger.release()  # the ledger's read-back is not what this is about
        camp.preview_auto_dial_s = auto_dial_s
        d.overrides_hold = ""  # nothing stored to read back
        await asyncio.sleep(0)  # the AMI side's first step: its task group takes `_later`'s tasks from now on
        assert d._actions is not None
        yield d, ami


def previews_sent(d: Daemon, agent_id: str) -> list[dict[str, Any]]:
    return [m for m in d.feed.since(agent_id, 0) or [] if m["kind"] == "preview"]


async def given_back(leads: GatedLeads) -> list[str]:
    async with asyncio.timeout(LIMIT):
        await leads.back.wait()  # a give-back may be a task of its own
    return [r.lead_id for r in leads.given_back]


@pytest.mark.parametrize("change", [stop_campaign, pause_campaign, shut_down])
async def test_a_preview_taken_while_the_campaign_was_paused_goes_back_unoffered(
        redis_url, change: Callable[[Daemon], None]):
    leads = GatedLeads(4)
    async with daemon(redis_url, leads, f"pvtake-{change.__name__}") as (d, ami):
        ready_agent(d, "a1", "1001", campaign="c")
        ready_agent(d, "a2", "1002", campaign="c")
        leads.gated = True
        step = asyncio.create_task(d._pace_once("c", leads))
        async with asyncio.timeout(LIMIT):
            await leads.taking.wait()  # the step is taking a lead for the first ready agent
        change(d)
        leads.gate.set()
        async with asyncio.timeout(LIMIT):
            await step
        assert d.engine.previews == {}
        assert [a.state for a in d.engine.roster.of_campaign("c")] == [AgentState.READY, AgentState.READY]
        assert previews_sent(d, "a1") == previews_sent(d, "a2") == []
        assert await given_back(leads) == ["L0"]
        assert leads.takes == 1  # and no lead was taken for the second agent
        assert ami.originates == []


@pytest.mark.parametrize("change", [stop_campaign, pause_campaign, shut_down])
async def test_an_own_callback_taken_while_the_campaign_was_paused_goes_back_unoffered(
        redis_url, change: Callable[[Daemon], None]):
    mine = DialRequest("CB1", "+15550009999", callback_at=T0 - 60, callback_agent="a1")
    leads = GatedCallbacks({"a1": mine})
    async with daemon(redis_url, leads, f"cbtake-{change.__name__}", mode=Mode.PROGRESSIVE) as (d, ami):
        ready_agent(d, "a1", "1001", campaign="c")
        leads.gated = True
        step = asyncio.create_task(d.offer_own_callbacks("c"))
        async with asyncio.timeout(LIMIT):
            await leads.taking.wait()
        change(d)
        leads.gate.set()
        async with asyncio.timeout(LIMIT):
            await step
        assert d.engine.previews == {}
        assert d.engine.roster.get("a1").state is AgentState.READY
        assert previews_sent(d, "a1") == []
        assert await given_back(leads) == ["CB1"]
        assert ami.originates == []


@pytest.mark.parametrize("change", [stop_campaign, pause_campaign])
async def test_a_preview_on_screen_when_the_campaign_is_paused_is_withdrawn_and_never_dialed(
        redis_url, change: Callable[[Daemon], None]):
    leads = GatedLeads(2)
    async with daemon(redis_url, leads, f"pvshown-{change.__name__}", auto_dial_s=30.0) as (d, ami):
        ready_agent(d, "a1", "1001", campaign="c")
        await d._pace_once("c", leads)
        [shown] = previews_sent(d, "a1")
        assert d.engine.roster.get("a1").state is AgentState.PREVIEWING
        change(d)
        assert d.engine.previews == {}
        assert d.engine.roster.get("a1").state is AgentState.READY
        [told] = [m for m in d.feed.since("a1", 0) or [] if m["kind"] == "preview_withdrawn"]
        assert told["lead_id"] == shown["lead_id"] == "L0"
        assert "paused" in told["reason"] or "stopped" in told["reason"]
        assert await given_back(leads) == ["L0"]
        # neither the auto-dial nor a press of Dial dials it
        assert not [c for c in d.engine.tick(T0 + 3600) if isinstance(c, AutoDialPreview)]
        with pytest.raises(IllegalTransition):
            await d.preview_dial("a1", "L0", shown["number_index"])
        # and the paused campaign's next steps offer nothing
        await d._pace_once("c", leads)
        assert len(previews_sent(d, "a1")) == 1
        assert ami.originates == []


async def test_an_own_callback_on_screen_when_the_campaign_is_paused_is_withdrawn(redis_url):
    mine = DialRequest("CB1", "+15550009999", callback_at=T0 - 60, callback_agent="a1")
    leads = GatedCallbacks({"a1": mine})
    async with daemon(redis_url, leads, "cbshown", mode=Mode.PROGRESSIVE) as (d, ami):
        ready_agent(d, "a1", "1001", campaign="c")
        await d.offer_own_callbacks("c")
        [shown] = previews_sent(d, "a1")
        assert shown["callback"]["mine"] is True
        pause_campaign(d)
        assert d.engine.roster.get("a1").state is AgentState.READY
        assert await given_back(leads) == ["CB1"]
        with pytest.raises(IllegalTransition):
            await d.preview_dial("a1", "CB1", shown["number_index"])
        assert ami.originates == []


async def test_a_dial_pressed_as_the_campaign_is_paused_dials_nothing(redis_url):
    """The press of Dial re-checks the lead against the contact policy first (a Redis round trip): a pause that
    comes meanwhile withdraws the lead, and the dial is refused."""

    class SlowRecheck(GatedLeads):
        async def recheck(self, request: DialRequest, now: float) -> None:
            await self._wait_gate()
            await super().recheck(request, now)

    leads = SlowRecheck(2)
    async with daemon(redis_url, leads, "pvdial") as (d, ami):
        ready_agent(d, "a1", "1001", campaign="c")
        await d._pace_once("c", leads)
        [shown] = previews_sent(d, "a1")
        leads.gated = True
        dial = asyncio.create_task(d.preview_dial("a1", shown["lead_id"], shown["number_index"]))
        async with asyncio.timeout(LIMIT):
            await leads.taking.wait()
        pause_campaign(d)
        leads.gate.set()
        with pytest.raises(IllegalTransition):
            async with asyncio.timeout(LIMIT):
                await dial
        assert ami.originates == []
        assert d.engine.roster.get("a1").state is AgentState.READY
        assert await given_back(leads) == ["L0"]


async def test_a_campaign_resumed_after_a_pause_offers_and_dials_again(redis_url):
    leads = GatedLeads(2)
    async with daemon(redis_url, leads, "pvrun") as (d, ami):
        ready_agent(d, "a1", "1001", campaign="c")
        await d._pace_once("c", leads)
        [shown] = previews_sent(d, "a1")
        pause_campaign(d)  # L0 withdrawn, to the back of the queue
        d.set_run_state("c", RunState.RUNNING)
        await d._pace_once("c", leads)
        [_, again] = previews_sent(d, "a1")
        assert (shown["lead_id"], again["lead_id"]) == ("L0", "L1")
        await d.preview_dial("a1", "L1", again["number_index"])
        assert len(ami.originates) == 1
        assert d.engine.roster.get("a1").state is AgentState.DIALING
