"""The daemon's own stop (SIGTERM: `dialing = False`) holds previews as a campaign's pause or stop does: no new
dials. A lead on a preview screen when the stop begins is withdrawn and given back to its source (not left
taken until the hopper recovers it as a lost attempt), and neither Dial, `preview_auto_dial_s` nor an agent's
manual dial goes out during the shutdown grace."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from typing import Any

import pytest
from daemon_fakes import one_campaign_daemon, ready_agent, stopping
from test_previews_while_paused import LIMIT, T0, GatedLeads, daemon, previews_sent

from agents.state import AgentState
from dialer.engine.commands import AutoDialPreview
from dialer.errors import IllegalTransition
from dialer.leadsource import ManualDialPolicy
from pacing import Mode

_prefixes = itertools.count(1)


async def test_a_preview_on_screen_is_not_dialed_once_the_daemon_is_stopping(redis_url):
    leads = GatedLeads(2)
    async with daemon(redis_url, leads, f"sdprev{next(_prefixes)}", auto_dial_s=30.0) as (d, ami):
        ready_agent(d, "a1", "1001", campaign="c")
        await d._pace_once("c", leads)
        [shown] = previews_sent(d, "a1")
        d.dialing = False  # `_shutdown_when` has begun: no new dials
        with pytest.raises(IllegalTransition, match="stopping"):
            await d.preview_dial("a1", shown["lead_id"], shown["number_index"])
        [auto] = [c for c in d.engine.tick(T0 + 3600) if isinstance(c, AutoDialPreview)]
        await d._auto_dial(auto)  # `preview_auto_dial_s` ran out: refused the same way
        assert ami.originates == []


async def test_a_manual_dial_is_refused_once_the_daemon_is_stopping(redis_url):
    leads = GatedLeads(0)
    assert isinstance(leads, ManualDialPolicy)  # the typed number passes its contact policy
    async with daemon(redis_url, leads, f"sdman{next(_prefixes)}") as (d, ami):
        ready_agent(d, "a1", "1001", campaign="c")
        d.dialing = False  # SIGTERM
        with pytest.raises(IllegalTransition, match="stopping"):
            await d.manual_dial("a1", "+15550001234")
        assert ami.originates == []
        assert d.engine.roster.get("a1").state is AgentState.READY


async def test_a_preview_on_screen_at_the_daemons_stop_goes_back_to_the_hopper(client):
    """A full stop (`run(stop)`): the lead on the preview screen is withdrawn, the agent told why, and the
    give-back is written before the daemon returns."""
    leads = GatedLeads(2)
    d = one_campaign_daemon(client, f"sdfull{next(_prefixes)}", leads, T0)
    camp = d.engine.campaigns["uk"]
    camp.pacer.set_knobs(dataclasses.replace(camp.pacer.knobs, mode=Mode.PREVIEW))
    stop, task = await stopping(d)
    try:
        async with asyncio.timeout(LIMIT):
            await d.agents_restored.wait()
            await d.overrides_ready.wait()
            await d.ledger_ready["uk"].wait()
        offered = asyncio.Event()
        publish = d.feed.publish

        def watch(agent_id: str, kind: str, payload: dict[str, Any]) -> int:
            if kind == "preview":
                offered.set()
            return publish(agent_id, kind, payload)

        d.feed.publish = watch  # type: ignore[method-assign]
        ready_agent(d, "a1", "1001", campaign="uk")
        async with asyncio.timeout(LIMIT):
            await offered.wait()  # the pacing loop put L0 on a1's screen
        assert [m["lead_id"] for m in previews_sent(d, "a1")] == ["L0"]
        assert "a1" in d.engine.previews
    finally:
        stop.set()
        async with asyncio.timeout(LIMIT):
            await task
    assert [r.lead_id for r in leads.given_back] == ["L0"]
    assert d.engine.previews == {}
    [told] = [m for m in d.feed.since("a1", 0) or [] if m["kind"] == "preview_withdrawn"]
    assert (told["lead_id"], told["reason"]) == ("L0", "the daemon is stopping")
