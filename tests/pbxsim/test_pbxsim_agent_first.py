"""Agent-leg-first Originate (preview and manual dialing) and a blind transfer, as the simulator plays them.

docs/DIALPLAN_CONTRACT.md: the agent's phone is originated into `dialer-agent-dial,<digits>`, whose `Dial()`
calls the customer; a blind transfer is a Redirect of that customer leg to `dialer-to-agent,<ext>`.
"""

from __future__ import annotations

import pytest
from pbxsim_client import AmiTestClient, people, running

from dialer.ami import actions
from dialer.pbxsim import SimOutcome
from pacing.traffic import LognormalSpec


def agent_first(call_id: str, number: str, ext: str = "1001") -> dict[str, str]:
    return actions.originate_agent_first(call_id=call_id, number=number, extension=ext, campaign="camp",
                                         lead_id="L1", ring_s=20, caller_id_name="Acme",
                                         caller_id_number="5550100").as_dict()


async def _session(sim) -> AmiTestClient:
    client = await AmiTestClient.connect(sim.port)
    await client.login(events="call,user")
    return client


async def test_the_agent_answers_then_the_customer_is_dialed_from_the_agent_leg_and_bridged():
    async with running(people(p_live=1.0, talk=LognormalSpec(30.0, 0.0))) as sim:
        client = await _session(sim)
        resp = await client.action(agent_first("af-1", "+15552000"))
        assert resp.get("Message") == "Originate successfully queued"
        orig = await client.wait_event("OriginateResponse", ActionID="af-1")
        assert (orig.get("Response"), orig.get("Reason"), orig.get("Uniqueid")) == ("Success", "4", "af-1")
        begin = await client.wait_for(lambda b: b.get("Event") == "DialBegin" and b.get("Uniqueid") == "af-1")
        cust_uid, cust_chan = begin.get("DestUniqueid"), begin.get("DestChannel") or ""
        assert cust_chan.startswith("Local/15552000@dialer-outbound-")
        assert begin.get("DestLinkedid") == "af-1"
        await client.wait_for(lambda b: b.get("Event") == "DialState" and b.get("DestUniqueid") == cust_uid)
        end = await client.wait_for(lambda b: b.get("Event") == "DialEnd" and b.get("DestUniqueid") == cust_uid)
        assert (end.get("Uniqueid"), end.get("DialStatus")) == ("af-1", "ANSWER")
        await client.wait_event("BridgeEnter", Uniqueid=cust_uid)
        assert any(b.get("UserEvent") == "DialerAgentDial" and b.get("CallID") == "af-1" for b in client.log)
        # Blind transfer: Redirect the customer leg to another agent.
        resp = await client.action({"Action": "Redirect", "ActionID": "t1", "Channel": cust_chan,
                                    "Context": "dialer-to-agent", "Exten": "1002", "Priority": "1"})
        assert resp.get("Message") == "Redirect successful"
        await client.wait_event("Hangup", Uniqueid="af-1")  # the first agent's leg: its Dial() returned
        connect = await client.wait_for(lambda b: b.get("UserEvent") == "DialerConnectAgent")
        assert (connect.get("CallID"), connect.get("Agent"), connect.get("Uniqueid")) == ("af-1", "1002", cust_uid)
        await client.wait_for(lambda b: b.get("Event") == "BridgeEnter" and b.get("Uniqueid") == cust_uid
                              and b is not None and client.log.index(b) > client.log.index(connect))
        record = await sim.wait_call_ended("af-1")
        await client.wait_event("Hangup", Uniqueid=cust_uid)
        assert (record.outcome, record.agent) == (SimOutcome.CONNECTED, "1002")
        leg_end = next(b for b in client.log if b.get("UserEvent") == "DialerLegEnd")
        assert (leg_end.get("CallID"), leg_end.get("Where")) == ("af-1", "dialer-to-agent")
        await client.close()


