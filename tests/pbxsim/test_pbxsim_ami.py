"""The AMI surface: banner, login, event masks, and the actions' responses, as Asterisk 22 words them."""

from __future__ import annotations

import hashlib

import pytest
from pbxsim_client import AmiTestClient, originate, people, running

from dialer.pbxsim import SimOutcome
from pacing.traffic import LognormalSpec

LIVE = people(p_live=1.0)


async def test_banner_then_login_then_fully_booted_and_successful_auth():
    async with running(LIVE) as sim:
        client = await AmiTestClient.connect(sim.port)
        assert await client.banner() == "Asterisk Call Manager/11.0.0"
        resp = await client.login()
        assert resp.headers == [("Response", "Success"), ("ActionID", "login"), ("Message", "Authentication accepted")]
        booted = await client.next_block()
        assert booted.headers == [
            ("Event", "FullyBooted"),
            ("Privilege", "system,all"),
            ("Uptime", "487"),
            ("LastReload", "487"),
            ("Status", "Fully Booted"),
        ]
        auth = await client.next_block()
        assert auth.get("Event") == "SuccessfulAuth"
        assert auth.get("Privilege") == "security,all"
        assert auth.get("AccountID") == "dialer"
        assert auth.get("RemoteAddress", "").startswith("IPV4/TCP/127.0.0.1/")
        assert sim.stats.logins_ok == 1
        await client.close()


async def test_wrong_secret_is_refused_and_the_connection_closed():
    async with running(LIVE) as sim:
        client = await AmiTestClient.connect(sim.port)
        resp = await client.login(secret="wrong")
        assert resp.headers == [("Response", "Error"), ("ActionID", "login"), ("Message", "Authentication failed")]
        await client.wait_closed()
        assert client.eof
        assert sim.stats.logins_failed == 1
        assert sim.stats.logins_ok == 0


async def test_actions_before_login_are_denied_and_logoff_says_goodbye():
    async with running(LIVE) as sim:
        client = await AmiTestClient.connect(sim.port)
        await client.banner()
        resp = await client.action({"Action": "Ping", "ActionID": "p"})
        assert resp.as_dict() == {"Response": "Error", "ActionID": "p", "Message": "Permission denied"}
        bye = await client.action({"Action": "Logoff", "ActionID": "bye"})
        assert bye.headers == [("Response", "Goodbye"), ("ActionID", "bye"), ("Message", "Thanks for all the fish.")]
        await client.wait_closed()


async def test_ping_answers_pong_with_the_virtual_time():
    async with running(LIVE) as sim:
        client = await AmiTestClient.connect(sim.port)
        await client.login(events="off")
        before = sim.pbx.clock.now()
        resp = await client.action({"Action": "Ping", "ActionID": "p1"})
        after = sim.pbx.clock.now()
        assert [k for k, _ in resp.headers] == ["Response", "ActionID", "Ping", "Timestamp"]
        assert resp.get("Ping") == "Pong"
        assert before <= float(resp.get("Timestamp") or 0) <= after
        # Without an ActionID, Asterisk answers without one.
        client.send({"Action": "Ping"})
        bare = await client.wait_for(lambda b: b.get("Ping") == "Pong")
        assert [k for k, _ in bare.headers] == ["Response", "Ping", "Timestamp"]
        await client.close()


async def test_unknown_and_missing_actions_get_asterisks_errors():
    async with running(LIVE) as sim:
        client = await AmiTestClient.connect(sim.port)
        await client.login(events="off")
        resp = await client.action({"Action": "FooBar", "ActionID": "x"})
        assert resp.get("Response") == "Error"
        assert resp.get("Message") == (
            "Invalid/unknown command: FooBar. Use Action: ListCommands to show available commands."
        )
        client.send({"ActionID": "noaction", "Foo": "bar"})
        resp = await client.wait_for(lambda b: b.get("ActionID") == "noaction")
        assert resp.as_dict() == {"Response": "Error", "ActionID": "noaction", "Message": "Missing action in request"}
        settings = await client.action({"Action": "CoreSettings", "ActionID": "cs"})
        assert settings.get("AMIversion") == "11.0.0"
        assert settings.get("AsteriskVersion", "").startswith("22.")
        await client.close()


async def _collect_until_ended(sim, client: AmiTestClient, call_id: str) -> list[str]:
    """Names of the events this client got up to the end of `call_id` (then a Ping as a fence)."""
    await sim.wait_call_ended(call_id)
    pong = await client.action({"Action": "Ping", "ActionID": "fence"})
    names = []
    for block in client.log[: client.log.index(pong)]:
        if block.get("Event"):
            names.append(block.get("UserEvent") or block.get("Event"))
    return names


