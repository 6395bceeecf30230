"""parse_event against every block of the real Asterisk 22 transcript, plus malformed input."""

from __future__ import annotations

import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from panoramisk.message import Message

from dialer.ami import events as ev
from dialer.ami.events import AmdStatus, ChannelState, DialStatus, HangupCause, OriginateReason
from dialer.ami.parse import (
    DELIBERATELY_UNMODELLED,
    MODELLED_EVENTS,
    MODELLED_USER_EVENTS,
    parse_channel_row,
    parse_event,
)
from dialer.ami.wire import Block, Framer

# The project's own capture, kept in the repository so these tests run (and can fail) everywhere.
TRANSCRIPT = Path(__file__).resolve().parents[1] / "fixtures" / "ami" / "real-asterisk-22-transcript.txt"
EVENT_TYPES = typing.get_args(ev.AmiEvent)


def _transcript_blocks() -> list[Block]:
    data = TRANSCRIPT.read_bytes()
    # '###' lines are the capture's own markers between reads, not Asterisk's output.
    clean = b"\n".join(line for line in data.split(b"\n") if not line.startswith(b"###"))
    framer = Framer(expect_banner=True)
    blocks = framer.feed(clean)
    assert framer.banner == "Asterisk Call Manager/11.0.0"
    assert not [b.errors for b in blocks if b.errors]
    return blocks


BLOCKS = _transcript_blocks()
EVENT_BLOCKS = [b for b in BLOCKS if b.get("Event")]


def parsed(kind: type[Any]) -> list[Any]:
    return [e for e in (parse_event(b.as_dict()) for b in EVENT_BLOCKS) if isinstance(e, kind)]


def test_every_transcript_event_is_typed_or_deliberately_unknown() -> None:
    assert len(EVENT_BLOCKS) > 500
    for block in EVENT_BLOCKS:
        event = parse_event(block.as_dict())
        name = block.get("Event")
        assert not isinstance(event, ev.MalformedEvent), (name, event)
        if isinstance(event, ev.UnknownEvent):
            assert event.name in DELIBERATELY_UNMODELLED, event
        elif isinstance(event, ev.UserEvent):
            assert event.name == "DialerParkEnd"  # not in the contract: the generic type
        else:
            assert name in MODELLED_EVENTS


def test_every_modelled_kind_occurs_in_the_transcript() -> None:
    kinds = {type(parse_event(b.as_dict())) for b in EVENT_BLOCKS}
    expected = {
        ev.Newchannel, ev.Newstate, ev.DialBegin, ev.DialState, ev.DialEnd, ev.Hangup, ev.HangupRequest,
        ev.SoftHangupRequest, ev.OriginateResponse, ev.BridgeEnter, ev.BridgeLeave, ev.FullyBooted,
        ev.AmdResult, ev.Parked, ev.ConnectAgent, ev.AgentAnswered, ev.LegEnd, ev.UserEvent, ev.UnknownEvent,
    }  # fmt: skip
    assert expected <= kinds


def test_panoramisk_message_and_plain_dict_parse_alike() -> None:
    for block in EVENT_BLOCKS:
        text = "\r\n".join(f"{k}: {v}" for k, v in block.headers)
        message = Message.from_line(text)
        lowered = {k.lower(): v for k, v in block.headers}
        upper = {k.upper(): v for k, v in block.headers}
        expected = parse_event(block.as_dict())
        assert parse_event(message) == expected
        assert parse_event(lowered) == expected
        assert parse_event(upper) == expected


def test_originate_responses() -> None:
    by_id = {e.action_id: e for e in parsed(ev.OriginateResponse)}
    got = {
        k: (e.success, e.reason, e.reason_enum, e.uniqueid)
        for k, e in by_id.items()
        if k != "orig-agent-1002"
    }
    assert got == {
        "orig-redirect-L1001": (True, 4, OriginateReason.ANSWERED, "1795448629.60"),
        "orig-bridge-L1002": (True, 4, OriginateReason.ANSWERED, "dialer-L1002"),
        "orig-machine-L1003": (True, 4, OriginateReason.ANSWERED, "1795448661.70"),
        "orig-busy-L1004": (False, 5, OriginateReason.BUSY, None),
        "orig-congestion-L1005": (False, 8, OriginateReason.CONGESTION, "dialer-L1005"),
        "orig-noanswer-L1006": (False, 3, OriginateReason.NO_ANSWER, None),
        "orig-noanswer_remote-L1007": (False, 0, OriginateReason.FAILED, "dialer-L1007"),
        "orig-early_hangup-L1008": (True, 4, OriginateReason.ANSWERED, "1795448726.80"),
        "orig-human_noamd-L1010": (True, 4, OriginateReason.ANSWERED, "1795448733.82"),
        "orig-random-L1011": (True, 4, OriginateReason.ANSWERED, "1795448739.84"),
        "orig-bad-L1009": (False, 0, OriginateReason.FAILED, None),
    }
    assert by_id["orig-busy-L1004"].channel == "Local/5551235@sim-pstn"  # the dial string on failure
    assert by_id["orig-bad-L1009"].channel == "Bogus/5550000"
    assert by_id["orig-bridge-L1002"].call_id == "orig-bridge-L1002"
    assert by_id["orig-redirect-L1001"].timestamp == pytest.approx(1795448635.190366)


