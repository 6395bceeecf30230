"""extensions.conf implements docs/DIALPLAN_CONTRACT.md: contexts, variables, UserEvents, timings.

The call flows are run through `astconf_sim.Sim`, an interpreter of the applications the dialplan
uses, so these tests check what the dialplan does for each outcome of a call.
"""

from __future__ import annotations

import re

import pytest
from astconf_dialplan import Dialplan, split_args
from astconf_files import load
from astconf_sim import Channel, Scenario, Sim

CALL_ID = "c-upsell-42-x7Kq"
LEAD_ID = "L1001"
ORIGINATE_VARS = {"DIALER_CALL_ID": CALL_ID, "DIALER_CAMPAIGN": "upsell", "DIALER_LEAD": LEAD_ID}

# docs/DIALPLAN_CONTRACT.md: each UserEvent and the headers the daemon reads from it.
CONTRACT_EVENTS = {
    "DialerAMD": {"CallID", "LeadID", "AMDStatus", "AMDCause"},
    "DialerParked": {"CallID"},
    "DialerConnectAgent": {"CallID", "Agent"},
    "AgentAnswered": {"Agent", "CallID"},
    "DialerAbandonPlayed": {"CallID"},
    "DialerLegEnd": {"CallID", "AMDStatus", "DialStatus", "HangupCause", "Where"},  # Where: agentless calls
    "DialerTransferFailed": {"CallID", "Agent", "DialStatus"},
    "DialerAgentlessPlayed": {"CallID", "Message", "PlaybackStatus"},
    "DialerTrunkResult": {"CallID", "DialStatus", "HangupCause"},
    "DialerOptOut": {"CallID", "LeadID", "Campaign"},
    "DialerRecording": {"CallID", "File"},
}
CUSTOMER_LEG_CONTEXTS = ["dialer-connect", "dialer-to-agent", "dialer-transfer", "dialer-abandon", "dialer-machine",
                         "dialer-agentless"]
ABANDON = "custom/dialer-abandon"
AGENTLESS = "custom/dialer-agentless"


@pytest.fixture(scope="module")
def plan() -> Dialplan:
    return Dialplan.load(load("extensions.conf"))


def answered(plan: Dialplan, dialer_amd: str = "1", **scenario) -> tuple[Sim, Channel, str]:
    sim = Sim(plan, Scenario(**scenario))
    leg = sim.originate({**ORIGINATE_VARS, "DIALER_AMD": dialer_amd})
    return sim, leg, sim.start(leg, "dialer-connect", "s")


# --- structure -------------------------------------------------------------------------------


def test_contract_contexts_and_extensions_exist(plan):
    assert plan.match("dialer-outbound", "15551230") == "_X."
    assert plan.match("dialer-connect", "s") == "s"
    assert plan.match("dialer-to-agent", "1001") == "_X."
    assert plan.match("dialer-agent", "1001") == "_X."
    assert plan.match("dialer-abandon", "s") == "s"
    for context in CUSTOMER_LEG_CONTEXTS:
        assert plan.match(context, "h") == "h", f"{context} has no h extension"


@pytest.mark.parametrize("var", ["DIALER_CALL_ID", "DIALER_CAMPAIGN", "DIALER_LEAD", "DIALER_AMD"])
def test_originate_variables_are_used(plan, var):
    assert any(f"${{{var}}}" in step.data for step in plan.steps("dialer-connect"))


def test_user_event_headers_have_no_stray_spaces(plan):
    # app_userevent keeps a space after the comma in the header name (" LeadID").
    for context in plan.contexts:
        for step in plan.steps(context):
            if step.app == "UserEvent":
                for arg in split_args(step.data)[1:]:
                    key = arg.partition(":")[0]
                    assert re.fullmatch(r"[A-Za-z]+", key), f"line {step.line}: header {key!r}"


def test_inbound_contexts_cannot_reach_the_dialer(plan):
    internal = ("dialer-outbound", "dialer-connect", "dialer-to-agent", "dialer-agent", "dialer-machine")
    for context in ("from-trunk", "dialer-callback", "dialer-agents-in"):
        for step in plan.steps(context):
            assert not any(name in step.data for name in internal), f"line {step.line}"
            assert step.app != "Dial", f"line {step.line}: inbound calls must not dial out"


