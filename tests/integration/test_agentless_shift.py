"""An agentless campaign against the PBX simulator over TCP, with real Redis and MQTT and no agent logged in."""

from __future__ import annotations

import itertools

import pytest
from harness import assert_invariants, run_shift

from dialer.engine.calls import CallState
from dialer.pbxsim import SimOutcome
from pacing import Mode

pytestmark = pytest.mark.integration

MAX_CHANNELS = 6
MAX_CPS = 2


async def test_an_agentless_shift_delivers_the_message_within_trunk_limits_and_abandons_nobody(redis_url, mqtt_url):
    res = await run_shift(
        redis_url, mqtt_url, agents=0, minutes=10, mode=Mode.AGENTLESS,
        pacing={"max_channels": MAX_CHANNELS, "max_cps": MAX_CPS},
        campaign_settings={"agentless_message": "custom/outage-notice", "agentless_on_machine": "message"},
        sim_options={"agentless_message_s": 15.0},
    )
    assert_invariants(res)
    by_outcome: dict[str, int] = {}
    for r in res.records:
        by_outcome[r["outcome"]] = by_outcome.get(r["outcome"], 0) + 1
    assert by_outcome.get("delivered", 0) >= 5, by_outcome
    assert by_outcome.get("machine_message", 0) >= 1, by_outcome
    assert not {"abandoned", "connected", "hung_up_waiting"} & set(by_outcome), by_outcome
    assert all(r["abandoned"] == "0" for r in res.records)
    assert {r["message"] for r in res.records if r["outcome"] == "delivered"} == {"custom/outage-notice"}
    # the simulator's truth: every person the daemon says got the message was sent to it, none to dialer-abandon
    delivered = {r["call_id"] for r in res.records if r["outcome"] == "delivered"}
    sim_delivered = {cid for cid, c in res.sim.calls.items() if c.outcome is SimOutcome.DELIVERED}
    assert sim_delivered <= delivered
    # ... with one known exception (docs/PACING.md, "Agentless campaigns end to end"): a person who hangs up
    # while the Redirect to the message is in flight is recorded delivered, because the Hangup reaches the
    # engine before the Redirect's refusal. At 120 times real speed the Redirect's milliseconds are long,
    # and in full-suite runs a loaded host shows a few (never alone). Such calls must be few, and the PBX
    # must have seen the person (or the dialer's stop) end them while parked, never the message played.
    extra = delivered - sim_delivered
    assert len(extra) <= max(3, len(delivered) // 20), sorted(extra)
    for cid in extra:
        sim = res.sim.calls[cid]
        assert sim.outcome in (SimOutcome.FAR_HANGUP_WAITING, SimOutcome.HUNG_UP_BY_DIALER), sim
        assert "parked" in sim.phases, sim
    assert res.sim.stats.outcomes["abandoned"] == 0
    assert all(c.abandon_at is None for c in res.sim.calls.values())
    # the trunk bounds: never more than max_channels calls up, never more than max_cps dials in a second
    spans = sorted((float(r["originated_at"]), float(r["ended_at"])) for r in res.records)
    edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans], key=lambda x: (x[0], x[1]))
    peak = max(itertools.accumulate(d for _, d in edges))
    assert peak <= MAX_CHANNELS
    assert peak == MAX_CHANNELS, "the trunk was never filled: agentless should fill it"
    starts = [s for s, _ in spans]
    assert all(b - a > 1.0 for a, b in zip(starts, starts[MAX_CPS:], strict=False))
    # the compliance ledger and the pacer saw no live answer offered to an agent, but learnt every dial
    pacer = res.daemon.engine.campaigns["itest"].pacer
    assert pacer.est.abandons == 0
    assert pacer.est.lives == 0
    assert pacer.est.dials >= len(res.records) - MAX_CHANNELS
    assert res.daemon.engine.stats.abandoned == 0
    assert not any(c.state is CallState.DELIVERING for c in res.daemon.engine.calls.values())
    assert res.daemon.metrics.abandoned.labels("itest")._value.get() == 0