async def test_a_busy_customer_ends_the_agent_leg_too():
    async with running(people(p_busy=1.0)) as sim:
        client = await _session(sim)
        await client.action(agent_first("af-2", "+15552001"))
        end = await client.wait_for(lambda b: b.get("Event") == "DialEnd" and b.get("Uniqueid") == "af-2")
        assert end.get("DialStatus") == "BUSY"
        await client.wait_event("Hangup", Uniqueid="af-2")
        record = await sim.wait_call_ended("af-2")
        assert record.outcome is SimOutcome.BUSY
        await client.close()


async def test_an_unallocated_customer_number_is_reported_under_the_call_id_before_the_dialend():
    async with running(people(p_invalid=1.0)) as sim:
        client = await _session(sim)
        await client.action(agent_first("af-4", "+15552003"))
        end = await client.wait_for(lambda b: b.get("Event") == "DialEnd" and b.get("Uniqueid") == "af-4")
        assert end.get("DialStatus") == "NOANSWER"  # what app_dial makes of the Local leg's cause 1
        trunk = next(b for b in client.log if b.get("UserEvent") == "DialerTrunkResult")
        assert client.log.index(trunk) < client.log.index(end)
        assert (trunk.get("CallID"), trunk.get("DialStatus"), trunk.get("HangupCause")) == ("af-4", "CHANUNAVAIL", "1")
        assert (trunk.get("Linkedid"), (trunk.get("Channel") or "").endswith(";2")) == ("af-4", True)
        await client.wait_event("Hangup", Uniqueid="af-4")
        record = await sim.wait_call_ended("af-4")
        assert record.outcome is SimOutcome.INVALID
        await client.close()


async def test_hanging_up_the_agent_leg_while_the_customer_rings_cancels_the_dial():
    async with running(people(p_live=1.0)) as sim:
        client = await _session(sim)
        await client.action(agent_first("af-3", "+15552002"))
        await client.wait_for(lambda b: b.get("Event") == "DialBegin" and b.get("Uniqueid") == "af-3")
        resp = await client.action({"Action": "Hangup", "ActionID": "h1", "Channel": "af-3", "Cause": "16"})
        assert resp.get("Response") == "Success"
        end = await client.wait_for(lambda b: b.get("Event") == "DialEnd" and b.get("Uniqueid") == "af-3")
        assert end.get("DialStatus") == "CANCEL"
        record = await sim.wait_call_ended("af-3")
        assert record.outcome is SimOutcome.CANCELLED
        await client.close()


async def _connected_agent_first(sim, client: AmiTestClient, call_id: str, number: str) -> tuple[str, str]:
    await client.action(agent_first(call_id, number))
    begin = await client.wait_for(lambda b: b.get("Event") == "DialBegin" and b.get("Uniqueid") == call_id)
    cust_uid, cust_chan = begin.get("DestUniqueid") or "", begin.get("DestChannel") or ""
    await client.wait_event("BridgeEnter", Uniqueid=cust_uid)
    return cust_uid, cust_chan


def _transfer(channel: str, ext: str, action_id: str) -> dict[str, str]:
    return {"Action": "Redirect", "ActionID": action_id, "Channel": channel, "Context": "dialer-transfer",
            "Exten": ext, "Priority": "1"}


@pytest.mark.parametrize(("behaviour", "status"), [("busy", "BUSY"), ("unavailable", "CHANUNAVAIL")])
async def test_a_transfer_to_a_busy_or_unavailable_phone_holds_the_customer_for_the_next_redirect(behaviour, status):
    async with running(people(p_live=1.0, talk=LognormalSpec(600.0, 0.0))) as sim:
        sim.set_phone("1002", behaviour)
        client = await _session(sim)
        call_id = f"af-{behaviour}"
        cust_uid, cust_chan = await _connected_agent_first(sim, client, call_id, "+15552010")
        resp = await client.action(_transfer(cust_chan, "1002", "t1"))
        assert resp.get("Message") == "Redirect successful"
        begin = await client.wait_for(lambda b: b.get("Event") == "DialBegin" and b.get("Uniqueid") == cust_uid)
        end = await client.wait_for(lambda b: b.get("Event") == "DialEnd" and b.get("Uniqueid") == cust_uid)
        assert (end.get("DestUniqueid"), end.get("DialStatus")) == (begin.get("DestUniqueid"), status)
        failed = await client.wait_for(lambda b: b.get("UserEvent") == "DialerTransferFailed")
        assert (failed.get("CallID"), failed.get("Agent"), failed.get("DialStatus")) == (call_id, "1002", status)
        assert sim.calls[call_id].outcome is SimOutcome.CONNECTED  # still up, waiting, not abandoned
        # The dialer sends the customer back to the first agent.
        await client.action(_transfer(cust_chan, "1001", "t2"))
        await client.wait_for(lambda b: b.get("Event") == "BridgeEnter" and b.get("Uniqueid") == cust_uid
                              and client.log.index(b) > client.log.index(failed))
        assert sim.calls[call_id].agent == "1001"
        assert not any(b.get("UserEvent") == "DialerAbandonPlayed" for b in client.log)
        await client.close()