# --- the outbound leg ----------------------------------------------------------------------


def outbound(plan: Dialplan, number: str = "15551230", **scenario) -> Sim:
    sim = Sim(plan, Scenario(**scenario))
    leg2 = sim.originate(ORIGINATE_VARS, name=f"Local/{number}@dialer-outbound-1;2")
    assert sim.start(leg2, "dialer-outbound", number) == "hungup"
    return sim


def test_outbound_leg_dials_the_trunk_and_rings_at_least_15_s(plan):
    sim = outbound(plan)
    [dial] = sim.dials
    assert dial.dest == "PJSIP/15551230@trunk"
    assert int(dial.timeout) >= 15


# What app_dial leaves for each carrier answer: DIALSTATUS (handle_cause: any cause but 16, 17, 19 and 34
# reads CHANUNAVAIL), HANGUPCAUSE (the carrier's), and how the leg must fail the Local channel: Busy() and
# Congestion() become OriginateResponse Reason 5 and 8; Hangup(<cause>) gives Reason 0 with the cause.
@pytest.mark.parametrize(
    ("status", "cause", "app", "data"),
    [
        ("BUSY", "17", "Busy", "3"),
        ("CONGESTION", "34", "Congestion", "3"),
        ("CHANUNAVAIL", "38", "Congestion", "3"),  # network out of order
        ("CHANUNAVAIL", "42", "Congestion", "3"),  # switching equipment congestion
        ("CHANUNAVAIL", "1", "Hangup", "1"),  # unallocated number (SIP 404): not congestion
        ("CHANUNAVAIL", "28", "Hangup", "28"),  # invalid number format (SIP 484)
        ("CHANUNAVAIL", "18", "Hangup", "18"),  # no user responding (SIP 408)
        ("CHANUNAVAIL", "3", "Hangup", "3"),  # no route: also chan_pjsip's own failure to reach the trunk
        ("NOANSWER", "19", "Hangup", "19"),  # the carrier stopped ringing
    ],
)
def test_a_failed_trunk_dial_reports_its_cause_then_fails_the_local_channel(plan, status, cause, app, data):
    sim = outbound(plan, dial={"PJSIP/": status}, causes={"PJSIP/": cause})
    [result] = sim.user_events("DialerTrunkResult")
    assert {k: result[k] for k in CONTRACT_EVENTS["DialerTrunkResult"]} == {
        "CallID": CALL_ID, "DialStatus": status, "HangupCause": cause}
    assert result["Channel"].endswith(";2")
    failing = [i for i, a in enumerate(sim.apps) if a[2] in ("Busy", "Congestion", "Hangup")]
    reported = next(i for i, a in enumerate(sim.apps) if a[3].startswith("DialerTrunkResult"))
    assert reported < failing[0], "the cause must reach the daemon before the OriginateResponse"
    assert sim.apps[failing[0]][2:] == (app, data)


def test_an_answered_trunk_dial_reports_no_failure(plan):
    sim = outbound(plan, dial={"PJSIP/": "ANSWER"})
    assert sim.user_events("DialerTrunkResult") == []


def test_outbound_leg_refuses_anything_but_digits(plan):
    sim = outbound(plan, number="1555&PJSIP/999")
    assert sim.dials == []
    assert sim.ran("Hangup")[-1][3] == "28"


# --- the answered leg: AMD, parking ---------------------------------------------------------


def test_live_answer_runs_amd_reports_it_and_parks(plan):
    sim, _, state = answered(plan, dialer_amd="1")
    assert state == "waiting"
    assert len(sim.ran("AMD")) == 1
    amd, parked = sim.user_events()
    assert amd["UserEvent"] == "DialerAMD"
    assert {k: amd[k] for k in CONTRACT_EVENTS["DialerAMD"]} == {
        "CallID": CALL_ID,
        "LeadID": "L1001",
        "AMDStatus": "HUMAN",
        "AMDCause": "HUMAN-800-800",
    }
    assert parked["UserEvent"] == "DialerParked"
    assert parked["CallID"] == CALL_ID
    assert sim.ran("Wait")[-1][3] == "600"


