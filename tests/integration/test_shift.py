"""The daemon against the PBX simulator over TCP, with real Redis and MQTT: outcomes, and faults."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest
from harness import FAST_TRAFFIC, assert_invariants, run_shift
from prometheus_client import generate_latest

from dialer.engine.calls import CallState
from dialer.engine.core import DialRequest
from dialer.pbxsim import FarEndOptions, SimOutcome
from dialer.store import connect_redis
from pacing import Mode
from pacing.traffic import LognormalSpec

pytestmark = pytest.mark.integration


async def test_a_shift_keeps_every_invariant(redis_url, mqtt_url):
    res = await run_shift(redis_url, mqtt_url, agents=4, minutes=15)
    assert_invariants(res)
    outcomes = {r["outcome"] for r in res.records}
    assert {"connected", "no_answer", "machine"} <= outcomes
    assert res.agents.stats.screenpops >= 3
    assert res.agents.stats.dispositions >= 3
    assert res.agents.stats.max_seq_gap == 0
    assert res.agents.stats.errors == []
    # the simulator's truth agrees: every call it connected to an agent is a connected record
    connected = {r["call_id"] for r in res.records if r["outcome"] == "connected"}
    sim_connected = {cid for cid, c in res.sim.calls.items() if c.connected_at is not None}
    assert connected == sim_connected
    text = generate_latest(res.daemon.metrics.registry).decode()
    for name in ("dialer_calls_placed_total", "dialer_calls_answered_total", "dialer_calls_abandoned_total",
                 "dialer_agents{", "dialer_dial_ratio{", "dialer_live_answers_total"):
        assert name in text, name
    placed = res.daemon.metrics.calls_placed.labels("itest")._value.get()
    assert placed == len(res.records)
    # every decision is counted under the reason for its number
    assert res.daemon.metrics.decisions.labels("itest", "dialing")._value.get() >= 1
    assert 'dialer_pacing_decisions_total{campaign="itest",reason="enough_in_flight"}' in text


async def test_dropped_ami_connection_reconnects_and_resumes(redis_url, mqtt_url):
    async def drop(sim, daemon, clock, marks):
        await clock.sleep(240)
        marks["placed_before"] = daemon.engine.stats.placed
        sim.drop_connections()

    res = await run_shift(redis_url, mqtt_url, agents=4, minutes=12, during=drop)
    assert_invariants(res)
    assert res.sim.stats.sessions_opened >= 2
    assert res.daemon.engine.stats.placed > res.marks["placed_before"] + 5


async def test_half_open_ami_connection_is_detected_by_the_watchdog(redis_url, mqtt_url):
    async def freeze(sim, daemon, clock, marks):
        await clock.sleep(180)
        marks["placed_before"] = daemon.engine.stats.placed
        sim.freeze()
        opened = sim.stats.sessions_opened
        while sim.stats.sessions_opened == opened:  # the watchdog gives up on the silent session
            await clock.sleep(5)
        sim.unfreeze()

    res = await run_shift(redis_url, mqtt_url, agents=3, minutes=10, during=freeze)
    assert_invariants(res)
    assert res.daemon.engine.stats.placed > res.marks["placed_before"] + 3


async def test_garbage_and_unknown_events_do_not_stop_the_daemon(redis_url, mqtt_url, caplog):
    async def inject(sim, daemon, clock, marks):
        await clock.sleep(180)
        marks["placed_before"] = daemon.engine.stats.placed
        sim.inject_raw(b"this is not AMI at all\r\n\r\n")
        sim.inject_raw(b"Event: FancyNewEvent\r\nPrivilege: call,all\r\nFoo: bar\r\n\r\n")
        sim.inject_raw(b"Event: Hangup\r\nPrivilege: call,all\r\nCause: not-a-number\r\n\r\n")

    res = await run_shift(redis_url, mqtt_url, agents=3, minutes=8, during=inject)
    assert_invariants(res)
    assert res.daemon.engine.stats.placed > res.marks["placed_before"] + 3
    assert res.daemon.metrics.ami_bad_events._value.get() >= 1
    garbage = [r.getMessage() for r in caplog.records if "is not 'Key: Value'" in r.getMessage()]
    assert garbage, "the garbage line was not reported"
    assert "this is not AMI at all" in garbage[0]
    assert "AMI line " in garbage[0]


async def test_a_lead_with_an_invalid_number_gets_a_record_and_dialing_goes_on(redis_url, mqtt_url):
    requests = [DialRequest(lead_id="bad-1", number="+1-not-a-number")]
    requests += [DialRequest(lead_id=f"L{i}", number=f"+1212555{i:04d}") for i in range(2000)]

    async def until_dialing_went_on(sim, daemon, clock, marks):
        # a loaded host can stretch the daemon's start over minutes of accelerated time: end the shift
        # on what the test is about (the bad lead and a dozen more placed), not on the clock alone
        while daemon.engine.stats.placed < 12 and clock.now() < marks["start"] + 3600:
            await clock.sleep(5)

    res = await run_shift(redis_url, mqtt_url, agents=2, minutes=5, requests=requests, during=until_dialing_went_on)
    assert_invariants(res)
    [bad] = [r for r in res.records if r["lead_id"] == "bad-1"]
    assert bad["outcome"] == "failed"
    assert len(res.records) > 10


async def test_a_recording_campaign_names_in_each_connected_record_the_file_asterisk_reported(redis_url, mqtt_url):
    res = await run_shift(redis_url, mqtt_url, agents=2, minutes=5, mode=Mode.PROGRESSIVE,
                          campaign_settings={"record_calls": True})
    assert_invariants(res)
    connected = {r["call_id"]: r["recording"] for r in res.records if r["connected_at"] != ""}
    assert connected, "no call connected"
    truth = {cid: c.recording for cid, c in res.sim.calls.items() if c.connected_at is not None}
    assert connected == truth  # the file the PBX's MixMonitor writes, for every conversation
    assert all(f.endswith(f"/{cid}.wav") for cid, f in connected.items())
    assert all(r["recording"] == "" for r in res.records if r["connected_at"] == "")
    m = res.daemon.metrics.recordings
    assert (m.labels("itest", "started")._value.get(), m.labels("itest", "missing")._value.get()) == (
        len(connected), 0)


async def test_amd_audit_calls_reach_agents_through_the_pbx_and_are_counted(redis_url, mqtt_url):
    """Progressive dialing leaves each call its own agent, so every machine verdict is safe to audit."""
    res = await run_shift(redis_url, mqtt_url, agents=3, minutes=10, mode=Mode.PROGRESSIVE, amd_audit_share=1.0)
    assert_invariants(res)
    audits = [r for r in res.records if r["amd_audit"] == "1"]
    stats = res.daemon.engine.stats
    outcomes = sorted(r["outcome"] for r in res.records)
    assert audits, f"no machine verdict was audited: {stats}, outcomes {outcomes}"
    bridged = {r["call_id"] for r in audits if r["outcome"] == "connected"}
    assert bridged
    # an audit is never a live answer nor an abandon; one whose machine hung up before the bridge (a race
    # the accelerated clock makes likely) ends a machine, its agent released
    bad = [r for r in audits if r["human_at"] != "" or r["abandoned"] != "0"
           or (r["outcome"] == "connected") != bool(r["agent_id"]) or r["outcome"] not in ("connected", "machine")]
    assert not bad, f"audited calls recorded as live answers, abandons, or with the wrong agent: {bad}"
    sim_connected = {cid for cid, c in res.sim.calls.items() if c.connected_at is not None}
    assert bridged <= sim_connected  # the PBX really put the machine's line through to the agent
    audit = res.daemon.audits["itest"]
    assert 0 < audit.audited <= len(bridged)  # the simulated agents dispose what they are handed
    assert audit.verdict_machines >= len(audits)
    assert res.daemon.engine.stats.amd_audits == len(audits)
    assert not any(c.state is CallState.AUDITING for c in res.daemon.engine.calls.values())
    assert res.agents.stats.errors == []


async def test_people_who_press_the_opt_out_key_after_the_abandon_message_go_on_the_dnc_list(redis_url, mqtt_url):
    # two agents and four dials each: people wait, are abandoned, hear the message, and every one presses 9
    res = await run_shift(redis_url, mqtt_url, agents=2, minutes=5, mode=Mode.POWER, ratio=4.0, ledger_lives=2000,
                          sim_options={"optout_digit": "9", "far_end": FarEndOptions(optout_share=1.0)})
    assert_invariants(res)
    pressed = {c.number for c in res.sim.calls.values() if c.opted_out}
    assert len(pressed) >= 3, "no abandoned person heard the message"
    redis = connect_redis(redis_url)
    try:
        store = res.daemon.store
        listed = {n.removeprefix("+") for n in await redis.smembers(store.key("dnc"))}
        journal = [e for _id, e in await redis.xrange(store.key("dnc_requests"))]
    finally:
        await redis.aclose()
    assert pressed <= listed, sorted(pressed - listed)[:5]
    assert {e["number"].removeprefix("+") for e in journal} == pressed
    assert {e["source"] for e in journal} == {"key-press"}
    abandoned = {r["number"].removeprefix("+") for r in res.records if r["outcome"] == "abandoned"}
    assert pressed <= abandoned  # the key is offered after the abandon message only


async def test_people_gone_while_their_redirect_to_an_agent_is_in_flight_are_counted_and_not_offered_again(
        redis_url, mqtt_url, caplog):
    # Every person hangs up as soon as they are parked, and their leg's h extension runs 2 s before its Hangup:
    # the Redirect to an agent lands meanwhile, and Asterisk refuses it "Redirect failed, channel not up.".
    caplog.set_level(logging.DEBUG, logger="dialer.daemon")
    hasty = dataclasses.replace(FAST_TRAFFIC, patience=LognormalSpec(0.001, 0.0))
    res = await run_shift(redis_url, mqtt_url, agents=3, minutes=5, mode=Mode.PROGRESSIVE, traffic=hasty,
                          sim_options={"h_extension_s": 2.0})
    assert_invariants(res)
    refused = [r for r in caplog.records if r.getMessage() == "AMI action failed"
               and getattr(r, "action", "") == "agent" and "channel not up" in str(getattr(r, "error", ""))]
    assert refused, "no Redirect to an agent met a leg hanging up"
    assert all(r.levelno == logging.DEBUG for r in refused)
    # A person the simulator's AMD judged a machine (its false positives) is a machine to the daemon: hung up,
    # never offered, and not a live answer in the record (the ledger estimates those people, per campaign).
    left = {cid: c for cid, c in res.sim.calls.items() if c.outcome is SimOutcome.FAR_HANGUP_WAITING}
    misjudged = {cid for cid, c in left.items() if c.amd_status == "MACHINE"}
    for r in (r for r in res.records if r["call_id"] in misjudged):
        assert (r["outcome"], r["abandoned"], r["agent_id"], r["human_at"]) == ("machine", "0", "", ""), r
    gone = set(left) - misjudged
    rows = [r for r in res.records if r["call_id"] in gone]
    assert len(rows) >= 5
    # each one an abandon in the law's count (a person not connected within 2 s), with no agent on the record
    assert all(r["abandoned"] == "1" and r["agent_id"] == "" and r["outcome"] in ("hung_up_waiting", "abandoned")
               for r in rows), [(r["call_id"], r["outcome"], r["abandoned"], r["agent_id"], r["human_at"],
                                 r["connected_at"], r["ended_at"], res.sim.calls[r["call_id"]].outcome) for r in rows]
    # a refused call is not offered to another agent, nor sent to the information message: its Hangup ends it
    failed = [(getattr(r, "call_id", ""), getattr(r, "action", "")) for r in caplog.records
              if r.getMessage() == "AMI action failed"]
    for cid in {getattr(r, "call_id", "") for r in refused}:
        # (our Hangup of the leaving leg may meet it gone: "No such channel")
        assert [a for c, a in failed if c == cid and a != "hangup"] == ["agent"], cid
    assert res.agents.stats.errors == []


async def test_surplus_hangups_go_through_the_pbx_and_end_as_no_answers(redis_url, mqtt_url):
    # Which dials the pacer cuts is the pacing core's business (tests/pacing, and the simulator's grid);
    # here every dial that has rung 15 s is cut, so that the daemon's path is certain to be taken:
    # Decision.hangup -> Engine.hang_up_surplus -> AMI Hangup -> the PBX fails the Originate -> the record.
    async def cut_every_late_dial(_sim, daemon, _clock, _marks):
        pacer = daemon.engine.campaigns["itest"].pacer
        decide = pacer.decide

        def cutting(snap):
            late = np.flatnonzero(snap.ringing_elapsed >= 15.0)
            return dataclasses.replace(decide(snap), hangup=tuple(int(i) for i in late))

        pacer.decide = cutting

    res = await run_shift(redis_url, mqtt_url, agents=4, minutes=10, mode=Mode.PREDICTIVE, during=cut_every_late_dial,
                          campaign_settings={"ring_timeout_s": 25.0})
    assert_invariants(res)
    cut = [r for r in res.records if r["surplus_hangup"] == "1"]
    assert cut, "no dial rang 15 s in ten minutes"
    rang = [r for r in cut if r["answered_at"] == ""]
    for r in cut:
        assert float(r["ended_at"]) - float(r["originated_at"]) >= 15.0, r
        if r["answered_at"] == "":
            assert r["outcome"] == "no_answer", r
            # the PBX saw the dialer hang it up (or its own ring timeout fire, when both came at once)
            assert res.sim.calls[r["call_id"]].ended_by in ("dialer", "timeout"), r
        elif r["human_at"] and r["outcome"] != "connected":
            # answered as the hang-up went out (at 120 times real speed the PBX's milliseconds are long):
            # a person who heard the line drop is an abandon for the ledger
            assert r["abandoned"] == "1", r
    assert len(rang) >= len(cut) / 2, "most cut dials must end as they were cut: ringing"
    assert any(res.sim.calls[r["call_id"]].ended_by == "dialer" for r in rang)
    assert res.daemon.engine.stats.surplus_hangups == len(cut)
    assert res.daemon.metrics.surplus_hangups.labels("itest")._value.get() == len(cut)