async def test_a_phone_that_does_not_answer_rings_until_the_dialer_moves_the_customer():
    async with running(people(p_live=1.0, talk=LognormalSpec(600.0, 0.0))) as sim:
        sim.set_phone("1002", "noanswer")
        client = await _session(sim)
        cust_uid, cust_chan = await _connected_agent_first(sim, client, "af-t9", "+15552019")
        await client.action(_transfer(cust_chan, "1002", "t1"))
        await client.wait_for(lambda b: b.get("Event") == "DialState" and b.get("Uniqueid") == cust_uid)
        await client.action(_transfer(cust_chan, "1001", "t2"))
        end = await client.wait_for(lambda b: b.get("Event") == "DialEnd" and b.get("Uniqueid") == cust_uid)
        assert end.get("DialStatus") == "CANCEL"
        await client.wait_for(lambda b: b.get("Event") == "BridgeEnter" and b.get("Uniqueid") == cust_uid
                              and client.log.index(b) > client.log.index(end))
        assert sim.calls["af-t9"].agent == "1001"
        await client.close()


# -- how the customer pair's end ends the agent leg's Dial() (app_dial in Asterisk 22) ---------------------------
# No transcript has an agent-leg-first call, so the orders below are those of the pieces the transcript does have
# (a Local pair torn down from `;1` and from `;2`, the `human_redirect` bridge teardown) put together as app_dial
# does: the called `;1` runs no dialplan (no SoftHangupRequest, no `h` extension); the caller's dialplan ends with
# SoftHangupRequest Cause 16 (the PBX loop's APPUNLOAD flag); an unanswered Dial() returns and `Hangup(16)` runs,
# an answered one returns -1 when the called leg leaves the bridge, and the dialplan stops there.

HOUR = 3600  # a Dial() timeout that never fires in these tests


def _role(name: str) -> str:
    side = "A" if "@dialer-agent-" in name else "C" if "@dialer-outbound-" in name else "?"
    return side + name[-1]


def _after(client: AmiTestClient, start: int) -> list[str]:
    """`Event role [Cause|DialStatus|AppData]` from `client.log[start:]`, call-class events and the agent
    `;1`'s Newexten (its dialplan), roles A1 A2 C1 C2; DialEnd as `DialEnd caller>called status`."""
    out = []
    for b in client.log[start:]:
        name, chan = b.get("Event"), b.get("Channel") or ""
        if name in (None, "VarSet", "UserEvent") or (name == "Newexten" and _role(chan) != "A1"):
            continue
        if name in ("BridgeCreate", "BridgeDestroy"):
            out.append(name)
        elif name == "DialEnd":
            out.append(f"DialEnd {_role(chan)}>{_role(b.get('DestChannel') or '')} {b.get('DialStatus')}")
        elif name == "Newexten":
            out.append(f"Newexten A1 {b.get('Application')}({b.get('AppData')})")
        else:
            cause = f" {b.get('Cause')}" if b.get("Cause") is not None else ""
            out.append(f"{name} {_role(chan)}{cause}")
    return out


async def _fence(client: AmiTestClient) -> None:
    await client.action({"Action": "Ping", "ActionID": f"fence-{len(client.log)}"})