@pytest.mark.parametrize("amd", ["0", "", "yes", "true", "01"])
def test_amd_runs_only_when_dialer_amd_is_1(plan, amd):
    sim, _, state = answered(plan, dialer_amd=amd)
    assert state == "waiting"
    assert sim.ran("AMD") == []
    [amd_event] = sim.user_events("DialerAMD")
    assert amd_event["AMDStatus"] == "SKIPPED"


def test_machine_is_reported_and_left_for_the_daemon_to_hang_up(plan):
    sim, leg, state = answered(plan, amd=("MACHINE", "MAXWORDS-4-3"))
    assert state == "waiting"
    assert sim.user_events("DialerAMD")[0]["AMDStatus"] == "MACHINE"
    sim.hangup(leg, "16")  # the daemon's Hangup action, Cause 16
    [end] = sim.user_events("DialerLegEnd")
    assert (end["CallID"], end["Where"], end["AMDStatus"], end["DialStatus"], end["HangupCause"]) == (
        CALL_ID,
        "dialer-connect",
        "MACHINE",
        "",
        "16",
    )


def test_amd_that_cannot_start_is_reported_as_a_person_not_an_empty_status(plan):
    # app_amd sets AMDSTATUS and AMDCAUSE to "" when it cannot read signed linear or make a silence
    # detector; an empty AMDStatus would be unreadable and leave the person waiting in silence.
    sim, leg, state = answered(plan, amd=("", ""))
    assert state == "waiting"
    [amd] = sim.user_events("DialerAMD")
    assert (amd["AMDStatus"], amd["AMDCause"]) == ("NOTSURE", "AMD-FAILED")
    assert sim.user_events("DialerParked")
    sim.hangup(leg)
    [end] = sim.user_events("DialerLegEnd")
    assert end["AMDStatus"] == "NOTSURE"


def test_hang_up_during_amd_still_reports_how_the_leg_ended(plan):
    sim, _, state = answered(plan, amd=None)
    assert state == "hungup"
    assert sim.user_events("DialerAMD") == []
    [end] = sim.user_events("DialerLegEnd")
    assert end["AMDStatus"] == "HANGUP"
    assert end["CallID"] == CALL_ID


def test_park_timeout_plays_the_abandon_message_rather_than_dead_air(plan):
    sim, _, state = answered(plan, on_wait="timeout", sounds={ABANDON})
    assert state == "hungup"
    assert ABANDON in sim.played
    assert sim.user_events("DialerAbandonPlayed")


# --- connecting an agent ------------------------------------------------------------------


def test_redirect_to_agent_rings_the_agent_and_reports_each_step(plan):
    sim, leg, _ = answered(plan)
    assert sim.redirect(leg, "dialer-to-agent", "1001") == "hungup"  # agent hung up after the talk
    names = [e["UserEvent"] for e in sim.user_events()]
    assert names == ["DialerAMD", "DialerParked", "DialerConnectAgent", "AgentAnswered", "DialerLegEnd"]
    connect, agent = sim.user_events("DialerConnectAgent")[0], sim.user_events("AgentAnswered")[0]
    assert (connect["CallID"], connect["Agent"]) == (CALL_ID, "1001")
    assert (agent["CallID"], agent["Agent"]) == (CALL_ID, "1001")
    assert agent["Channel"].startswith("PJSIP/1001")  # on the agent side
    customer_dial, agent_dial = sim.dials
    assert customer_dial.dest == "Local/1001@dialer-agent"
    assert agent_dial.dest == "PJSIP/1001"
    end = sim.user_events("DialerLegEnd")[0]
    assert (end["Where"], end["DialStatus"], end["AMDStatus"]) == ("dialer-to-agent", "ANSWER", "HUMAN")


RECORDING = f"/var/spool/asterisk/monitor/dialer/{CALL_ID}.wav,b"


