"""How the far end behaves, and what the dialer's actions do to a call, event by event."""

from __future__ import annotations

import pytest
from pbxsim_client import AmiTestClient, originate, people, running

from dialer.ami import events as ev
from dialer.ami.parse import parse_event
from dialer.ami.wire import Block
from dialer.pbxsim import FarEndOptions, SimOutcome
from pacing.traffic import AmdSpec, AmdVerdict, DialOutcome, LognormalSpec, RingMix

PATIENT = LognormalSpec(1e6, 0.0)


def _trail(client: AmiTestClient, *uids: str) -> list[str]:
    """`Event[:UserEvent] uid` for every event about the given Uniqueids (Dest... included)."""
    out = []
    for b in client.log:
        uid = b.get("Uniqueid") or b.get("DestUniqueid")
        if b.get("Event") and uid in uids:
            name = b.get("Event") or ""
            if b.get("UserEvent"):
                name += ":" + (b.get("UserEvent") or "")
            out.append(f"{name} {uid}")
    return out


async def _fence(client: AmiTestClient) -> None:
    await client.action({"Action": "Ping", "ActionID": f"fence-{len(client.log)}"})


async def _session(sim) -> AmiTestClient:
    client = await AmiTestClient.connect(sim.port)
    await client.login(events="call,user")
    return client


async def test_a_parked_person_nobody_takes_hangs_up_after_their_patience():
    async with running(people(p_live=1.0, patience=LognormalSpec(6.0, 0.0))) as sim:
        client = await _session(sim)
        await client.action(originate("pat-1", "5552000"))
        record = await sim.wait_call_ended("pat-1")
        await _fence(client)
        assert _trail(client, "pat-1", "pat-1-2")[-6:] == [
            "SoftHangupRequest pat-1-2",
            "HangupRequest pat-1",
            "Hangup pat-1-2",
            "SoftHangupRequest pat-1",
            "UserEvent:DialerLegEnd pat-1",
            "Hangup pat-1",
        ]
        leg_end = next(b for b in client.log if b.get("UserEvent") == "DialerLegEnd")
        assert leg_end.get("Where") == "dialer-connect"
        assert leg_end.get("AMDStatus") == "HUMAN"
        assert leg_end.get("HangupCause") == "16"
        assert leg_end.get("CallID") == "pat-1"
        assert record.outcome is SimOutcome.FAR_HANGUP_WAITING
        assert record.ended_by == "far_end"
        assert record.parked_at is not None
        assert record.ended_at is not None
        assert record.ended_at - record.parked_at >= 6.0 - 1e-6
        await client.close()


async def test_connected_by_redirect_the_person_talks_then_hangs_up():
    traffic = people(p_live=1.0, talk=LognormalSpec(40.0, 0.0))
    async with running(traffic, agent_answer_delay_s=0.5) as sim:
        client = await _session(sim)
        await client.action(originate("talk-1", "5552001"))
        await client.wait_event("UserEvent", UserEvent="DialerParked")
        resp = await client.action(
            {
                "Action": "Redirect",
                "ActionID": "r",
                "Channel": "talk-1",
                "Context": "dialer-to-agent",
                "Exten": "2001",
                "Priority": "1",
            }
        )
        assert resp.get("Message") == "Redirect successful"
        answered = await client.wait_event("UserEvent", UserEvent="AgentAnswered")
        assert (answered.get("Agent"), answered.get("CallID"), answered.get("Linkedid")) == ("2001", "talk-1", "talk-1")
        record = await sim.wait_call_ended("talk-1")
        await _fence(client)
        enters = [b for b in client.log if b.get("Event") == "BridgeEnter"]
        assert [b.get("Linkedid") for b in enters] == ["talk-1", "talk-1"]
        assert enters[1].get("Uniqueid") == "talk-1"
        agent_uids = {b.get("Uniqueid") for b in client.log if "@dialer-agent-" in (b.get("Channel") or "")}
        hangups = {b.get("Uniqueid") for b in client.log if b.get("Event") == "Hangup"}
        assert agent_uids <= hangups
        assert record.outcome is SimOutcome.CONNECTED
        assert record.agent == "2001"
        assert record.ended_by == "far_end"
        assert record.connected_at is not None
        assert record.ended_at is not None
        assert record.ended_at - record.connected_at >= 40.0 - 1e-6
        assert sim.stats.channels_live == 0
        await client.close()