def test_hangup_causes_and_states() -> None:
    hangups = {e.uniqueid: e for e in parsed(ev.Hangup)}
    assert {e.cause for e in hangups.values()} == {0, 16, 17, 19, 34}
    busy_far, busy_near = hangups["1795448668.73"], hangups["1795448668.72"]
    assert (busy_far.cause_enum, busy_far.state) == (HangupCause.USER_BUSY, ChannelState.BUSY)
    assert busy_far.cause_txt == "User busy"
    assert (busy_near.cause_enum, busy_near.state) == (HangupCause.NOT_DEFINED, ChannelState.DOWN)
    assert hangups["dialer-L1005-2"].cause_enum is HangupCause.NORMAL_CIRCUIT_CONGESTION
    assert hangups["dialer-L1007"].cause == HangupCause.NO_ANSWER
    assert hangups["dialer-L1002"].linkedid == "dialer-L1002"
    # our Originate Timeout on a ringing call: HangupRequest with cause 19, and no DialEnd for it
    requests = {e.uniqueid: e for e in parsed(ev.HangupRequest)}
    assert requests["1795448673.77"].cause_enum is HangupCause.NO_ANSWER
    assert "1795448673.76" not in {e.dest_uniqueid for e in parsed(ev.DialEnd)}
    assert {e.cause for e in parsed(ev.SoftHangupRequest)} <= {16, 17, 19, 34, 0, None}


def test_channel_states_and_dial_events() -> None:
    assert {e.state for e in parsed(ev.Newchannel)} == {ChannelState.DOWN, ChannelState.RING}
    assert {ChannelState.RINGING, ChannelState.UP, ChannelState.BUSY} <= {e.state for e in parsed(ev.Newstate)}
    ends = {e.dest_uniqueid: e.dial_status for e in parsed(ev.DialEnd) if e.channel is None}
    assert ends["1795448668.72"] is DialStatus.BUSY
    assert ends["dialer-L1005"] is DialStatus.CONGESTION
    assert ends["dialer-L1007"] is DialStatus.NOANSWER
    assert ends["1795448629.60"] is DialStatus.ANSWER
    assert {e.dial_status for e in parsed(ev.DialState)} == {DialStatus.RINGING}
    begins = parsed(ev.DialBegin)
    to_agent = next(e for e in begins if e.channel is not None)  # Dial() from the customer leg
    assert (to_agent.uniqueid, to_agent.dest_uniqueid, to_agent.dest_linkedid) == (
        "1795448629.60",
        "1795448637.62",
        "1795448629.60",
    )
    assert next(e for e in begins if e.channel is None).dial_string == "5551230@sim-pstn"