@pytest.mark.parametrize(("record", "recorded"), [("1", True), ("0", False), (None, False)])
def test_a_recording_campaign_records_the_customer_leg_from_its_bridge_with_the_agent(plan, record, recorded):
    sim = Sim(plan, Scenario())
    leg = sim.originate({**ORIGINATE_VARS, "DIALER_AMD": "1", **({"DIALER_RECORD": record} if record else {})})
    sim.start(leg, "dialer-connect", "s")
    sim.redirect(leg, "dialer-to-agent", "1001")
    started = sim.ran("MixMonitor")
    assert started == ([(leg.name, "dialer-record", "MixMonitor", RECORDING)] if recorded else [])
    told = sim.user_events("DialerRecording")
    if recorded:  # before the agent is dialed, so the whole conversation is in the file
        apps = [a[2] for a in sim.apps]
        assert apps.index("MixMonitor") < apps.index("Dial")
        # the daemon learns the file from Asterisk's own MIXMONITOR_FILENAME
        assert [(e["CallID"], e["LeadID"], e["File"]) for e in told] == [(CALL_ID, LEAD_ID, RECORDING[:-2])]
    else:
        assert told == []


def test_a_recording_is_started_once_per_call(plan):
    sim = Sim(plan, Scenario())
    leg = sim.originate({**ORIGINATE_VARS, "DIALER_RECORD": "1"})
    sim.gosub(leg, "dialer-record,s,1")
    sim.gosub(leg, "dialer-record,s,1")  # the leg sent to an agent again: one recorder, one file
    assert len(sim.ran("MixMonitor")) == 1
    assert len(sim.user_events("DialerRecording")) == 1


def test_agent_phone_is_asked_to_auto_answer(plan):
    sim, leg, _ = answered(plan)
    sim.redirect(leg, "dialer-to-agent", "1001")
    agent_channel = next(c for c in sim.callees if c.name.startswith("PJSIP/1001"))
    headers = dict(agent_channel.headers)
    assert headers["Call-Info"].endswith(";answer-after=0")
    assert "info=alert-autoanswer" in headers["Alert-Info"]


def test_customer_hanging_up_during_the_talk_ends_the_leg_once(plan):
    sim, leg, _ = answered(plan, bridge_ended_by="caller")
    assert sim.redirect(leg, "dialer-to-agent", "1001") == "hungup"
    assert len(sim.user_events("DialerLegEnd")) == 1


@pytest.mark.parametrize("status", ["NOANSWER", "BUSY", "CHANUNAVAIL"])
def test_agent_not_answering_gets_the_person_the_abandon_message_at_once(plan, status):
    sim, leg, _ = answered(plan, dial={"PJSIP/1001": status}, sounds={ABANDON})
    assert sim.redirect(leg, "dialer-to-agent", "1001") == "hungup"
    assert sim.user_events("AgentAnswered") == []
    assert sim.ran("Wait")[-1][1] == "dialer-connect", "no second wait in silence"
    assert sim.user_events("DialerAbandonPlayed")
    end = sim.user_events("DialerLegEnd")[-1]
    assert (end["Where"], end["DialStatus"]) == ("dialer-abandon", status)


def test_agent_phone_rings_no_longer_than_the_abandon_budget(plan):
    sim, leg, _ = answered(plan)
    sim.redirect(leg, "dialer-to-agent", "1001")
    assert all(int(d.timeout) <= 2 for d in sim.dials)


# --- abandoning --------------------------------------------------------------------------


def test_abandon_plays_the_message_reports_it_then_hangs_up(plan):
    sim, leg, _ = answered(plan, sounds={ABANDON})
    assert sim.redirect(leg, "dialer-abandon", "s") == "hungup"
    played, end = sim.user_events()[-2:]
    assert played["UserEvent"] == "DialerAbandonPlayed"
    assert (played["CallID"], played["PlaybackStatus"]) == (CALL_ID, "SUCCESS")
    assert end["UserEvent"] == "DialerLegEnd"
    assert (end["Where"], end["HangupCause"]) == ("dialer-abandon", "16")
    playback = next(i for i, a in enumerate(sim.apps) if a[2] == "Playback" and a[3] == ABANDON)
    event = next(i for i, a in enumerate(sim.apps) if a[3].startswith("DialerAbandonPlayed"))
    assert playback < event, "the event must follow the message"
    assert sim.ran("Hangup")[-1][3] == "16"


