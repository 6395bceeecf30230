"""Agentless campaigns in the simulator: the Redirect to `dialer-agentless` plays the message and hangs up."""

from __future__ import annotations

from pbxsim_client import AmiTestClient, originate, people, running

from dialer.pbxsim import FarEndOptions, SimOutcome
from pacing.traffic import LognormalSpec

MESSAGE = "custom/payment-reminder"


async def _session(sim) -> AmiTestClient:
    client = await AmiTestClient.connect(sim.port)
    await client.login(events="call,user")
    return client


def _agentless_originate(call_id: str, number: str) -> dict[str, str]:
    action = originate(call_id, number)
    action["Variable"] += f",DIALER_MESSAGE={MESSAGE}"
    return action


async def _redirect(client: AmiTestClient, call_id: str, exten: str) -> None:
    reply = await client.action({"Action": "Redirect", "ActionID": f"r-{call_id}", "Channel": call_id,
                                 "Context": "dialer-agentless", "Exten": exten, "Priority": "1"})
    assert reply.get("Response") == "Success", reply


async def _hangup_trail(client: AmiTestClient, call_id: str) -> list[str]:
    await client.action({"Action": "Ping", "ActionID": f"fence-{call_id}"})
    out = []
    for b in client.log:
        if b.get("Uniqueid") == call_id and b.get("Event"):
            name = (b.get("Event") or "") + (":" + (b.get("UserEvent") or "") if b.get("UserEvent") else "")
            out.append(name)
    return out


async def test_a_person_hears_the_message_then_the_dialplan_hangs_up():
    async with running(people(p_live=1.0), agentless_message_s=9.0) as sim:
        client = await _session(sim)
        await client.action(_agentless_originate("al-1", "5553001"))
        await client.wait_event("UserEvent", UserEvent="DialerAMD")
        await _redirect(client, "al-1", "s")
        played = await client.wait_event("UserEvent", UserEvent="DialerAgentlessPlayed")
        assert (played.get("CallID"), played.get("Message"), played.get("PlaybackStatus")) == (
            "al-1", MESSAGE, "SUCCESS")
        record = await sim.wait_call_ended("al-1")
        assert (await _hangup_trail(client, "al-1"))[-4:] == [
            "UserEvent:DialerAgentlessPlayed", "SoftHangupRequest", "UserEvent:DialerLegEnd", "Hangup"]
        leg_end = next(b for b in client.log if b.get("UserEvent") == "DialerLegEnd")
        assert (leg_end.get("Where"), leg_end.get("HangupCause")) == ("dialer-agentless", "16")
        assert record.outcome is SimOutcome.DELIVERED
        assert record.ended_by == "dialplan"
        assert record.amd_at is not None
        assert record.ended_at is not None
        assert record.ended_at - record.amd_at >= 9.0 - 1e-6
        assert sim.stats.channels_live == 0
        await client.close()


async def test_a_person_may_hang_up_before_the_message_ends():
    async with running(people(p_live=1.0, talk=LognormalSpec(3.0, 0.0)), agentless_message_s=30.0) as sim:
        client = await _session(sim)
        await client.action(_agentless_originate("al-2", "5553002"))
        await client.wait_event("UserEvent", UserEvent="DialerAMD")
        await _redirect(client, "al-2", "s")
        record = await sim.wait_call_ended("al-2")
        assert record.outcome is SimOutcome.DELIVERED
        assert record.ended_by == "far_end"
        trail = await _hangup_trail(client, "al-2")
        assert "UserEvent:DialerAgentlessPlayed" not in trail
        assert trail[-3:] == ["SoftHangupRequest", "UserEvent:DialerLegEnd", "Hangup"]
        await client.close()


async def test_a_machine_gets_the_message_after_its_greeting():
    # A long greeting: the test's Redirect must land between the AMD verdict (2.5-5 s) and the greeting's
    # end, which the simulator's 200x clock turns into a window of real milliseconds (5 s flaked under load).
    far = FarEndOptions(machine_greeting_s=(60.0, 60.0))
    async with running(people(p_machine=1.0), far_end=far, agentless_message_s=4.0) as sim:
        client = await _session(sim)
        await client.action(_agentless_originate("al-3", "5553003"))
        amd = await client.wait_event("UserEvent", UserEvent="DialerAMD")
        assert amd.get("AMDStatus") == "MACHINE"
        await _redirect(client, "al-3", "machine")
        left = await client.wait_event("UserEvent", UserEvent="DialerMachineMessage")
        assert left.get("CallID") == "al-3"
        record = await sim.wait_call_ended("al-3")
        assert record.ended_by == "dialplan"
        assert (await _hangup_trail(client, "al-3"))[-3:] == ["SoftHangupRequest", "UserEvent:DialerLegEnd", "Hangup"]
        leg_end = next(b for b in client.log if b.get("UserEvent") == "DialerLegEnd")
        assert leg_end.get("Where") == "dialer-agentless"
        await client.close()


async def test_an_unknown_agentless_extension_hangs_the_leg_up():
    async with running(people(p_live=1.0)) as sim:
        client = await _session(sim)
        await client.action(_agentless_originate("al-4", "5553004"))
        await client.wait_event("UserEvent", UserEvent="DialerAMD")
        await _redirect(client, "al-4", "nope")
        record = await sim.wait_call_ended("al-4")
        assert record.outcome is SimOutcome.HUNG_UP_BY_DIALER
        await client.close()


async def test_a_parked_leg_whose_person_left_refuses_a_redirect_while_its_h_extension_runs():
    # The person hangs up as soon as they are parked; the leg's `h` extension then runs for 200 s (1 s of
    # wall time here): the channel exists but is hanging up, as when a Redirect races a caller's hang-up.
    hasty = people(p_live=1.0, patience=LognormalSpec(0.001, 0.0))
    async with running(hasty, h_extension_s=200.0) as sim:
        client = await _session(sim)
        await client.action(_agentless_originate("al-h", "5553009"))
        leg_end = await client.wait_event("UserEvent", UserEvent="DialerLegEnd")
        assert leg_end.get("Where") == "dialer-connect"
        redirect = {"Action": "Redirect", "ActionID": "r-h", "Channel": "al-h", "Context": "dialer-agentless",
                    "Exten": "s", "Priority": "1"}
        refused = await client.action(redirect)
        assert (refused.get("Response"), refused.get("Message")) == ("Error", "Redirect failed, channel not up.")
        hung = await client.action({"Action": "Hangup", "ActionID": "h-h", "Channel": "al-h", "Cause": "16"})
        assert (hung.get("Response"), hung.get("Message")) == ("Success", "Channel Hungup")
        record = await sim.wait_call_ended("al-h")
        assert record.outcome is SimOutcome.FAR_HANGUP_WAITING
        assert record.ended_by == "far_end"
        assert record.phases[-3:] == ["parked", "hanging_up", "ended"]
        trail = await _hangup_trail(client, "al-h")
        assert trail[-3:] == ["SoftHangupRequest", "UserEvent:DialerLegEnd", "Hangup"]
        assert trail.count("Hangup") == 1, "the Hangup action added nothing to a leg already hanging up"
        gone = await client.action({**redirect, "ActionID": "r-h2"})
        assert gone.get("Message") == "Channel does not exist: al-h"
        assert sim.stats.channels_live == 0
        await client.close()
