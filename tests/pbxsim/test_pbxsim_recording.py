"""Call recording as the simulator plays `dialer-record` (asterisk_conf/extensions.conf, docs/DIALPLAN_CONTRACT.md).

A campaign that records passes `DIALER_RECORD=1`; before an agent is dialed the customer leg starts
MixMonitor (Asterisk raises `MixMonitorStart`) and reports the file in `UserEvent: DialerRecording`, once
per call however often the leg is sent to an agent.
"""

from __future__ import annotations

from pbxsim_client import AmiTestClient, people, running

from dialer.ami import actions
from dialer.pbxsim import SimOutcome
from pacing.traffic import LognormalSpec

DIR = "/var/spool/asterisk/monitor/dialer"


async def _session(sim) -> AmiTestClient:
    client = await AmiTestClient.connect(sim.port)
    await client.login(events="call,user")
    return client


def _redirect(channel: str, ext: str, action_id: str) -> dict[str, str]:
    return {"Action": "Redirect", "ActionID": action_id, "Channel": channel, "Context": "dialer-to-agent",
            "Exten": ext, "Priority": "1"}


def _originate(call_id: str, *, record: bool) -> dict[str, str]:
    # a ring timeout that never fires: the simulator's 200x clock makes 30 s a loaded host's 150 ms
    return actions.originate(call_id=call_id, number="+15552001", campaign="camp", lead_id="L1",
                             timeout_ms=3_600_000,
                             caller_id_name="Acme", caller_id_number="5550100", record=record).as_dict()


async def test_a_recording_call_starts_mixmonitor_before_the_agent_is_dialed_and_names_the_file():
    async with running(people(p_live=1.0, talk=LognormalSpec(40.0, 0.0))) as sim:
        client = await _session(sim)
        await client.action(_originate("rec-1", record=True))
        await client.wait_event("UserEvent", UserEvent="DialerParked")
        await client.action(_redirect("rec-1", "2001", "r1"))
        told = await client.wait_event("UserEvent", UserEvent="DialerRecording")
        assert (told.get("CallID"), told.get("LeadID"), told.get("File"), told.get("Uniqueid")) == (
            "rec-1", "L1", f"{DIR}/rec-1.wav", "rec-1")
        started = next(b for b in client.log if b.get("Event") == "MixMonitorStart")
        begin = await client.wait_for(lambda b: b.get("Event") == "DialBegin" and b.get("Uniqueid") == "rec-1")
        assert client.log.index(started) < client.log.index(told) < client.log.index(begin)
        assert started.get("Uniqueid") == "rec-1"
        record = await sim.wait_call_ended("rec-1")
        assert (record.outcome, record.recording) == (SimOutcome.CONNECTED, f"{DIR}/rec-1.wav")
        await client.close()


async def test_a_call_of_a_campaign_that_does_not_record_starts_no_recorder():
    async with running(people(p_live=1.0, talk=LognormalSpec(10.0, 0.0))) as sim:
        client = await _session(sim)
        await client.action(_originate("rec-2", record=False))
        await client.wait_event("UserEvent", UserEvent="DialerParked")
        await client.action(_redirect("rec-2", "2001", "r1"))
        record = await sim.wait_call_ended("rec-2")
        await client.wait_event("Hangup", Uniqueid="rec-2")
        assert record.recording == ""
        assert not [b for b in client.log if b.get("Event") == "MixMonitorStart" or
                    b.get("UserEvent") == "DialerRecording"]
        await client.close()


async def test_an_agent_first_call_records_the_customer_leg_once_across_a_transfer():
    async with running(people(p_live=1.0, talk=LognormalSpec(60.0, 0.0))) as sim:
        client = await _session(sim)
        await client.action(actions.originate_agent_first(
            call_id="rec-3", number="+15552000", extension="1001", campaign="camp", lead_id="L3", ring_s=20,
            caller_id_name="Acme", caller_id_number="5550100", record=True).as_dict())
        begin = await client.wait_for(lambda b: b.get("Event") == "DialBegin" and b.get("Uniqueid") == "rec-3")
        cust_uid, cust_chan = begin.get("DestUniqueid") or "", begin.get("DestChannel") or ""
        await client.wait_event("BridgeEnter", Uniqueid=cust_uid)
        told = next(b for b in client.log if b.get("UserEvent") == "DialerRecording")
        # Dial()'s b() handler runs on the new customer leg, which inherited the call id and the lead
        assert (told.get("CallID"), told.get("LeadID"), told.get("Uniqueid"), told.get("File")) == (
            "rec-3", "L3", cust_uid, f"{DIR}/rec-3.wav")
        await client.action(_redirect(cust_chan, "1002", "t1"))  # blind transfer: the next agent, same file
        connect = await client.wait_for(lambda b: b.get("UserEvent") == "DialerConnectAgent")
        assert connect.get("Agent") == "1002"
        record = await sim.wait_call_ended("rec-3")
        await client.wait_event("Hangup", Uniqueid=cust_uid)
        assert [b.get("UserEvent") for b in client.log if b.get("UserEvent") == "DialerRecording"] == [
            "DialerRecording"]
        assert sum(b.get("Event") == "MixMonitorStart" for b in client.log) == 1
        assert (record.agent, record.recording) == ("1002", f"{DIR}/rec-3.wav")
        await client.close()
