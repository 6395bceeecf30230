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
