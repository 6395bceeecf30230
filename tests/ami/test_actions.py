"""Action builders: the contract's Originate, validation, and what panoramisk 1.4 writes on the wire."""

from __future__ import annotations

import pytest
from panoramisk.actions import Action

from dialer.ami import actions
from dialer.errors import AmiError, OriginateError

GOOD = {
    "call_id": "c-upsell-42-x7",
    "number": "+15551230000",
    "campaign": "upsell",
    "lead_id": "L1001",
    "timeout_ms": 25_000,
    "caller_id_name": "Acme Cable",
    "caller_id_number": "18005550100",
}


def test_originate_follows_the_contract() -> None:
    action = actions.originate(**GOOD)  # type: ignore[arg-type]
    assert (action.call_id, action.timeout_ms) == ("c-upsell-42-x7", 25_000)
    assert action.as_dict() == {
        "Action": "Originate",
        "ActionID": "c-upsell-42-x7",
        "Channel": "Local/15551230000@dialer-outbound/n",
        "Context": "dialer-connect",
        "Exten": "s",
        "Priority": "1",
        "Timeout": "25000",
        "CallerID": '"Acme Cable" <18005550100>',
        "Async": "true",
        "ChannelId": "c-upsell-42-x7",
        "OtherChannelId": "c-upsell-42-x7-2",
        "Variable": "DIALER_CALL_ID=c-upsell-42-x7,DIALER_CAMPAIGN=upsell,DIALER_LEAD=L1001,DIALER_AMD=1",
    }


def test_originate_without_amd_and_other_contexts() -> None:
    action = actions.originate(**{**GOOD, "number": "4420794600"}, amd=False, outbound_context="trunk-b")  # type: ignore[arg-type]
    d = action.as_dict()
    assert d["Variable"].endswith("DIALER_AMD=0")
    assert d["Channel"] == "Local/4420794600@trunk-b/n"


def test_as_dict_is_fresh_each_time() -> None:
    action = actions.originate(**GOOD)  # type: ignore[arg-type]
    first = action.as_dict()
    first["Async"] = "false"
    assert action.as_dict()["Async"] == "true"


async def test_panoramisk_writes_async_true_and_one_variable_header() -> None:
    # panoramisk's Action creates a Future, hence the running loop of an async test.
    wire = str(Action(actions.originate(**GOOD).as_dict()))  # type: ignore[arg-type]
    lines = wire.split("\r\n")
    assert lines[-2:] == ["", ""]  # the block ends with an empty line
    assert "Async: true" in lines
    assert "ActionID: c-upsell-42-x7" in lines
    assert [x for x in lines if x.startswith("Variable:")] == [
        "Variable: DIALER_CALL_ID=c-upsell-42-x7,DIALER_CAMPAIGN=upsell,DIALER_LEAD=L1001,DIALER_AMD=1"
    ]
    assert lines[0] == "Action: Originate"  # panoramisk sorts the headers by name


def test_call_id_of_sixty_characters_is_accepted() -> None:
    call_id = "c-" + "x" * 58
    assert actions.originate(**{**GOOD, "call_id": call_id}).as_dict()["OtherChannelId"] == call_id + "-2"  # type: ignore[arg-type]


def test_a_recording_campaign_asks_the_dialplan_to_record() -> None:
    first = actions.originate(**GOOD, record=True)  # type: ignore[arg-type]
    assert first.as_dict()["Variable"].endswith(",DIALER_AMD=1,DIALER_RECORD=1")
    agent_first = actions.originate_agent_first(
        call_id="c-upsell-43-x8", number="+15551230000", extension="1001", campaign="upsell", lead_id="L1001",
        ring_s=25, caller_id_name="Acme Cable", caller_id_number="18005550100", record=True)
    assert agent_first.as_dict()["Variable"].endswith(",DIALER_RING_S=25,DIALER_RECORD=1")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"call_id": "c-" + "x" * 59}, "1 to 60 characters"),
        ({"call_id": ""}, "1 to 60 characters"),
        ({"call_id": "c 1"}, "may only contain"),
        ({"call_id": "c/1"}, "may only contain"),
        ({"call_id": "c-1\r\nAction: Hangup"}, "may only contain"),
        ({"timeout_ms": 14_999}, "at least 15000 ms"),
        ({"timeout_ms": True}, "int number of milliseconds"),
        ({"timeout_ms": 20_000.0}, "int number of milliseconds"),
        ({"number": "+1555abc"}, "not E.164"),
        ({"number": "1234567890123456"}, "not E.164"),
        ({"number": "+"}, "not E.164"),
        ({"campaign": "a,b"}, "contains ','"),
        ({"campaign": ""}, "non-empty"),
        ({"lead_id": "L1\r\nAction: Hangup"}, "line break"),
        ({"lead_id": "k=v"}, "contains '='"),
        ({"caller_id_name": 'Acme "TV"'}, "contains '\"'"),
        ({"caller_id_number": "<1>"}, "contains '<>'"),
    ],
)
def test_originate_rejects_bad_input(change: dict[str, object], message: str) -> None:
    with pytest.raises(OriginateError, match=message):
        actions.originate(**{**GOOD, **change})  # type: ignore[arg-type]


