"""An agentless campaign against the PBX simulator over TCP, with real Redis and MQTT and no agent logged in."""

from __future__ import annotations

import dataclasses
import itertools
import logging

import pytest
from harness import FAST_TRAFFIC, ShiftResult, assert_invariants, run_shift

from dialer.engine.calls import CallState
from dialer.pbxsim import SimOutcome
from pacing import Mode
from pacing.traffic import LognormalSpec

pytestmark = pytest.mark.integration

MAX_CHANNELS = 6
MAX_CPS = 2
SETTINGS: dict[str, object] = {"agentless_message": "custom/outage-notice", "agentless_on_machine": "message"}


def assert_the_simulators_truth(res: ShiftResult) -> None:
    """Each call's record against what the PBX simulator did with it (docs/PACING.md, "Agentless campaigns end
    to end"): `delivered` exactly for the people sent to `dialer-agentless,s`; `hung_up_before_message` exactly
    for the people whose leg ended still parked (they hung up while the Redirect was in flight: DialerLegEnd
    came from `dialer-connect`, before the Hangup), and `machine` for a machine that did the same."""
    outcome = {r["call_id"]: r["outcome"] for r in res.records}
    sim = res.sim.calls
    delivered = {cid for cid, o in outcome.items() if o == "delivered"}
    assert delivered == {cid for cid, c in sim.items() if c.outcome is SimOutcome.DELIVERED}
    gone_parked = {cid for cid, c in sim.items() if c.outcome is SimOutcome.FAR_HANGUP_WAITING
                   and [p for p in c.phases if p != "hanging_up"][-2:] == ["parked", "ended"]}
    machines = {cid for cid in gone_parked if sim[cid].amd_status == "MACHINE"}
    assert {cid for cid, o in outcome.items() if o == "hung_up_before_message"} == gone_parked - machines
    assert {outcome[cid] for cid in machines} <= {"machine"}
    stats = res.daemon.engine.stats
    assert stats.delivered == sum(o in ("delivered", "machine_message") for o in outcome.values())


async def test_an_agentless_shift_delivers_the_message_within_trunk_limits_and_abandons_nobody(redis_url, mqtt_url):
    res = await run_shift(
        redis_url, mqtt_url, agents=0, minutes=10, mode=Mode.AGENTLESS,
        pacing={"max_channels": MAX_CHANNELS, "max_cps": MAX_CPS},
        campaign_settings=SETTINGS,
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
    assert_the_simulators_truth(res)
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


@pytest.mark.parametrize(("h_extension_s", "refusal"), [
    (0.0, "Channel does not exist"),  # the leg is gone at once: the Redirect is refused after its Hangup
    (2.0, "Redirect failed, channel not up."),  # its h extension still runs: refused before the Hangup
])
async def test_people_who_hang_up_before_the_redirect_lands_are_recorded_hung_up_before_message(
        redis_url, mqtt_url, caplog, h_extension_s, refusal):
    # Patience of a millisecond: the simulator hangs each person up in the same burst as their DialerParked, so
    # every Redirect to the message arrives after the person left, and Asterisk refuses it.
    caplog.set_level(logging.DEBUG, logger="dialer.daemon")
    hasty = dataclasses.replace(FAST_TRAFFIC, patience=LognormalSpec(0.001, 0.0))
    res = await run_shift(
        redis_url, mqtt_url, agents=0, minutes=3, mode=Mode.AGENTLESS, traffic=hasty,
        pacing={"max_channels": MAX_CHANNELS, "max_cps": MAX_CPS},
        campaign_settings=SETTINGS, sim_options={"agentless_message_s": 15.0, "h_extension_s": h_extension_s},
    )
    assert_invariants(res)
    refused = [r for r in caplog.records if r.getMessage() == "AMI action failed"]
    assert refused
    assert all(r.levelno == logging.DEBUG for r in refused), "a refusal of a gone channel is no warning"
    assert any(refusal in str(getattr(r, "error", "")) for r in refused), {getattr(r, "error", "") for r in refused}
    assert_the_simulators_truth(res)
    missed = [r for r in res.records if r["outcome"] == "hung_up_before_message"]
    assert len(missed) >= 5, {r["outcome"] for r in res.records}
    assert all((r["abandoned"], r["message"]) == ("0", "custom/outage-notice") and r["human_at"] for r in missed)
    assert res.daemon.engine.stats.abandoned == 0
    assert res.daemon.metrics.live_answers.labels("itest")._value.get() == 0, "nobody was offered to an agent"