def test_a_campaign_message_replaces_the_default(plan):
    sim, leg, _ = answered(plan, sounds={f"{ABANDON}-upsell", ABANDON})
    sim.redirect(leg, "dialer-abandon", "s")
    assert sim.played == [f"{ABANDON}-upsell"]


def test_a_missing_message_is_logged_and_visible_to_the_daemon(plan):
    sim, leg, _ = answered(plan, sounds=set())
    sim.redirect(leg, "dialer-abandon", "s")
    assert any("missing" in a[3] for a in sim.ran("Log"))
    assert sim.user_events("DialerAbandonPlayed")[0]["PlaybackStatus"] == "FAILED"


def test_key_press_opt_out_is_off_unless_configured(plan):
    sim, leg, _ = answered(plan, sounds={ABANDON}, digits="9")
    sim.redirect(leg, "dialer-abandon", "s")
    assert sim.ran("Read") == []
    assert sim.user_events("DialerOptOut") == []


@pytest.mark.parametrize(("digits", "opted_out"), [("9", True), ("1", False), ("", False)])
def test_key_press_opt_out_when_configured(plan, digits, opted_out):
    configured = Dialplan(contexts=plan.contexts, globals={**plan.globals, "DIALER_OPTOUT_DIGIT": "9"})
    sim, leg, _ = answered(configured, sounds={ABANDON}, digits=digits)
    assert sim.redirect(leg, "dialer-abandon", "s") == "hungup"
    events = sim.user_events("DialerOptOut")
    assert bool(events) is opted_out
    if opted_out:
        assert (events[0]["CallID"], events[0]["LeadID"]) == (CALL_ID, "L1001")


def test_machine_message_waits_for_the_beep_then_plays(plan):
    sim, leg, _ = answered(plan, amd=("MACHINE", "LONGGREETING-1500-1500"), sounds={"custom/dialer-machine"})
    assert sim.redirect(leg, "dialer-machine", "s") == "hungup"
    assert sim.ran("WaitForSilence")
    assert sim.user_events("DialerMachineMessage")[0]["PlaybackStatus"] == "SUCCESS"
    assert sim.user_events("DialerLegEnd")[-1]["Where"] == "dialer-machine"


# --- the whole contract --------------------------------------------------------------------


def test_every_contract_event_is_emitted_with_its_headers(plan):
    seen: dict[str, dict[str, str]] = {}
    sim = Sim(plan, Scenario())
    leg = sim.originate({**ORIGINATE_VARS, "DIALER_AMD": "1", "DIALER_RECORD": "1"})
    sim.start(leg, "dialer-connect", "s")
    sim.redirect(leg, "dialer-to-agent", "1001")
    seen.update({e["UserEvent"]: e for e in sim.user_events()})
    opt_out = Dialplan(contexts=plan.contexts, globals={**plan.globals, "DIALER_OPTOUT_DIGIT": "9"})
    sim, leg, _ = answered(opt_out, sounds={ABANDON}, digits="9")
    sim.redirect(leg, "dialer-abandon", "s")
    seen.update({e["UserEvent"]: e for e in sim.user_events()})
    sim, leg, _ = answered(plan, dial={"PJSIP/1002": "BUSY"})
    sim.redirect(leg, "dialer-transfer", "1002")
    seen.update({e["UserEvent"]: e for e in sim.user_events()})
    sim, leg, _ = answered(plan, sounds={AGENTLESS})
    sim.redirect(leg, "dialer-agentless", "s")
    seen.update({e["UserEvent"]: e for e in sim.user_events()})
    seen.update({e["UserEvent"]: e for e in outbound(plan, dial={"PJSIP/": "BUSY"}).user_events()})
    for name, headers in CONTRACT_EVENTS.items():
        assert name in seen, f"UserEvent {name} is never sent"
        missing = headers - set(seen[name])
        assert not missing, f"UserEvent {name} lacks {sorted(missing)}"
        assert seen[name]["CallID"] == CALL_ID