async def test_event_masks_decide_who_gets_what():
    traffic = people(p_live=1.0, patience=LognormalSpec(5.0, 0.0))
    async with running(traffic, scale=500) as sim:
        clients = {}
        for events in ("on", "off", "call,user,reporting", "user", "dialplan", "system"):
            client = await AmiTestClient.connect(sim.port)
            await client.login(events=events)
            clients[events] = client
        control = clients["on"]
        await control.action(originate("mask-1", "5551000"))
        got = {events: await _collect_until_ended(sim, c, "mask-1") for events, c in clients.items()}
        assert "Newexten" in got["on"]
        assert "VarSet" in got["on"]
        assert "FullyBooted" in got["on"]
        assert got["off"] == []
        assert {"Newchannel", "Hangup", "DialerAMD", "DialerParked", "DialerLegEnd"} <= set(got["call,user,reporting"])
        assert not {"Newexten", "VarSet", "FullyBooted", "SuccessfulAuth"} & set(got["call,user,reporting"])
        assert set(got["user"]) == {"DialerAMD", "DialerParked", "DialerLegEnd"}
        assert set(got["dialplan"]) == {"Newexten", "VarSet"}
        assert got["system"] == ["FullyBooted"]
        assert sim.calls["mask-1"].outcome is SimOutcome.FAR_HANGUP_WAITING
        for client in clients.values():
            await client.close()


async def test_events_carry_asterisks_privilege_and_timestamp():
    async with running(people(p_busy=1.0)) as sim:
        client = await AmiTestClient.connect(sim.port)
        await client.login(events="on")
        await client.action(originate("priv-1", "5551001"))
        await sim.wait_call_ended("priv-1")
        await client.action({"Action": "Ping", "ActionID": "fence"})
        privileges = {b.get("Event"): b.get("Privilege") for b in client.log if b.get("Event")}
        assert privileges["Newchannel"] == "call,all"
        assert privileges["OriginateResponse"] == "call,all"
        assert privileges["Newexten"] == "dialplan,all"
        assert privileges["VarSet"] == "dialplan,all"
        stamps = [float(b.get("Timestamp") or 0) for b in client.log if b.get("Event") == "Newchannel"]
        assert stamps
        assert all(s > 1e9 for s in stamps)
        await client.close()


async def test_login_mask_is_cut_by_the_users_read_rights():
    # Production grants `read = call,user` (asterisk_conf/manager.conf): no FullyBooted, no dialplan.
    async with running(people(p_busy=1.0), read_classes="call,user") as sim:
        client = await AmiTestClient.connect(sim.port)
        await client.login(events="on")
        await client.action(originate("read-1", "5551002"))
        names = await _collect_until_ended(sim, client, "read-1")
        assert "Newchannel" in names
        assert not {"FullyBooted", "SuccessfulAuth", "Newexten", "VarSet"} & set(names)
        await client.close()