async def test_the_agent_hanging_up_first_ends_the_call():
    async with running(people(p_live=1.0), agent_answer_delay_s=0.0) as sim:
        client = await _session(sim)
        await client.action(originate("ag-1", "5552002"))
        await client.wait_event("UserEvent", UserEvent="DialerParked")
        await client.action(
            {
                "Action": "Redirect",
                "ActionID": "r",
                "Channel": "ag-1",
                "Context": "dialer-to-agent",
                "Exten": "2002",
                "Priority": "1",
            }
        )
        enter = await client.wait_event("BridgeEnter")
        agent_chan = enter.get("Channel") or ""
        assert agent_chan.startswith("Local/2002@dialer-agent-")
        assert agent_chan.endswith(";1")
        await client.action({"Action": "Hangup", "ActionID": "h", "Channel": agent_chan, "Cause": "16"})
        record = await sim.wait_call_ended("ag-1")
        await _fence(client)
        leg_end = next(b for b in client.log if b.get("UserEvent") == "DialerLegEnd")
        assert (leg_end.get("Where"), leg_end.get("DialStatus")) == ("dialer-to-agent", "ANSWER")
        assert record.outcome is SimOutcome.CONNECTED
        assert record.ended_by == "agent"
        await client.close()


async def test_bridge_action_joins_a_parked_person_and_an_idle_agent_leg():
    traffic = people(p_live=1.0, talk=LognormalSpec(30.0, 0.0))
    async with running(traffic, agent_answer_delay_s=0.2) as sim:
        client = await _session(sim)
        agent = {
            "Action": "Originate",
            "ActionID": "agent-7",
            "Channel": "Local/7@dialer-agent",
            "Application": "Wait",
            "Data": "600",
            "Async": "true",
            "CallerID": '"Agent" <7>',
            "ChannelId": "agent-7",
            "OtherChannelId": "agent-7-2",
        }
        await client.action(agent)
        ready = await client.wait_event("OriginateResponse", ActionID="agent-7")
        assert (ready.get("Response"), ready.get("Reason"), ready.get("Application")) == ("Success", "4", "Wait")
        await client.action(originate("br-1", "5552003"))
        await client.wait_event("UserEvent", UserEvent="DialerParked")
        resp = await client.action({"Action": "Bridge", "ActionID": "b", "Channel1": "br-1", "Channel2": "agent-7"})
        assert resp.get("Message") == "Channels have been bridged"
        second = await client.wait_event("BridgeEnter", Uniqueid="agent-7")
        assert second.get("Linkedid") == "br-1"
        assert second.get("BridgeNumChannels") == "2"
        record = await sim.wait_call_ended("br-1")
        await _fence(client)
        assert record.outcome is SimOutcome.CONNECTED
        assert record.agent == "7"
        assert record.ended_by == "far_end"
        assert "Hangup agent-7" in _trail(client, "agent-7")
        assert sim.stats.channels_live == 0
        await client.close()


async def test_redirect_to_abandon_plays_the_message_then_hangs_up():
    async with running(people(p_live=1.0), abandon_message_s=5.0) as sim:
        client = await _session(sim)
        await client.action(originate("ab-1", "5552004"))
        await client.wait_event("UserEvent", UserEvent="DialerParked")
        await client.action(
            {
                "Action": "Redirect",
                "ActionID": "r",
                "Channel": "ab-1",
                "Context": "dialer-abandon",
                "Exten": "s",
                "Priority": "1",
            }
        )
        played = await client.wait_event("UserEvent", UserEvent="DialerAbandonPlayed")
        assert (played.get("CallID"), played.get("PlaybackStatus")) == ("ab-1", "SUCCESS")
        record = await sim.wait_call_ended("ab-1")
        await _fence(client)
        assert _trail(client, "ab-1")[-3:] == [
            "SoftHangupRequest ab-1",
            "UserEvent:DialerLegEnd ab-1",
            "Hangup ab-1",
        ]
        assert record.outcome is SimOutcome.ABANDONED
        assert record.abandon_at is not None
        assert record.ended_at is not None
        assert record.ended_at - record.abandon_at >= 5.0 - 1e-6
        await client.close()