@pytest.mark.parametrize("context", CUSTOMER_LEG_CONTEXTS)
def test_each_place_a_customer_leg_can_end_reports_it_exactly_once(plan, context):
    sim, leg, _ = answered(plan, sounds={ABANDON})
    if context != "dialer-connect":
        sim.redirect(leg, context, "1001" if context == "dialer-to-agent" else "s")
    if leg.up:
        sim.hangup(leg)
    ends = sim.user_events("DialerLegEnd")
    assert len(ends) == 1
    assert ends[0]["Where"] == context


# --- agent-leg-first calls (preview, manual) and blind transfer -----------------------------


def agent_first(plan: Dialplan, **scenario) -> tuple[Sim, Channel, str]:
    sim = Sim(plan, Scenario(**scenario))
    leg = sim.originate({**ORIGINATE_VARS, "DIALER_AGENT": "1001", "DIALER_RING_S": "25"},
                        name="Local/1001@dialer-agent-1;1")
    return sim, leg, sim.start(leg, "dialer-agent-dial", "12125550142")


def test_an_agent_first_call_dials_the_customer_through_the_outbound_leg(plan):
    assert plan.match("dialer-agent-dial", "12125550142") == "_X."
    sim, _leg, _ = agent_first(plan)
    [event] = sim.user_events("DialerAgentDial")
    assert (event["CallID"], event["Agent"], event["LeadID"]) == (CALL_ID, "1001", "L1001")
    to_customer, to_trunk = sim.dials
    assert (to_customer.dest, to_customer.timeout) == ("Local/12125550142@dialer-outbound/n", "25")
    assert to_trunk.dest == "PJSIP/12125550142@trunk"
    assert sim.ran("AMD") == []  # the agent is on the line already
    customer = sim.callees[0]
    assert customer.get("DIALER_CALL_ID") == CALL_ID  # a transfer of this leg reports the same call id


def test_an_agent_first_call_of_a_recording_campaign_records_the_customer_leg(plan):
    sim = Sim(plan, Scenario())
    leg = sim.originate({**ORIGINATE_VARS, "DIALER_AGENT": "1001", "DIALER_RING_S": "25", "DIALER_RECORD": "1"},
                        name="Local/1001@dialer-agent-1;1")
    sim.start(leg, "dialer-agent-dial", "12125550142")
    customer = sim.callees[0]
    # on the customer's leg, which a blind transfer moves on: the next agent is recorded too
    assert sim.ran("MixMonitor") == [(customer.name, "dialer-record", "MixMonitor", RECORDING)]
    [told] = sim.user_events("DialerRecording")  # the customer leg inherited the call id and the lead
    assert (told["CallID"], told["LeadID"], told["File"], told["Channel"]) == (
        CALL_ID, LEAD_ID, RECORDING[:-2], customer.name)


@pytest.mark.parametrize("status", ["BUSY", "CONGESTION", "NOANSWER"])
def test_an_agent_first_call_that_fails_ends_the_agent_leg(plan, status):
    sim, _leg, result = agent_first(plan, dial={"PJSIP/": status})
    assert result == "hungup"
    assert sim.ran("Hangup")[-1][1] == "dialer-agent-dial"


def test_an_agent_first_call_to_an_unallocated_number_reports_the_cause_under_the_call_id(plan):
    sim, _leg, result = agent_first(plan, dial={"PJSIP/": "CHANUNAVAIL"}, causes={"PJSIP/": "1"})
    assert result == "hungup"
    [trunk] = sim.user_events("DialerTrunkResult")  # from the customer's ;2 leg, which inherited the call id
    assert (trunk["CallID"], trunk["DialStatus"], trunk["HangupCause"]) == (CALL_ID, "CHANUNAVAIL", "1")
    assert trunk["Channel"] == "Local/12125550142@dialer-outbound/n;2"
    assert sim.ran("Hangup")[-1][1] == "dialer-agent-dial"