async def _ringing_agent_first(client: AmiTestClient, call_id: str, number: str) -> str:
    """Dial `number` agent leg first, with a Dial() timeout that never fires; return the customer `;1` once
    it rings."""
    action = actions.originate_agent_first(call_id=call_id, number=number, extension="1001", campaign="camp",
                                           lead_id="L1", ring_s=HOUR, caller_id_name="Acme",
                                           caller_id_number="5550100").as_dict()
    await client.action(action)
    begin = await client.wait_for(lambda b: b.get("Event") == "DialBegin" and b.get("Uniqueid") == call_id)
    cust = begin.get("DestChannel") or ""
    await client.wait_for(lambda b: b.get("Event") == "DialState" and b.get("DestChannel") == cust)
    return cust


def _rings_on() -> object:
    return people(remote_noanswer_s=(1e6, 1e6))  # a phone nobody answers, ringing far beyond the test


async def _dialplan_session(sim) -> AmiTestClient:
    client = await AmiTestClient.connect(sim.port)
    await client.login(events="call,user,dialplan")
    return client


RETURNS_AND_HANGS_UP = [  # the agent leg's Dial() returned 0: the next priority, Hangup(16)
    "Newexten A1 Hangup(16)",
    "SoftHangupRequest A1 16",
    "HangupRequest A2 16",
    "Hangup A1 16",
    "SoftHangupRequest A2 16",
    "Hangup A2 16",
]


@pytest.mark.parametrize(("cause", "status"), [("19", "NOANSWER"), ("16", "NOANSWER"), ("17", "BUSY"),
                                               ("34", "CONGESTION"), ("20", "CHANUNAVAIL")])
async def test_hanging_up_the_ringing_customer_leg_ends_the_agents_dial(cause, status):
    """What the daemon does once an agent's dial has rung its ring timeout since its first ring (cause 19)."""
    async with running(_rings_on()) as sim:
        client = await _dialplan_session(sim)
        cust = await _ringing_agent_first(client, "af-r1", "+15552030")
        resp = await client.action({"Action": "Hangup", "ActionID": "h1", "Channel": cust, "Cause": cause})
        assert resp.get("Message") == "Channel Hungup"
        start = len(client.log)
        record = await sim.wait_call_ended("af-r1")
        await client.wait_event("Hangup", Channel=cust.replace(";1", ";2"))
        await client.wait_for(lambda b: b.get("Event") == "Hangup" and _role(b.get("Channel") or "") == "A2")
        await _fence(client)
        assert _after(client, start) == [
            f"DialEnd A1>C1 {status}",
            f"HangupRequest C2 {cause}",
            f"Hangup C1 {cause}",
            "SoftHangupRequest C2 16",
            f"Hangup C2 {cause}",
            *RETURNS_AND_HANGS_UP,
        ]
        assert (record.outcome, record.ended_by, record.hangup_cause) == (SimOutcome.CANCELLED, "dialer", int(cause))
        assert not sim.pbx.channels
        await client.close()


async def test_hanging_up_the_ringing_customers_far_end_ends_the_agents_dial():
    async with running(_rings_on()) as sim:
        client = await _dialplan_session(sim)
        cust = await _ringing_agent_first(client, "af-r2", "+15552031")
        await client.action({"Action": "Hangup", "ActionID": "h1", "Channel": cust.replace(";1", ";2"),
                             "Cause": "16"})
        start = len(client.log)
        await sim.wait_call_ended("af-r2")
        await client.wait_for(lambda b: b.get("Event") == "Hangup" and _role(b.get("Channel") or "") == "A2")
        await _fence(client)
        assert _after(client, start) == [  # noanswer_remote's order, the agent leg as the caller
            "SoftHangupRequest C2 16",
            "HangupRequest C1 16",
            "Hangup C2 16",
            "DialEnd A1>C1 NOANSWER",
            "Hangup C1 16",
            *RETURNS_AND_HANGS_UP,
        ]
        assert not sim.pbx.channels
        await client.close()