@pytest.mark.parametrize("opts_out", [True, False])
async def test_after_the_abandon_message_a_person_may_press_the_opt_out_key(opts_out):
    far = FarEndOptions(optout_share=1.0 if opts_out else 0.0)
    async with running(people(p_live=1.0), abandon_message_s=2.0, optout_digit="9", far_end=far) as sim:
        client = await _session(sim)
        await client.action(originate("oo-1", "5552014"))
        await client.wait_event("UserEvent", UserEvent="DialerParked")
        await client.action({"Action": "Redirect", "ActionID": "r", "Channel": "oo-1", "Context": "dialer-abandon",
                             "Exten": "s", "Priority": "1"})
        record = await sim.wait_call_ended("oo-1")
        await _fence(client)
        said = [t.split()[0].removeprefix("UserEvent:") for t in _trail(client, "oo-1") if t.startswith("UserEvent:")]
        expected = ["DialerAbandonPlayed", *(["DialerOptOut"] if opts_out else []), "DialerLegEnd"]
        assert said[-len(expected):] == expected
        opt = [b for b in client.log if b.get("UserEvent") == "DialerOptOut"]
        assert record.opted_out is opts_out
        assert len(opt) == int(opts_out)
        assert record.ended_at is not None
        assert record.abandon_at is not None
        # the dialplan waits for the key up to 3 s after the message; a person presses it after 1.5 s
        assert record.ended_at - record.abandon_at == pytest.approx(2.0 + (1.5 if opts_out else 3.0), abs=0.05)
        if opts_out:
            event = parse_event(opt[0].as_dict())
            assert isinstance(event, ev.OptOut)
            assert (event.call_id, event.campaign_id, event.lead_id) == ("oo-1", "camp", opt[0].get("LeadID"))
        await client.close()


async def test_a_machine_left_alone_hangs_up_after_its_greeting():
    far = FarEndOptions(machine_greeting_s=(20.0, 30.0))
    async with running(people(p_machine=1.0), far_end=far) as sim:
        client = await _session(sim)
        await client.action(originate("m-1", "5552005"))
        amd = await client.wait_event("UserEvent", UserEvent="DialerAMD")
        assert amd.get("AMDStatus") == "MACHINE"
        record = await sim.wait_call_ended("m-1")
        assert record.outcome is SimOutcome.FAR_HANGUP_WAITING
        assert record.answered_at is not None
        assert record.ended_at is not None
        assert record.ended_at - record.answered_at >= 20.0 - 1e-6
        await client.close()


async def test_an_unallocated_number_fails_with_cause_1_and_reason_0():
    async with running(people(p_invalid=1.0)) as sim:
        client = await _session(sim)
        await client.action(originate("inv-1", "5552006"))
        resp = await client.wait_event("OriginateResponse")
        assert (resp.get("Response"), resp.get("Reason"), resp.get("Uniqueid")) == ("Failure", "0", "inv-1")
        await _fence(client)
        hangups = {b.get("Uniqueid"): b.get("Cause") for b in client.log if b.get("Event") == "Hangup"}
        assert hangups == {"inv-1": "1", "inv-1-2": "1"}
        dial_end = next(b for b in client.log if b.get("Event") == "DialEnd")
        # ast_hangup_cause_to_dial_status(1): the Originate's own DialEnd cannot say "unallocated" ...
        assert dial_end.get("DialStatus") == "NOANSWER"
        # ... so dialer-outbound said it first, from the ;2 leg, before the OriginateResponse.
        trunk = next(b for b in client.log if b.get("UserEvent") == "DialerTrunkResult")
        assert client.log.index(trunk) < client.log.index(resp)
        assert parse_event(trunk.as_dict()) == ev.TrunkResult(
            call_id="inv-1", dial_status=ev.DialStatus.CHANUNAVAIL, hangup_cause=1, channel=trunk.get("Channel") or "",
            uniqueid="inv-1-2", linkedid="inv-1", timestamp=float(trunk.get("Timestamp") or 0),
        )
        assert sim.calls["inv-1"].outcome is SimOutcome.INVALID
        await client.close()