def test_other_builders() -> None:
    assert actions.hangup("PJSIP/1-0001").as_dict() == {"Action": "Hangup", "Channel": "PJSIP/1-0001", "Cause": "16"}
    assert actions.hangup("PJSIP/1-0001", cause=17).as_dict()["Cause"] == "17"
    assert actions.redirect("Local/5@x;1", "dialer-to-agent", "1001").as_dict() == {
        "Action": "Redirect",
        "Channel": "Local/5@x;1",
        "Context": "dialer-to-agent",
        "Exten": "1001",
        "Priority": "1",
    }
    assert actions.bridge("A/1", "B/2").as_dict() == {
        "Action": "Bridge",
        "Channel1": "A/1",
        "Channel2": "B/2",
        "Tone": "no",
    }
    assert actions.bridge("A/1", "B/2", tone=True).as_dict()["Tone"] == "yes"
    assert actions.status().as_dict() == {"Action": "Status"}
    assert actions.status("A/1").as_dict() == {"Action": "Status", "Channel": "A/1"}
    assert actions.ping().as_dict() == {"Action": "Ping"}
    assert actions.core_show_channels().as_dict() == {"Action": "CoreShowChannels"}
    assert actions.logoff().as_dict() == {"Action": "Logoff"}
    assert actions.login("dialer", "pw", "call,user,reporting").as_dict() == {
        "Action": "Login",
        "Username": "dialer",
        "Secret": "pw",
        "Events": "call,user,reporting",
    }


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: actions.hangup("A/1", cause=200), "between 0 and 127"),
        (lambda: actions.hangup("A/1\r\nAction: Originate"), "line break"),
        (lambda: actions.hangup(""), "non-empty"),
        (lambda: actions.redirect("A/1", "ctx", "s", priority=0), "positive integer"),
        (lambda: actions.bridge("A/1", "B/2\n"), "line break"),
    ],
)
def test_other_builders_reject_bad_input(build: object, message: str) -> None:
    with pytest.raises(AmiError, match=message):
        build()  # type: ignore[operator]


def test_agent_first_originate_rings_the_agent_then_dials_the_customer_from_the_dialplan():
    a = actions.originate_agent_first(call_id="c-prev-1-ab", number="+12125550142", extension="1001",
                                      campaign="prev", lead_id="L42", ring_s=25, caller_id_name="Northwind",
                                      caller_id_number="18005550100")
    d = a.as_dict()
    assert (d["Channel"], d["Context"], d["Exten"], d["Priority"]) == (
        "Local/1001@dialer-agent/n", "dialer-agent-dial", "12125550142", "1")
    assert (d["ActionID"], d["ChannelId"], d["OtherChannelId"], d["Async"]) == (
        "c-prev-1-ab", "c-prev-1-ab", "c-prev-1-ab-2", "true")
    assert d["Variable"] == ("DIALER_CALL_ID=c-prev-1-ab,DIALER_CAMPAIGN=prev,DIALER_LEAD=L42,DIALER_AGENT=1001,"
                             "DIALER_RING_S=25")


@pytest.mark.parametrize(("kw", "match"), [({"extension": "10a1"}, "must be digits"),
                                           ({"ring_s": 5}, "at least 15 seconds"),
                                           ({"number": "12-34"}, "not E.164")])
def test_agent_first_originate_refuses_bad_input(kw, match):
    args = {"call_id": "c1", "number": "+12125550142", "extension": "1001", "campaign": "prev", "lead_id": "L1",
            "ring_s": 20, "caller_id_name": "N", "caller_id_number": "1"} | kw
    with pytest.raises(OriginateError, match=match):
        actions.originate_agent_first(**args)