def test_dialplan_user_events() -> None:
    amd = parsed(ev.AmdResult)
    assert [(a.lead_id, a.status, a.cause) for a in amd] == [
        ("L1001", AmdStatus.HUMAN, "HUMAN-800-800"),
        ("L1002", AmdStatus.HUMAN, "HUMAN-800-800"),
        ("L1003", AmdStatus.MACHINE, "MAXWORDS-3-2"),
        ("L1010", AmdStatus.SKIPPED, "none"),
        ("L1011", AmdStatus.HUMAN, "HUMAN-800-800"),
    ]
    # the transcript's dialplan predates CallID: call_id falls back to Linkedid (the contract's call_id)
    assert amd[1].call_id == amd[1].linkedid == amd[1].uniqueid == "dialer-L1002"
    assert [p.lead_id for p in parsed(ev.Parked)] == ["L1001", "L1002", "L1003", "L1010", "L1011"]
    (connect,) = parsed(ev.ConnectAgent)
    assert (connect.agent, connect.call_id) == ("1001", "1795448629.60")
    assert [a.agent for a in parsed(ev.AgentAnswered)] == ["1001", "1002"]
    ends = {e.lead_id: e for e in parsed(ev.LegEnd)}
    redirect = ends["L1001"]
    assert (redirect.dial_status, redirect.hangup_cause_enum, redirect.where) == (
        DialStatus.ANSWER,
        HangupCause.NORMAL_CLEARING,
        "dialer-to-agent",
    )
    assert ends["L1008"].amd_status is AmdStatus.HANGUP
    assert ends["L1003"].amd_status is AmdStatus.MACHINE
    assert ends["L1010"].amd_status is None  # AMDStatus: (empty) when AMD was skipped
    (park_end,) = parsed(ev.UserEvent)
    assert park_end.fields == (("leadid", "L1002"),)
    assert park_end.get("LeadID") == "L1002"
    assert parsed(ev.BridgeEnter)[0].bridge_uniqueid == "3980a960-968c-4839-97a6-5f2e79be8b7c"
    assert parsed(ev.FullyBooted) == [ev.FullyBooted(uptime=487, last_reload=487, status="Fully Booted")]


CHANNEL = {
    "Channel": "Local/5551230@dialer-outbound-0000001b;1",
    "ChannelState": "6",
    "Uniqueid": "c-7",
    "Linkedid": "c-7",
    "Timestamp": "1795448637.652793",
}


def test_contract_call_id_header_wins_over_linkedid() -> None:
    msg = {**CHANNEL, "Linkedid": "c-other", "Event": "UserEvent", "UserEvent": "DialerAbandonPlayed", "CallID": "c-7"}
    assert parse_event(msg) == ev.AbandonPlayed(
        call_id="c-7", channel=CHANNEL["Channel"], uniqueid="c-7", linkedid="c-other", timestamp=1795448637.652793
    )
    amd = parse_event({**CHANNEL, "Event": "UserEvent", "UserEvent": "dialeramd", "AMDStatus": "NOTSURE"})
    assert isinstance(amd, ev.AmdResult)
    assert amd.status is AmdStatus.NOTSURE


def test_trunk_result_carries_the_carriers_cause() -> None:
    # What dialer-outbound's ;2 leg sends when the carrier answers 404 (docs/DIALPLAN_CONTRACT.md).
    leg2 = {**CHANNEL, "Channel": "Local/5551230@dialer-outbound-0000001b;2", "Uniqueid": "c-7-2"}
    msg = {**leg2, "Event": "UserEvent", "UserEvent": "DialerTrunkResult", "CallID": "c-7",
           "DialStatus": "CHANUNAVAIL", "HangupCause": "1"}
    event = parse_event(msg)
    assert event == ev.TrunkResult(
        call_id="c-7", dial_status=DialStatus.CHANUNAVAIL, hangup_cause=1, channel=leg2["Channel"],
        uniqueid="c-7-2", linkedid="c-7", timestamp=1795448637.652793,
    )
    assert isinstance(event, ev.TrunkResult)
    assert event.hangup_cause_enum is HangupCause.UNALLOCATED
    # An agent-leg-first customer leg with no CallID still names the call: its Linkedid.
    bare = parse_event({**leg2, "Event": "UserEvent", "UserEvent": "DialerTrunkResult", "CallID": "",
                        "DialStatus": "BUSY", "HangupCause": "17"})
    assert isinstance(bare, ev.TrunkResult)
    assert (bare.call_id, bare.dial_status) == ("c-7", DialStatus.BUSY)


def test_unknown_codes_keep_their_raw_value() -> None:
    hangup = parse_event({**CHANNEL, "Event": "Hangup", "Cause": "99"})
    assert isinstance(hangup, ev.Hangup)
    assert (hangup.cause, hangup.cause_enum) == (99, HangupCause.IE_NONEXIST)
    odd = parse_event({**CHANNEL, "Event": "Hangup", "Cause": "250"})
    assert isinstance(odd, ev.Hangup)
    assert (odd.cause, odd.cause_enum) == (250, None)
    response = parse_event({"Event": "OriginateResponse", "Response": "Failure", "Reason": "2", "ActionID": "c-1"})
    assert isinstance(response, ev.OriginateResponse)
    assert (response.reason, response.reason_enum, response.uniqueid) == (2, None, None)


def test_panoramisk_repeated_header_takes_the_first_value() -> None:
    event = parse_event({**CHANNEL, "Event": "Hangup", "Cause": ["17", "16"]})
    assert isinstance(event, ev.Hangup)
    assert event.cause == 17