@pytest.mark.parametrize(
    ("traffic", "status", "cause", "reason"),
    [
        (people(p_busy=1.0), "BUSY", "17", "5"),
        (people(p_congestion=1.0), "CONGESTION", "34", "8"),
        (people(remote_noanswer_s=(5.0, 5.0)), "NOANSWER", "19", "0"),
    ],
)
async def test_every_carrier_refusal_is_reported_before_the_originate_response(traffic, status, cause, reason):
    async with running(traffic) as sim:
        client = await _session(sim)
        await client.action(originate("rej-1", "5552016"))
        resp = await client.wait_event("OriginateResponse")
        assert (resp.get("Response"), resp.get("Reason")) == ("Failure", reason)
        [trunk] = [b for b in client.log if b.get("UserEvent") == "DialerTrunkResult"]
        assert (trunk.get("CallID"), trunk.get("DialStatus"), trunk.get("HangupCause"), trunk.get("Uniqueid")) == (
            "rej-1", status, cause, "rej-1-2")
        await client.close()


async def test_an_answered_call_sends_no_trunk_result():
    async with running(people(p_live=1.0)) as sim:
        client = await _session(sim)
        await client.action(originate("ok-1", "5552017"))
        await client.wait_event("UserEvent", UserEvent="DialerAMD")
        await _fence(client)
        assert not [b for b in client.log if b.get("UserEvent") == "DialerTrunkResult"]
        await client.close()


async def test_hanging_up_a_ringing_call_fails_the_originate_with_reason_1():
    async with running(people(p_live=1.0, live_ring=RingMix((50.0,), (1.0,), 0.0))) as sim:
        client = await _session(sim)
        await client.action(originate("ring-1", "5552007"))
        await client.wait_event("DialState")
        await client.action({"Action": "Hangup", "ActionID": "h", "Channel": "ring-1"})
        resp = await client.wait_event("OriginateResponse")
        assert (resp.get("Response"), resp.get("Reason")) == ("Failure", "1")
        record = await sim.wait_call_ended("ring-1")
        assert record.outcome is SimOutcome.CANCELLED
        assert record.ended_by == "dialer"
        await client.close()


async def test_a_synchronous_originate_answers_when_the_call_is_answered():
    async with running(people(p_live=1.0)) as sim:
        client = await _session(sim)
        action = originate("sync-1", "5552008")
        del action["Async"]
        resp = await client.action(action)
        assert resp.as_dict() == {
            "Response": "Success",
            "ActionID": "sync-1",
            "Message": "Originate successfully queued",
        }
        assert sim.calls["sync-1"].answered_at is not None
        assert not any(b.get("Event") == "OriginateResponse" for b in client.log)
        await client.action({"Action": "Hangup", "ActionID": "h", "Channel": "sync-1"})
        await sim.wait_call_ended("sync-1")
        await client.close()


async def test_without_action_id_the_answers_have_none():
    async with running(people(p_busy=1.0)) as sim:
        client = await _session(sim)
        action = originate("noid-1", "5552009")
        del action["ActionID"]
        client.send(action)
        queued = await client.wait_for(lambda b: b.get("Response") is not None)
        assert queued.headers == [("Response", "Success"), ("Message", "Originate successfully queued")]
        resp = await client.wait_event("OriginateResponse")
        assert resp.get("ActionID") is None
        assert (resp.get("Reason"), resp.get("Uniqueid")) == ("5", "noid-1")
        await client.close()