async def _bridged(client: AmiTestClient, call_id: str, number: str) -> str:
    await client.action(agent_first(call_id, number))
    begin = await client.wait_for(lambda b: b.get("Event") == "DialBegin" and b.get("Uniqueid") == call_id)
    cust = begin.get("DestChannel") or ""
    await client.wait_event("BridgeEnter", Channel=cust)
    return cust


DIAL_OVER_AFTER_THE_BRIDGE = [  # Dial() returned -1: the agent leg's dialplan ends, no Hangup(16)
    "SoftHangupRequest A1 16",
    "HangupRequest A2 16",
    "Hangup A1 16",
    "SoftHangupRequest A2 16",
    "Hangup A2 16",
]


async def test_the_customer_hanging_up_after_the_talk_ends_the_agents_dial():
    async with running(people(p_live=1.0, talk=LognormalSpec(30.0, 0.0))) as sim:
        client = await _dialplan_session(sim)
        await _bridged(client, "af-b1", "+15552032")
        start = len(client.log)
        record = await sim.wait_call_ended("af-b1")
        await client.wait_for(lambda b: b.get("Event") == "Hangup" and _role(b.get("Channel") or "") == "A2")
        await _fence(client)
        assert _after(client, start) == [
            "SoftHangupRequest C2 16",
            "HangupRequest C1 16",
            "Hangup C2 16",
            "BridgeLeave C1",
            "BridgeLeave A1",
            "Hangup C1 16",
            "BridgeDestroy",
            *DIAL_OVER_AFTER_THE_BRIDGE,
        ]
        assert (record.outcome, record.ended_by) == (SimOutcome.CONNECTED, "far_end")
        assert not sim.pbx.channels
        await client.close()


async def test_the_dialer_hanging_up_the_bridged_customer_leg_ends_the_agents_dial():
    async with running(people(p_live=1.0, talk=LognormalSpec(600.0, 0.0))) as sim:
        client = await _dialplan_session(sim)
        cust = await _bridged(client, "af-b2", "+15552033")
        await client.action({"Action": "Hangup", "ActionID": "h1", "Channel": cust, "Cause": "16"})
        start = len(client.log)
        record = await sim.wait_call_ended("af-b2")
        await client.wait_for(lambda b: b.get("Event") == "Hangup" and _role(b.get("Channel") or "") == "A2")
        await _fence(client)
        assert _after(client, start) == [
            "BridgeLeave C1",
            "BridgeLeave A1",
            "HangupRequest C2 16",
            "Hangup C1 16",
            "BridgeDestroy",
            "SoftHangupRequest C2 16",
            "Hangup C2 16",
            *DIAL_OVER_AFTER_THE_BRIDGE,
        ]
        assert (record.outcome, record.ended_by) == (SimOutcome.CONNECTED, "dialer")
        assert not sim.pbx.channels
        await client.close()


async def test_the_dialer_hanging_up_the_bridged_agent_leg_is_human_redirects_order():
    """The agent leg is the Dial() caller, as the customer leg is in the transcript's `human_redirect`."""
    async with running(people(p_live=1.0, talk=LognormalSpec(600.0, 0.0))) as sim:
        client = await _dialplan_session(sim)
        await _bridged(client, "af-b3", "+15552034")
        await client.action({"Action": "Hangup", "ActionID": "h1", "Channel": "af-b3", "Cause": "16"})
        start = len(client.log)
        record = await sim.wait_call_ended("af-b3")
        await client.wait_for(lambda b: b.get("Event") == "Hangup" and _role(b.get("Channel") or "") == "A2")
        await _fence(client)
        assert _after(client, start) == [
            "BridgeLeave A1",
            "BridgeLeave C1",
            "HangupRequest C2 16",
            "Hangup C1 16",
            "BridgeDestroy",
            "SoftHangupRequest A1 16",
            "HangupRequest A2 16",
            "Hangup A1 16",
            "SoftHangupRequest C2 16",
            "Hangup C2 16",
            "SoftHangupRequest A2 16",
            "Hangup A2 16",
        ]
        assert (record.outcome, record.ended_by) == (SimOutcome.CONNECTED, "agent")
        assert not sim.pbx.channels
        await client.close()