@pytest.mark.parametrize(
    ("msg", "name", "problem"),
    [
        ({"Response": "Success"}, "", "no 'Event' header"),
        ({}, "", "no 'Event' header"),
        ({"Event": ""}, "", "no 'Event' header"),
        ({**CHANNEL, "Event": "Hangup"}, "Hangup", "'cause' is missing"),
        ({**CHANNEL, "Event": "Hangup", "Uniqueid": "", "Cause": "16"}, "Hangup", "'uniqueid' is empty"),
        ({**CHANNEL, "Event": "Hangup", "Cause": "abc"}, "Hangup", "'cause' is not an integer: 'abc' (Uniqueid 'c-7')"),
        ({**CHANNEL, "Event": "Newstate", "ChannelState": "99"}, "Newstate", "not a channel state: 99"),
        ({**CHANNEL, "Event": "Newstate", "Timestamp": "yesterday"}, "Newstate", "'timestamp' is not a number"),
        (
            {"Event": "DialEnd", "DestChannel": "X/1", "DestUniqueid": "u", "DestLinkedid": "u", "DialStatus": "MEH"},
            "DialEnd",
            "not a dial status: 'MEH'",
        ),
        ({**CHANNEL, "Event": "UserEvent", "UserEvent": "DialerAMD", "AMDStatus": "ROBOT"}, "UserEvent", "'ROBOT'"),
        ({**CHANNEL, "Event": "UserEvent", "UserEvent": "DialerConnectAgent"}, "UserEvent", "'agent' is missing"),
        (
            {**CHANNEL, "Event": "UserEvent", "UserEvent": "DialerTrunkResult", "DialStatus": "", "HangupCause": "1"},
            "UserEvent",
            "required header 'dialstatus' is empty (Uniqueid 'c-7')",
        ),
        (
            {**CHANNEL, "Event": "UserEvent", "UserEvent": "DialerTrunkResult", "DialStatus": "CHANUNAVAIL",
             "HangupCause": "unallocated"},
            "UserEvent",
            "header 'hangupcause' is not an integer: 'unallocated'",
        ),
        (
            {**CHANNEL, "Event": "UserEvent", "UserEvent": "DialerTrunkResult", "DialStatus": "GONE",
             "HangupCause": "1"},
            "UserEvent",
            "'dialstatus' is not a dial status: 'GONE'",
        ),
        (
            {**CHANNEL, "Event": "UserEvent", "UserEvent": "DialerTrunkResult", "DialStatus": "BUSY"},
            "UserEvent",
            "required header 'hangupcause' is missing",
        ),
        ({**CHANNEL, "Event": "UserEvent"}, "UserEvent", "'userevent' is missing"),
        ({"Event": "OriginateResponse", "Response": "Maybe", "Reason": "4"}, "OriginateResponse", "neither Success"),
        ({"Event": "OriginateResponse", "Response": "Success"}, "OriginateResponse", "'reason' is missing"),
        ({"Event": "BridgeEnter", **CHANNEL}, "BridgeEnter", "'bridgeuniqueid' is missing"),
        ({"Event": "Hangup", 1: "x"}, "", "unreadable message (AttributeError"),
        ({"Event": ["Hangup"], **CHANNEL, "Cause": None}, "Hangup", "'cause' is missing"),
        ({"Event": 42}, "", "no 'Event' header"),
    ],
)
def test_malformed_events_say_what_is_wrong(msg: Mapping[str, Any], name: str, problem: str) -> None:
    event = parse_event(msg)
    assert isinstance(event, ev.MalformedEvent)
    assert event.name == name
    assert problem in event.problem


@pytest.mark.parametrize("garbage", [None, "Event: Hangup", 42, [("Event", "Hangup")], object()])
def test_not_a_mapping_is_malformed_not_an_exception(garbage: Any) -> None:
    assert isinstance(parse_event(garbage), ev.MalformedEvent)


def test_unmodelled_event_is_unknown() -> None:
    assert parse_event({"Event": "Newexten", **CHANNEL}) == ev.UnknownEvent("Newexten")
    assert parse_event({"event": "SomethingNew"}) == ev.UnknownEvent("SomethingNew")


def test_modelled_user_events_are_the_contracts() -> None:
    assert {
        "DialerAMD", "DialerParked", "DialerConnectAgent", "AgentAnswered", "DialerAbandonPlayed", "DialerLegEnd",
        "DialerTrunkResult", "DialerOptOut", "DialerRecording",
    } == MODELLED_USER_EVENTS  # fmt: skip


