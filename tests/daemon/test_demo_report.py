"""The demo's end-of-shift report: counts from the call records, abandons as the law counts them."""

from __future__ import annotations

import re

from dialer.demo import _report, default_speed
from dialer.demo_ticketing import Ticket, dialed_while_ticketed


def rec(campaign: str, outcome: str, abandoned: bool, human: bool, talk: float = 0.0) -> dict[str, str]:
    return {
        "campaign_id": campaign,
        "outcome": outcome,
        "abandoned": "1" if abandoned else "0",
        "human_at": "1.0" if human else "",
        "talk_s": f"{talk}" if talk else "",
    }


def test_a_person_connected_after_the_2_seconds_is_abandoned_and_the_report_says_so() -> None:
    records = [
        rec("up", "connected", False, True, talk=120.0),
        rec("up", "connected", True, True, talk=60.0),  # bridged at 2.3 s: connected, and abandoned
        rec("up", "abandoned", True, True),
        rec("wb", "machine", False, False),
        rec("wb", "no_answer", False, False),
    ]
    r = _report(records, [("d1", {"disposition": "sale"})], agents=1, hours=1.0, seed=1, speed=10.0, wall=1.0)
    assert (r.live_answers, r.connected, r.abandoned, r.connected_late, r.machines) == (3, 2, 2, 1, 1)
    assert r.outcomes == {"connected": 2, "abandoned": 1, "machine": 1, "no_answer": 1}
    assert r.by_campaign["up"] == {"placed": 3, "connected": 2, "abandoned": 2}
    assert "2 (66.67% of live answers; cap 3%); 1 of them connected after the 2 s" in r.table()
    clean = _report(records[:1], [], agents=1, hours=1.0, seed=1, speed=10.0, wall=1.0)
    assert "connected after" not in clean.table()


def test_a_late_disposition_is_one_call_disposed_and_opt_outs_are_reported() -> None:
    records = [rec("up", "connected", False, True, talk=90.0), rec("up", "abandoned", True, True)]
    disps = [("d1", {"call_id": "c1", "disposition": "no_disposition"}),
             ("d2", {"call_id": "c1", "disposition": "sale", "amends": "no_disposition"})]
    r = _report(records, disps, agents=1, hours=1.0, seed=1, speed=10.0, wall=1.0, opted_out=1)
    assert (r.dispositions, r.sales, r.opted_out) == (1, 1, 1)
    assert re.search(r"opted out by key press +1 \(after the abandon message; on the do-not-call list\)", r.table())


def test_the_default_speed_fits_the_shift_in_105_s_unless_the_agents_make_that_too_fast() -> None:
    assert default_speed(10, 4.0) == 70.0  # the README's default demo: not 137x, see MAX_AGENTS_X_SPEED
    assert default_speed(20, 8.0) == 35.0  # not 274x: the host's milliseconds would be seconds of waiting
    assert default_speed(2, 1.0) == 3600 / 105  # a short shift for few agents: fitted into 105 s
    assert default_speed(500, 1.0) == 1.4
    assert default_speed(10, 0.01) == 1.0  # never slower than real time
    assert default_speed(5000, 8.0) == 1.0


def test_recorded_conversations_are_counted_among_the_connected_calls_of_recording_campaigns() -> None:
    records = [
        {**rec("up", "connected", False, True, talk=90.0), "recording": "/rec/c1.wav"},
        {**rec("up", "connected", False, True, talk=60.0), "recording": ""},  # the PBX never said it recorded
        {**rec("up", "abandoned", True, True), "recording": ""},  # nobody to record
        {**rec("wb", "connected", False, True, talk=30.0), "recording": ""},  # a campaign that does not record
    ]
    r = _report(records, [], agents=1, hours=1.0, seed=1, speed=10.0, wall=1.0, recording=frozenset({"up"}))
    assert (r.recorded, r.to_record) == (1, 2)
    assert re.search(r"recorded conversations +1 of 2 connected calls of recording campaigns \(file named by the PBX\)",
                     r.table())


def test_own_callbacks_are_counted_and_their_connections_told_apart_from_live_answers() -> None:
    records = [
        {**rec("up", "connected", False, False, talk=90.0), "kind": "callback", "created_at": "1090.0",
         "callback_at": "1000.0"},  # an agent's own callback, called 90 s after the time promised
        {**rec("up", "no_answer", False, False), "kind": "callback", "created_at": "2600.0", "callback_at": "2000.0"},
        {**rec("wb", "busy", False, False), "created_at": "3010.0", "callback_at": "3000.0"},  # anyone's
        {**rec("up", "connected", False, False, talk=60.0), "kind": "preview"},  # an agent dialed it, not their own
        {**rec("up", "connected", False, True, talk=60.0), "kind": "predictive"},
    ]
    r = _report(records, [], agents=1, hours=1.0, seed=1, speed=10.0, wall=1.0, own_callbacks_set=3)
    assert (r.own_callbacks_set, r.own_callbacks_dialed, r.agent_connected, r.connected, r.live_answers) == (
        3, 2, 2, 3, 1)
    table = r.table()
    assert re.search(r'callbacks kept for "me" +3 set 20-40 min ahead; 2 dialed by that agent when due', table)
    assert re.search(r"connected to an agent +3 \(2 of them dialed by the agent", table)
    assert (r.callbacks_called, r.callbacks_on_time, r.callbacks_median_late_s) == (3, 2, 90.0)
    assert re.search(r"callbacks called +3; 2 within 5 min of the time promised \(median 90 s after it\)", table)


def test_a_ticketed_lead_counts_once_when_dialed_after_its_ticket_landed() -> None:
    tickets = [Ticket("up", "L1", "subscriber:S1", 100.0), Ticket("up", "L2", "subscriber:S2", 100.0)]
    records = [
        {"campaign_id": "up", "lead_id": "L1", "created_at": "103.0"},  # taken as the ticket was sent: in flight
        {"campaign_id": "up", "lead_id": "L2", "created_at": "400.0"},  # dialed with its ticket open: a miss
        {"campaign_id": "up", "lead_id": "L2", "created_at": "900.0"},
        {"campaign_id": "wb", "lead_id": "L1", "created_at": "400.0"},  # another campaign's L1
    ]
    assert dialed_while_ticketed(tickets, records) == 1
    r = _report([], [], agents=1, hours=1.0, seed=1, speed=10.0, wall=1.0, tickets_opened=2, dialed_while_ticketed=1)
    assert re.search(r"trouble tickets \(MQTT signals\) +2 opened for subscribers about to be dialed; 1 of them "
                     r"dialed while it was open", r.table())