async def test_amd_false_positive_reports_machine_for_a_person():
    traffic = people(p_live=1.0, amd=AmdSpec(false_positive=1.0, false_negative=0.0))
    async with running(traffic) as sim:
        client = await _session(sim)
        await client.action(originate("fp-1", "5552010"))
        amd = await client.wait_event("UserEvent", UserEvent="DialerAMD")
        assert amd.get("AMDStatus") == "MACHINE"
        record = sim.calls["fp-1"]
        assert record.fate is not None
        assert record.fate.outcome is DialOutcome.LIVE
        assert record.fate.amd_verdict is AmdVerdict.MACHINE
        await client.action({"Action": "Hangup", "ActionID": "h", "Channel": "fp-1", "Cause": "16"})
        assert (await sim.wait_call_ended("fp-1")).outcome is SimOutcome.HUNG_UP_BY_DIALER
        await client.close()


async def test_agent_leg_gone_while_ringing_sends_the_person_to_the_abandon_message():
    async with running(people(p_live=1.0), agent_answer_delay_s=1.5) as sim:
        client = await _session(sim)
        await client.action(originate("gone-1", "5552011"))
        await client.wait_event("UserEvent", UserEvent="DialerParked")
        await client.action(
            {
                "Action": "Redirect",
                "ActionID": "r",
                "Channel": "gone-1",
                "Context": "dialer-to-agent",
                "Exten": "3",
                "Priority": "1",
            }
        )
        begin = await client.wait_event("DialBegin", Uniqueid="gone-1")
        await client.action({"Action": "Hangup", "ActionID": "h", "Channel": begin.get("DestChannel") or ""})
        end = await client.wait_event("DialEnd", Uniqueid="gone-1")
        assert end.get("DialStatus") == "NOANSWER"
        await client.wait_event("UserEvent", UserEvent="DialerAbandonPlayed")
        assert (await sim.wait_call_ended("gone-1")).outcome is SimOutcome.ABANDONED
        await client.close()


async def test_an_agent_phone_slower_than_the_dial_timeout_means_abandon():
    async with running(people(p_live=1.0), agent_answer_delay_s=3.0, agent_ring_s=2.0) as sim:
        client = await _session(sim)
        await client.action(originate("slow-1", "5552013"))
        await client.wait_event("UserEvent", UserEvent="DialerParked")
        await client.action(
            {
                "Action": "Redirect",
                "ActionID": "r",
                "Channel": "slow-1",
                "Context": "dialer-to-agent",
                "Exten": "4",
                "Priority": "1",
            }
        )
        end = await client.wait_event("DialEnd", Uniqueid="slow-1")
        assert end.get("DialStatus") == "NOANSWER"
        record = await sim.wait_call_ended("slow-1")
        assert record.outcome is SimOutcome.ABANDONED
        assert record.connected_at is None
        await _fence(client)
        assert not [b for b in client.log if b.get("Event") == "BridgeEnter"]
        await client.close()


async def test_nobody_moving_a_parked_call_sends_it_to_the_abandon_message():
    async with running(people(p_live=1.0), scale=5000.0) as sim:
        client = await _session(sim)
        await client.action(originate("park-1", "5552012"))
        record = await sim.wait_call_ended("park-1")
        assert record.outcome is SimOutcome.ABANDONED
        assert record.parked_at is not None
        assert record.abandon_at is not None
        assert record.abandon_at - record.parked_at >= 600.0 - 1e-6
        await _fence(client)
        assert any(b.get("UserEvent") == "DialerAbandonPlayed" for b in client.log)
        await client.close()


def _events(log: list[Block], name: str) -> list[Block]:
    return [b for b in log if b.get("Event") == name]


async def test_agent_leg_that_cannot_answer_in_time_fails_with_reason_3():
    async with running(people(), agent_answer_delay_s=20.0) as sim:
        client = await _session(sim)
        await client.action(
            {
                "Action": "Originate",
                "ActionID": "slow-agent",
                "Channel": "Local/9@dialer-agent",
                "Application": "Wait",
                "Data": "600",
                "Timeout": "15000",
                "Async": "true",
            }
        )
        resp = await client.wait_event("OriginateResponse")
        assert (resp.get("Response"), resp.get("Reason"), resp.get("Uniqueid")) == ("Failure", "3", "<unknown>")
        await _fence(client)
        assert [b.get("Cause") for b in _events(client.log, "Hangup")] == ["19", "19"]
        await client.close()