def test_a_recording_names_asterisks_file_and_an_empty_one_is_refused_with_the_reason() -> None:
    file = "/var/spool/asterisk/monitor/dialer/c-7.wav"
    msg = {**CHANNEL, "Event": "UserEvent", "UserEvent": "DialerRecording", "CallID": "c-7", "LeadID": "L9",
           "File": file}
    assert parse_event(msg) == ev.RecordingStarted(call_id="c-7", file=file, channel=CHANNEL["Channel"],
                                                   uniqueid="c-7", linkedid="c-7", timestamp=1795448637.652793,
                                                   lead_id="L9")
    # MixMonitor did not start (MIXMONITOR_FILENAME empty): no file to name, and the log says why
    bad = parse_event({**msg, "File": ""})
    assert isinstance(bad, ev.MalformedEvent)
    assert "'file' is empty" in bad.problem


def test_an_opt_out_key_press_names_the_call_lead_and_campaign() -> None:
    msg = {**CHANNEL, "Event": "UserEvent", "UserEvent": "DialerOptOut", "CallID": "c-7", "LeadID": "L9",
           "Campaign": "winback"}
    assert parse_event(msg) == ev.OptOut(call_id="c-7", channel=CHANNEL["Channel"], uniqueid="c-7", linkedid="c-7",
                                         timestamp=1795448637.652793, lead_id="L9", campaign_id="winback")
    bare = parse_event({**CHANNEL, "Event": "UserEvent", "UserEvent": "DialerOptOut", "LeadID": "", "Campaign": ""})
    assert bare == ev.OptOut(call_id="c-7", channel=CHANNEL["Channel"], uniqueid="c-7", linkedid="c-7",
                             timestamp=1795448637.652793)  # empty dialplan variables read as absent


def test_channel_rows() -> None:
    row = parse_channel_row(
        {**CHANNEL, "Event": "CoreShowChannel", "Application": "Wait", "ApplicationData": "600", "Duration": "01:02:03"}
    )
    assert isinstance(row, ev.ChannelRow)
    assert (row.uniqueid, row.state, row.application, row.duration) == ("c-7", ChannelState.UP, "Wait", 3723)
    bad = parse_channel_row({**CHANNEL, "Duration": "1:xx:00"})
    assert isinstance(bad, ev.MalformedEvent)
    assert "'duration' is not an integer" in bad.problem
    assert isinstance(parse_channel_row({"Channel": "X/1"}), ev.MalformedEvent)


# --- totality, by property ------------------------------------------------------------------------

NAMES = sorted(MODELLED_EVENTS | DELIBERATELY_UNMODELLED)
# Every header some parser reads, in the case Asterisk sends it.
KEYS = [
    "Channel", "ChannelState", "Uniqueid", "Linkedid", "Timestamp", "Cause", "Cause-txt", "DestChannel",
    "DestUniqueid", "DestLinkedid", "DialStatus", "Response", "Reason", "ActionID", "BridgeUniqueid",
    "BridgeNumChannels", "Uptime", "CallID", "AMDStatus", "AMDCause", "Agent", "LeadID", "HangupCause", "Restart",
]  # fmt: skip
junk = st.one_of(st.text(max_size=12), st.sampled_from(["", "16", "-1", "6", "<unknown>", "1e9", "nan", "ANSWER"]))


@settings(max_examples=400, derandomize=True, database=None)
@given(
    name=st.sampled_from(NAMES),
    user=st.sampled_from([*sorted(MODELLED_USER_EVENTS), "Other"]),
    headers=st.dictionaries(st.sampled_from(KEYS), junk, max_size=12),
)
def test_parse_never_raises_on_random_headers(name: str, user: str, headers: dict[str, str]) -> None:
    event = parse_event({**headers, "Event": name, "UserEvent": user})
    assert isinstance(event, EVENT_TYPES)


@settings(max_examples=300, derandomize=True, database=None)
@given(index=st.integers(min_value=0), data=st.data())
def test_parse_never_raises_on_mutated_real_events(index: int, data: st.DataObject) -> None:
    headers = dict(EVENT_BLOCKS[index % len(EVENT_BLOCKS)].as_dict())
    for key in data.draw(st.lists(st.sampled_from(sorted(headers)), max_size=6)):
        if data.draw(st.booleans()):
            headers.pop(key, None)
        else:
            headers[key] = data.draw(junk)
    assert isinstance(parse_event(headers), EVENT_TYPES)