async def test_core_show_channels_and_status_list_the_live_channels():
    async with running(LIVE) as sim:
        client = await AmiTestClient.connect(sim.port)
        await client.login(events="call,user")
        await client.action(originate("cs-1", "5551003"))
        await client.wait_event("UserEvent", UserEvent="DialerParked")
        resp = await client.action({"Action": "CoreShowChannels", "ActionID": "list"})
        assert resp.headers == [
            ("Response", "Success"),
            ("ActionID", "list"),
            ("EventList", "start"),
            ("Message", "Channels will follow"),
        ]
        rows = []
        while True:
            block = await client.next_block()
            if block.get("Event") == "CoreShowChannelsComplete":
                break
            rows.append(block)
        assert block.headers == [
            ("Event", "CoreShowChannelsComplete"),
            ("ActionID", "list"),
            ("EventList", "Complete"),
            ("ListItems", "2"),
        ]
        assert [r.get("Event") for r in rows] == ["CoreShowChannel", "CoreShowChannel"]
        assert {r.get("Uniqueid") for r in rows} == {"cs-1", "cs-1-2"}
        assert all(r.get("ActionID") == "list" for r in rows)
        assert [k for k, _ in rows[0].headers][-4:] == ["Application", "ApplicationData", "Duration", "BridgeId"]
        assert rows[0].get("Application") == "Wait"
        status = await client.action({"Action": "Status", "ActionID": "st", "Channel": "cs-1"})
        assert status.get("Message") == "Channel status will follow"
        row = await client.wait_event("Status")
        assert row.get("Uniqueid") == "cs-1"
        assert row.get("ChannelStateDesc") == "Up"
        done = await client.wait_event("StatusComplete")
        assert (done.get("ListItems"), done.get("Items")) == ("1", "1")
        missing = await client.action({"Action": "Status", "ActionID": "st2", "Channel": "nope"})
        assert missing.get("Message") == "No such channel"
        await client.close()


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (
            {"Action": "Originate", "Channel": "Local5551000", "Context": "dialer-connect", "Exten": "s"},
            "Invalid channel",
        ),
        ({"Action": "Originate", "Context": "dialer-connect", "Exten": "s"}, "Channel not specified"),
        (
            {"Action": "Originate", "Channel": "Local/1@dialer-outbound", "Context": "nowhere", "Exten": "s"},
            "Extension does not exist.",
        ),
        (
            {
                "Action": "Originate",
                "Channel": "Local/1@dialer-outbound",
                "Context": "dialer-connect",
                "Exten": "s",
                "Timeout": "soon",
            },
            "Invalid timeout",
        ),
        (
            {"Action": "Redirect", "Channel": "nope", "Context": "dialer-abandon", "Exten": "s", "Priority": "1"},
            "Channel does not exist: nope",
        ),
        ({"Action": "Redirect", "Channel": "nope", "Exten": "s", "Priority": "1"}, "Context not specified"),
        ({"Action": "Hangup", "Channel": "nope"}, "No such channel"),
        ({"Action": "Hangup"}, "No channel specified"),
        ({"Action": "Bridge", "Channel1": "a"}, "Missing channel parameter in request"),
        ({"Action": "Bridge", "Channel1": "a", "Channel2": "b"}, "Channel1 does not exist: a"),
    ],
)
async def test_refused_actions_say_why_like_asterisk(action, message):
    async with running(LIVE) as sim:
        client = await AmiTestClient.connect(sim.port)
        await client.login(events="off")
        resp = await client.action({**action, "ActionID": "bad"})
        assert resp.as_dict() == {"Response": "Error", "ActionID": "bad", "Message": message}
        assert sim.calls == {}
        await client.close()


async def test_md5_challenge_login_as_panoramisk_master_does_it():
    async with running(LIVE) as sim:
        client = await AmiTestClient.connect(sim.port)
        await client.banner()
        challenge = await client.action({"Action": "Challenge", "ActionID": "c", "AuthType": "MD5"})
        key = hashlib.md5((challenge.get("Challenge", "") + "change-me").encode()).hexdigest()
        resp = await client.action(
            {"Action": "Login", "ActionID": "l", "Username": "dialer", "AuthType": "MD5", "Key": key, "Events": "off"}
        )
        assert resp.get("Message") == "Authentication accepted"
        await client.close()


async def test_the_events_action_switches_a_session_off_and_on():
    async with running(people(p_busy=1.0)) as sim:
        client = await AmiTestClient.connect(sim.port)
        await client.login(events="call")
        off = await client.action({"Action": "Events", "ActionID": "e", "EventMask": "off"})
        assert off.headers == [("Response", "Success"), ("ActionID", "e"), ("Events", "Off")]
        await client.action(originate("ev-1", "5551004"))
        await sim.wait_call_ended("ev-1")
        on = await client.action({"Action": "Events", "ActionID": "e2", "EventMask": "call"})
        assert on.get("Events") == "On"
        assert not [b for b in client.log if b.get("Event")]
        await client.action(originate("ev-2", "5551005"))
        assert (await client.wait_event("OriginateResponse")).get("ActionID") == "ev-2"
        await client.close()


async def test_a_channel_id_in_use_fails_the_second_dial_only():
    async with running(LIVE) as sim:
        client = await AmiTestClient.connect(sim.port)
        await client.login(events="call")
        await client.action(originate("dup-1", "5551006"))
        await client.wait_event("DialState")
        await client.action(originate("dup-1", "5551007"))
        failed = await client.wait_event("OriginateResponse", Response="Failure")
        assert (failed.get("Reason"), failed.get("Uniqueid"), failed.get("Channel")) == (
            "0",
            "dup-1",
            "Local/5551007@dialer-outbound/n",
        )
        assert sim.calls["dup-1"].number == "5551006"
        assert sim.stats.originates_failed_fast == 1
        await client.action({"Action": "Hangup", "ActionID": "h", "Channel": "dup-1"})
        await sim.wait_call_ended("dup-1")
        await client.close()