def test_a_transferred_customer_leg_is_connected_to_the_target_agent(plan):
    sim, _leg, _ = agent_first(plan)
    customer = sim.callees[0]
    customer.up = True
    assert sim.redirect(customer, "dialer-transfer", "1002") == "hungup"
    connect = sim.user_events("DialerConnectAgent")[0]
    assert (connect["CallID"], connect["Agent"]) == (CALL_ID, "1002")
    assert sim.user_events("DialerLegEnd")[-1]["Where"] == "dialer-transfer"
    assert sim.user_events("DialerTransferFailed") == []


@pytest.mark.parametrize("status", ["NOANSWER", "BUSY", "CHANUNAVAIL"])
def test_a_failed_transfer_holds_the_customer_for_the_daemon_and_plays_no_abandon_message(plan, status):
    sim, leg, _ = answered(plan, dial={"PJSIP/1002": status}, sounds={ABANDON})
    assert sim.redirect(leg, "dialer-to-agent", "1001") == "hungup"  # connected to the first agent, then
    leg.up = True  # the talk goes on (the interpreter ends a bridge with the callee's hang-up)
    assert sim.redirect(leg, "dialer-transfer", "1002") == "waiting"
    [failed] = sim.user_events("DialerTransferFailed")
    assert {k: failed[k] for k in CONTRACT_EVENTS["DialerTransferFailed"]} == {
        "CallID": CALL_ID, "Agent": "1002", "DialStatus": status}
    assert sim.ran("Wait")[-1][1] == "dialer-transfer"
    assert sim.user_events("DialerAbandonPlayed") == []
    assert sim.redirect(leg, "dialer-transfer", "1001") == "hungup"  # the daemon brings it back
    assert sim.user_events("DialerLegEnd")[-1]["Where"] == "dialer-transfer"


def test_a_transfer_rings_longer_than_the_abandon_budget_but_within_the_backstop(plan):
    sim, leg, _ = answered(plan)
    sim.redirect(leg, "dialer-transfer", "1002")
    customer_dial, agent_dial = sim.dials
    assert customer_dial.dest == "Local/1002@dialer-agent"
    assert customer_dial.timeout == agent_dial.timeout == plan.globals["DIALER_TRANSFER_RING_MAX"]
    assert 55 < int(customer_dial.timeout) <= 120


# --- agentless campaigns -------------------------------------------------------------------


def agentless(plan: Dialplan, message: str | None, **scenario) -> tuple[Sim, Channel]:
    sim = Sim(plan, Scenario(**scenario))
    variables = {**ORIGINATE_VARS, "DIALER_AMD": "1"}
    if message is not None:
        variables["DIALER_MESSAGE"] = message
    leg = sim.originate(variables)
    sim.start(leg, "dialer-connect", "s")
    return sim, leg


def test_agentless_context_has_the_person_machine_and_h_extensions(plan):
    for exten in ("s", "machine", "h"):
        assert plan.match("dialer-agentless", exten) == exten
    assert not any(step.app == "Answer" for step in plan.steps("dialer-agentless")), "the leg is up already"


def test_agentless_plays_the_campaign_message_reports_it_then_hangs_up(plan):
    sim, leg = agentless(plan, "custom/outage-notice", sounds={"custom/outage-notice"})
    assert sim.redirect(leg, "dialer-agentless", "s") == "hungup"
    assert sim.played == ["custom/outage-notice"]
    played, end = sim.user_events()[-2:]
    assert played["UserEvent"] == "DialerAgentlessPlayed"
    assert (played["CallID"], played["Message"], played["PlaybackStatus"]) == (
        CALL_ID, "custom/outage-notice", "SUCCESS")
    assert (end["UserEvent"], end["Where"], end["HangupCause"]) == ("DialerLegEnd", "dialer-agentless", "16")
    assert sim.user_events("DialerAbandonPlayed") == []


