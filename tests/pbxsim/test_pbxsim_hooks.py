"""Test hooks other suites rely on: dropped and half-open connections, injected bytes, slow readers."""

from __future__ import annotations

import pytest
from pbxsim_client import AmiTestClient, originate, people, running

from dialer.pbxsim import SimOutcome


async def test_drop_connections_resets_every_client_and_calls_carry_on():
    async with running(people(p_live=1.0)) as sim:
        first = await AmiTestClient.connect(sim.port)
        second = await AmiTestClient.connect(sim.port)
        await first.login(events="call,user")
        await second.banner()
        await first.action(originate("drop-1", "5553000"))
        await first.wait_event("UserEvent", UserEvent="DialerParked")
        sim.drop_connections()
        for client in (first, second):
            with pytest.raises(ConnectionError):
                await client.wait_for(lambda b: False)
        # A new connection works, and the call was not touched by the drop.
        again = await AmiTestClient.connect(sim.port)
        await again.login(events="call,user")
        assert "drop-1" in sim.pbx.by_uid
        await again.action({"Action": "Hangup", "ActionID": "h", "Channel": "drop-1"})
        assert (await sim.wait_call_ended("drop-1")).outcome is SimOutcome.HUNG_UP_BY_DIALER
        await again.close()


async def test_freeze_goes_half_open_and_unfreeze_answers_what_waited():
    async with running(people(p_busy=1.0, fail_after_s=(20.0, 20.0))) as sim:
        client = await AmiTestClient.connect(sim.port)
        await client.login(events="call")
        await client.action(originate("frz-1", "5553001"))
        await client.wait_event("DialBegin")
        sim.freeze()
        client.send({"Action": "Ping", "ActionID": "while-frozen"})
        # The busy call ends while frozen: its events are lost, as on a half-open connection.
        record = await sim.wait_call_ended("frz-1")
        assert record.outcome is SimOutcome.BUSY
        assert sim.stats.events_dropped_frozen > 0
        late = await AmiTestClient.connect(sim.port)
        sim.unfreeze()
        # The first thing after the thaw is the answer to the Ping sent while frozen.
        pong = await client.wait_for(lambda b: b.get("Response") is not None or b.get("Event") in ("DialEnd", "Hangup"))
        assert (pong.get("ActionID"), pong.get("Ping")) == ("while-frozen", "Pong")
        assert await late.banner() == "Asterisk Call Manager/11.0.0"
        await client.close()
        await late.close()


async def test_inject_raw_reaches_every_session_as_is():
    async with running(people()) as sim:
        client = await AmiTestClient.connect(sim.port)
        await client.login(events="off")
        sim.inject_raw(b"this is not AMI\r\n\r\nEvent: MysteryEvent\r\nFoo: bar\r\n\r\n")
        garbage = await client.next_block()
        assert garbage.headers == []
        assert garbage.errors
        assert "not a 'Key: Value' line" in garbage.errors[0]
        mystery = await client.next_block()
        assert mystery.as_dict() == {"Event": "MysteryEvent", "Foo": "bar"}
        # The session still works after the garbage.
        pong = await client.action({"Action": "Ping", "ActionID": "after"})
        assert pong.get("Ping") == "Pong"
        await client.close()


async def test_a_client_that_stops_reading_is_cut_off_not_buffered_forever():
    async with running(people(), max_backlog=256 * 1024) as sim:
        stuck = await AmiTestClient.connect(sim.port)
        await stuck.login(events="on")
        watcher = await AmiTestClient.connect(sim.port)
        await watcher.login(events="off")
        chunk = b"Event: Filler\r\nData: " + b"x" * 65000 + b"\r\n\r\n"
        n = 0
        while sim.stats.slow_clients_dropped == 0:
            n += 1
            assert n < 2000, "the stuck client was never dropped"
            sim.inject_raw(chunk)
            await watcher.action({"Action": "Ping", "ActionID": f"p{n}"})  # lets the loop flush
        assert sim.stats.slow_clients_dropped == 1
        with pytest.raises(ConnectionError):
            await stuck.wait_for(lambda b: False)  # reads what was buffered, then hits the reset
        await watcher.close()
