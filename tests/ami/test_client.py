"""AmiClient against the loopback fake AMI server: the panoramisk hazards, one test each.

No test sleeps: each awaits an event from the client or a condition on the server, under a
generous `asyncio.timeout` that only turns a hang into a failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import pytest
from fake_server import FakeAmi

from dialer.ami import actions
from dialer.ami import client as client_module
from dialer.ami.client import AmiClient
from dialer.ami.events import (
    AmiConnected,
    AmiDisconnected,
    AmiEvent,
    ChannelState,
    FullyBooted,
    Hangup,
    MalformedEvent,
    OriginateFailed,
    OriginateReason,
    OriginateResponse,
    Shutdown,
    UnknownEvent,
)
from dialer.clock import ScaledClock
from dialer.errors import AmiConnectionError, AmiError, OriginateError

E = TypeVar("E")
LIMIT = 10.0


@pytest.fixture
async def ami() -> AsyncIterator[FakeAmi]:
    async with FakeAmi() as server:
        yield server


def make_client(server: FakeAmi, **kw: Any) -> AmiClient:
    args: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": server.port,
        "username": "dialer",
        "secret": "s3cret",
        "ping_interval": 60.0,
        "ping_timeout": 5.0,
        "connect_timeout": 5.0,
        "reconnect_delay": 0.01,
        "reconnect_max_delay": 0.05,
    }
    args.update(kw)
    return AmiClient(**args)


async def next_of(stream: AsyncIterator[AmiEvent], kind: type[E], seen: list[AmiEvent] | None = None) -> E:
    """The next event of type `kind`; everything before it is appended to `seen`."""
    async with asyncio.timeout(LIMIT):
        async for event in stream:
            if isinstance(event, kind):
                return event
            if seen is not None:
                seen.append(event)
    raise AssertionError(f"event stream ended before a {kind.__name__}")


async def nxt(stream: AsyncIterator[AmiEvent]) -> AmiEvent:
    async with asyncio.timeout(LIMIT):
        return await anext(stream)


def dial(call_id: str, timeout_ms: int = 30_000) -> actions.OriginateAction:
    return actions.originate(
        call_id=call_id,
        number="+15551230",
        campaign="upsell",
        lead_id="L1",
        timeout_ms=timeout_ms,
        caller_id_name="Acme",
        caller_id_number="5550100",
    )


HANGUP = [
    ("Channel", "Local/5551230@dialer-outbound-0000001b;1"),
    ("ChannelState", "6"),
    ("Uniqueid", "c-1"),
    ("Linkedid", "c-1"),
    ("Cause", "16"),
    ("Cause-txt", "Normal Clearing"),
]


async def test_login_then_connected_then_fully_booted(ami: FakeAmi) -> None:
    async with make_client(ami) as client:
        stream = client.events()
        assert await nxt(stream) == AmiConnected(reconnect=False)
        assert isinstance(await nxt(stream), FullyBooted)
        assert client.backlog == 0
        login = ami.conns[0].actions[0]
        assert (login.get("Action"), login.get("Username"), login.get("Events")) == (
            "Login",
            "dialer",
            "call,user,reporting",
        )
        assert client.connected


async def test_login_response_is_the_start_without_fully_booted(ami: FakeAmi) -> None:
    ami.fully_booted = False  # as with the production manager.conf (no read=system)
    async with make_client(ami) as client:
        stream = client.events()
        assert await nxt(stream) == AmiConnected(reconnect=False)
        client.submit_originate(dial("c-1"))
        assert (await nxt(stream)) == OriginateResponse(
            action_id="c-1",
            success=True,
            reason=4,
            channel="Local/5551230@dialer-outbound-0000001b;1",
            uniqueid="c-1",
            timestamp=1795448629.000001,
            context="dialer-connect",
            exten="s",
            caller_id_num="5550100",
        )
        ami.drop()
        assert await nxt(stream) == AmiDisconnected("Asterisk closed the connection")
        assert await nxt(stream) == AmiConnected(reconnect=True)


async def test_login_refused_says_what_to_check(ami: FakeAmi) -> None:
    with pytest.raises(AmiConnectionError, match=r"login refused for user 'dialer'.*manager\.conf"):
        async with make_client(ami, secret="wrong"):
            pass


async def test_connection_refused_says_what_to_check() -> None:
    server = FakeAmi()
    await server.listen()
    port = server.port
    await server.stop_listening()
    client = AmiClient(host="127.0.0.1", port=port, username="dialer", secret="x", connect_timeout=5.0)
    with pytest.raises(AmiConnectionError, match=r"cannot connect to AMI at 127\.0\.0\.1.*enabled=yes"):
        async with client:
            pass


async def test_originate_answered_and_wire_format(ami: FakeAmi) -> None:
    async with make_client(ami) as client:
        stream = client.events()
        client.submit_originate(dial("c-1"))
        assert client.pending_originates == 1
        result = await next_of(stream, OriginateResponse)
        assert result.success
        assert result.reason_enum is OriginateReason.ANSWERED
        assert (result.call_id, result.uniqueid) == ("c-1", "c-1")
        assert client.pending_originates == 0
        block = await ami.wait_action("Originate")
        assert block.get("Async") == "true"
        assert block.get("ActionID") == block.get("ChannelId") == "c-1"
        assert block.get("OtherChannelId") == "c-1-2"
        assert block.get("Channel") == "Local/15551230@dialer-outbound/n"
        assert block.get_all("Variable") == [
            "DIALER_CALL_ID=c-1,DIALER_CAMPAIGN=upsell,DIALER_LEAD=L1,DIALER_AMD=1"
        ]


async def test_originate_busy_has_no_uniqueid(ami: FakeAmi) -> None:
    ami.plans["c-busy"] = "busy"
    async with make_client(ami) as client:
        client.submit_originate(dial("c-busy"))
        result = await next_of(client.events(), OriginateResponse)
        assert not result.success
        assert (result.reason, result.uniqueid) == (OriginateReason.BUSY, None)


async def test_originate_refused_is_originate_failed(ami: FakeAmi) -> None:
    ami.plans["c-err"] = "error"
    async with make_client(ami) as client:
        client.submit_originate(dial("c-err"))
        failed = await next_of(client.events(), OriginateFailed)
        assert failed.call_id == "c-err"
        assert not failed.may_exist
        assert failed.sent  # Asterisk read it and said no: a failed attempt
        assert "refused" in failed.error
        assert "Originate failed" in failed.error
        assert client.pending_originates == 0


async def test_originate_deadline_then_late_response_flows_as_event(ami: FakeAmi) -> None:
    ami.plans["c-slow"] = "hold"
    # 1000x clock: the 15 s ring timeout plus the 10 s margin becomes 25 ms of real time.
    async with make_client(ami, clock=ScaledClock(scale=1000.0)) as client:
        stream = client.events()
        client.submit_originate(dial("c-slow", timeout_ms=15_000))
        failed = await next_of(stream, OriginateFailed)
        assert failed.call_id == "c-slow"
        assert failed.may_exist
        assert "no OriginateResponse within 0.025 s" in failed.error
        assert client.pending_originates == 0
        ami.finish_originate("c-slow", reason=4)
        late = await next_of(stream, OriginateResponse)
        assert late.call_id == "c-slow"
        assert late.success


async def test_the_originate_deadline_counts_the_set_up_allowance_asterisk_waits_too(ami: FakeAmi) -> None:
    # Asterisk's Timeout is ring plus set-up (20 + 8 s); a deadline from the ring alone (20 + 10 s margin)
    # declared a slow carrier's answer missing 2 s after Asterisk could still send it
    ami.plans["c-setup"] = "hold"
    async with make_client(ami, clock=ScaledClock(scale=1000.0)) as client:
        stream = client.events()
        client.submit_originate(actions.originate(call_id="c-setup", number="+12025550123", campaign="camp",
                                                  lead_id="L1", timeout_ms=20_000, setup_ms=8_000,
                                                  caller_id_name="Acme", caller_id_number="5550100"))
        failed = await next_of(stream, OriginateFailed)
        assert "no OriginateResponse within 0.038 s" in failed.error  # (20 + 8 + 10) s at 1000x


async def test_pending_registry_is_capped_and_keyed_by_call_id(ami: FakeAmi) -> None:
    ami.plans.update({"c-1": "hold", "c-2": "hold"})
    async with make_client(ami, max_pending_originates=2) as client:
        stream = client.events()
        client.submit_originate(dial("c-1"))
        with pytest.raises(OriginateError, match="already has an Originate pending"):
            client.submit_originate(dial("c-1"))
        client.submit_originate(dial("c-2"))
        with pytest.raises(OriginateError, match="max_pending_originates"):
            client.submit_originate(dial("c-3"))
        assert client.pending_originates == 2
        await ami.wait_action("Originate", count=2)
        ami.finish_originate("c-1", reason=5)
        done = await next_of(stream, OriginateResponse)
        assert done.call_id == "c-1"
        assert client.pending_originates == 1
        client.submit_originate(dial("c-3"))
        assert client.pending_originates == 2


async def test_originate_is_never_resent_after_reconnect(ami: FakeAmi) -> None:
    ami.plans.update({"c-silent": "silent", "c-queued": "hold"})
    async with make_client(ami) as client:
        stream = client.events()
        client.submit_originate(dial("c-silent"))
        client.submit_originate(dial("c-queued"))
        await ami.wait_action("Originate", count=2)
        ami.drop()
        failed: dict[str, OriginateFailed] = {}
        seen: list[AmiEvent] = []
        while len(failed) < 2:
            event = await next_of(stream, OriginateFailed, seen)
            failed[event.call_id] = event
        assert set(failed) == {"c-silent", "c-queued"}
        assert all(f.may_exist and "connection lost" in f.error for f in failed.values())
        assert client.pending_originates == 0
        await next_of(stream, AmiConnected, seen)
        assert AmiDisconnected("Asterisk closed the connection") in seen
        assert isinstance(await nxt(stream), FullyBooted)  # the new login's, after AmiConnected
        # The new connection is booted; whatever panoramisk would replay is written before this Ping.
        assert (await client.send(actions.ping())).ok
        assert ami.conns[1].names() == ["Login", "Ping"]


async def test_half_open_connection_is_detected_and_replaced(ami: FakeAmi) -> None:
    async with make_client(ami, ping_interval=0.05, ping_timeout=0.1) as client:
        stream = client.events()
        await next_of(stream, FullyBooted)
        await ami.wait_action("Ping")  # the watchdog runs
        ami.go_half_open()
        gone = await next_of(stream, AmiDisconnected)
        assert "no answer to Ping within 0.1 s (half-open connection)" in gone.reason
        assert await next_of(stream, AmiConnected) == AmiConnected(reconnect=True)
        assert len(ami.conns) == 2
        assert (await client.send(actions.ping())).ok


async def test_handler_exception_keeps_the_connection(ami: FakeAmi, monkeypatch: pytest.MonkeyPatch) -> None:
    real = client_module.parse_event

    def exploding(msg: Any) -> AmiEvent:
        if msg.get("Event") == "Boom":
            raise RuntimeError("handler bug")
        return real(msg)

    monkeypatch.setattr(client_module, "parse_event", exploding)
    async with make_client(ami) as client:
        stream = client.events()
        await next_of(stream, FullyBooted)
        ami.send_event("Boom")
        ami.send_event("Hangup", HANGUP)
        seen: list[AmiEvent] = []
        hangup = await next_of(stream, Hangup, seen)
        assert hangup.uniqueid == "c-1"
        assert seen == []
        assert client.handler_errors == 1
        assert client.connected
        assert len(ami.conns) == 1


async def test_garbage_and_unknown_events_do_not_stop_the_stream(ami: FakeAmi) -> None:
    async with make_client(ami) as client:
        stream = client.events()
        await next_of(stream, FullyBooted)
        ami.send_raw(b"this is not AMI at all\r\n\r\n")
        ami.send_raw(b"\x00\xff\xfe binary junk\r\nno colon here\r\n\r\n")
        ami.send_event("BrandNewEvent", [("Foo", "bar")])
        ami.send_event("Hangup", [("Channel", "X/1"), ("Cause", "16")])  # no Uniqueid/Linkedid
        ami.send_event("Hangup", [*HANGUP[:4], ("Cause", "sixteen")])
        ami.send_event("Hangup", HANGUP)
        seen: list[AmiEvent] = []
        hangup = await next_of(stream, Hangup, seen)
        assert hangup.cause == 16
        assert hangup.state is ChannelState.UP
        assert seen[0] == UnknownEvent("BrandNewEvent")
        assert [type(e) for e in seen[1:]] == [MalformedEvent, MalformedEvent]
        assert isinstance(seen[1], MalformedEvent)
        assert "'uniqueid' is missing" in seen[1].problem
        assert isinstance(seen[2], MalformedEvent)
        assert "'sixteen'" in seen[2].problem
        assert client.malformed_events == 2
        assert client.handler_errors == 0
        assert client.connected
        assert len(ami.conns) == 1


async def test_two_events_run_together_are_skipped_and_the_connection_kept(ami: FakeAmi) -> None:
    # The blank line between two events missing: panoramisk reads one block with `Event` twice, makes the
    # header a list and calls .lower() on it, which closed the connection and lost the rest of the read.
    run_together = (b"Event: Newstate\r\nChannel: X/1\r\nChannelState: 5\r\nUniqueid: c-1\r\nLinkedid: c-1\r\n"
                    b"Event: DialState\r\nDestUniqueid: c-1\r\nDialStatus: RINGING\r\n\r\n")
    hangup = "".join(f"{k}: {v}\r\n" for k, v in [("Event", "Hangup"), *HANGUP]).encode() + b"\r\n"
    async with make_client(ami) as client:
        stream = client.events()
        await next_of(stream, FullyBooted)
        ami.send_raw(run_together + hangup)  # one write: one read on our side
        seen: list[AmiEvent] = []
        assert (await next_of(stream, Hangup, seen)).uniqueid == "c-1"
        assert seen == []
        assert client.malformed_events == 1
        assert client.connected
        assert len(ami.conns) == 1


async def test_reconnect_with_backoff_then_resume_and_resync(ami: FakeAmi) -> None:
    ami.channels = [
        {
            "Channel": "Local/5551230@dialer-outbound-0000001b;1",
            "ChannelState": "6",
            "Uniqueid": "c-1",
            "Linkedid": "c-1",
            "Context": "dialer-connect",
            "Exten": "s",
            "Application": "Wait",
            "ApplicationData": "600",
            "Duration": "00:01:05",
            "BridgeId": "",
        }
    ]
    async with make_client(ami) as client:
        stream = client.events()
        await next_of(stream, FullyBooted)
        await ami.stop_listening()
        ami.drop()
        await next_of(stream, AmiDisconnected)
        assert not client.connected
        with pytest.raises(AmiConnectionError, match="not connected"):
            await client.send(actions.ping())
        client.submit_originate(dial("c-offline"))
        offline = await next_of(stream, OriginateFailed)
        assert offline.call_id == "c-offline"
        assert not offline.may_exist
        assert not offline.sent  # never written: the lead goes back uncounted
        await ami.listen()  # Asterisk is back
        assert await next_of(stream, AmiConnected) == AmiConnected(reconnect=True)
        rows = await client.core_show_channels()
        assert [(r.uniqueid, r.state, r.application, r.duration) for r in rows] == [
            ("c-1", ChannelState.UP, "Wait", 65)
        ]
        client.submit_originate(dial("c-2"))
        assert (await next_of(stream, OriginateResponse)).call_id == "c-2"


async def test_shutdown_event_then_reconnect(ami: FakeAmi) -> None:
    async with make_client(ami) as client:
        stream = client.events()
        await next_of(stream, FullyBooted)
        ami.send_event("Shutdown", [("Shutdown", "Cleanly"), ("Restart", "True")])
        assert await next_of(stream, Shutdown) == Shutdown(shutdown="Cleanly", restart=True)
        assert await next_of(stream, AmiDisconnected) == AmiDisconnected("Asterisk sent Shutdown")
        assert await next_of(stream, AmiConnected) == AmiConnected(reconnect=True)


async def test_send_returns_errors_and_raises_on_timeout(ami: FakeAmi) -> None:
    ami.ignore.add("status")
    async with make_client(ami) as client:
        ok = await client.send(actions.redirect("Local/1@x;1", "dialer-to-agent", "1001"))
        assert ok.ok
        assert ok.message == "Redirect successful"
        gone = await client.send(actions.hangup("Gone/1"))
        assert (gone.ok, gone.response, gone.message) == (False, "Error", "No such channel")
        with pytest.raises(AmiError, match="Asterisk refused Hangup: No such channel"):
            await client.send(actions.hangup("Gone/1"), check=True)
        with pytest.raises(AmiConnectionError, match=r"no answer to Status within 0\.05 s"):
            await client.send(actions.status(), timeout=0.05)
        assert client.connected


async def test_exception_in_the_body_propagates_unwrapped(ami: FakeAmi) -> None:
    with pytest.raises(KeyError, match="body"):
        async with make_client(ami):
            raise KeyError("body")
    await ami.wait_action("Logoff")


async def test_exit_logs_off_and_ends_the_stream(ami: FakeAmi) -> None:
    client = make_client(ami)
    async with client:
        stream = client.events()
        with pytest.raises(AmiError, match="already in use"):
            async with client:
                pass
    assert [type(e) async for e in stream] == [AmiConnected, FullyBooted]
    await ami.wait_action("Logoff")
    with pytest.raises(AmiConnectionError, match="not running"):
        client.submit_originate(dial("c-late"))


def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> tuple[asyncio.AbstractEventLoop, Callable[[], None]]:
    """The running loop with its clock stopped, and a `stall()` that moves it 10 s on, as a blocked loop
    would: every timer due within those 10 s fires in the same turn, earliest first."""
    loop = asyncio.get_running_loop()
    now = [loop.time()]
    monkeypatch.setattr(loop, "time", lambda: now[0])

    def stall() -> None:
        now[0] += 10.0

    return loop, stall


async def test_an_answer_due_with_the_deadline_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stall of the loop makes the answer and the deadline come due in one turn: the answer wins."""
    loop, stall = frozen_clock(monkeypatch)
    answer: asyncio.Future[str] = loop.create_future()
    loop.call_at(loop.time() + 4.0, answer.set_result, "OriginateResponse")  # read just before the deadline
    waiting = asyncio.ensure_future(client_module._answer_within(answer, 5.0))
    loop.call_soon(stall)  # runs after the waiter's first step has armed its deadline
    assert await waiting == "OriginateResponse"


async def test_no_answer_by_the_deadline_is_a_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    loop, stall = frozen_clock(monkeypatch)
    answer: asyncio.Future[str] = loop.create_future()
    waiting = asyncio.ensure_future(client_module._answer_within(answer, 5.0))
    loop.call_soon(stall)
    with pytest.raises(TimeoutError):
        await waiting
    assert answer.cancelled()  # the waiter gave up on it: `_request` then forgets the action