@pytest.mark.parametrize(("digits", "opted_out"), [("9", True), ("1", False), ("", False)])
def test_agentless_offers_the_opt_out_key_when_configured(plan, digits, opted_out):
    configured = Dialplan(contexts=plan.contexts, globals={**plan.globals, "DIALER_OPTOUT_DIGIT": "9"})
    sim, leg = agentless(configured, "custom/outage-notice", sounds={"custom/outage-notice"}, digits=digits)
    assert sim.redirect(leg, "dialer-agentless", "s") == "hungup"
    events = sim.user_events("DialerOptOut")
    assert bool(events) is opted_out
    if opted_out:
        assert (events[0]["CallID"], events[0]["LeadID"], events[0]["Campaign"]) == (CALL_ID, "L1001", "upsell")
    unconfigured, leg = agentless(plan, "custom/outage-notice", sounds={"custom/outage-notice"}, digits="9")
    unconfigured.redirect(leg, "dialer-agentless", "s")
    assert unconfigured.ran("Read") == []


def test_agentless_without_a_campaign_message_plays_the_default(plan):
    sim, leg = agentless(plan, None, sounds={AGENTLESS})
    sim.redirect(leg, "dialer-agentless", "s")
    assert sim.played == [AGENTLESS]


def test_a_missing_agentless_message_is_logged_and_reported(plan):
    sim, leg = agentless(plan, "custom/nope", sounds=set())
    sim.redirect(leg, "dialer-agentless", "s")
    assert any("missing" in a[3] for a in sim.ran("Log"))
    assert sim.user_events("DialerAgentlessPlayed")[0]["PlaybackStatus"] == "FAILED"


def test_agentless_sends_people_to_the_ivr_the_operator_names(plan):
    ivr = Dialplan(contexts=plan.contexts, globals={**plan.globals, "DIALER_AGENTLESS_IVR": "dialer-callback"})
    sim, leg = agentless(ivr, "custom/outage-notice", sounds={ABANDON})
    assert sim.redirect(leg, "dialer-agentless", "s") == "hungup"
    [event] = sim.user_events("DialerAgentlessIVR")
    assert (event["CallID"], event["IVR"]) == (CALL_ID, "dialer-callback")
    assert sim.played == [ABANDON]  # what dialer-callback plays: the IVR ran, not the message
    assert sim.user_events("DialerAgentlessPlayed") == []


def test_agentless_leaves_the_message_on_a_machine_after_the_beep(plan):
    sim, leg = agentless(plan, "custom/payment-reminder", amd=("MACHINE", "LONGGREETING-1500-1500"),
                         sounds={"custom/payment-reminder"})
    assert sim.redirect(leg, "dialer-agentless", "machine") == "hungup"
    beep = next(i for i, a in enumerate(sim.apps) if a[2] == "WaitForSilence")
    play = next(i for i, a in enumerate(sim.apps) if a[2] == "Playback")
    assert beep < play
    assert sim.user_events("DialerMachineMessage")[0]["PlaybackStatus"] == "SUCCESS"
    assert sim.user_events("DialerLegEnd")[-1]["Where"] == "dialer-agentless"


def test_the_trunk_backstop_outlasts_the_longest_ring_timeout_plus_set_up_allowance_the_daemon_accepts(plan):
    # The daemon's own ring timeout (and the Originate's Timeout: ring timeout + [ami] setup_allowance_s) must
    # end an unanswered dial, never the dialplan's Dial() timeout: its hang-up would reach the daemon as a
    # failure, not as the no-answer the pacer and the ledger count.
    from dialer.config import AmiSettings, CampaignSettings

    ring_max = CampaignSettings.model_fields["ring_timeout_s"].metadata
    longest_ring = max(m.le for m in ring_max if hasattr(m, "le"))
    longest_allowance = AmiSettings.SETUP_ALLOWANCE_RANGE_S[1]
    trunk_dials = [split_args(step.data) for steps in plan.contexts["dialer-outbound"].values() for step in steps
                   if step.app == "Dial" and "${DIALER_TRUNK}" in step.data]
    assert trunk_dials
    assert all(args[1] == "${DIALER_RING_BACKSTOP}" for args in trunk_dials)
    assert int(plan.globals["DIALER_RING_BACKSTOP"]) > longest_ring + longest_allowance
