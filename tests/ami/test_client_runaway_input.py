"""A line or message on the AMI wire that never ends is dropped, counted, and skipped to its end.

panoramisk joins an unfinished message with each read and splits it again (so did our line check), so
without a bound such input grows in memory and costs time quadratic in its length inside the event loop,
stopping every other task. The bound is asserted here on what stays buffered; the cost is left to
benchmarks (no timing in tests).
"""

from __future__ import annotations

import asyncio
from typing import Any
from unittest import mock

import pytest

from dialer.ami import client as cm
from dialer.ami.parse import parse_event
from dialer.ami.wire import MAX_LINE

HANGUP = b"Event: Hangup\r\nChannel: a\r\nUniqueid: u\r\nLinkedid: u\r\nCause: 16\r\n\r\n"


def wired(loop: asyncio.AbstractEventLoop) -> tuple[cm._CheckedProtocol, list[Any], list[int]]:
    unreadable: list[int] = []
    m = cm._Manager(lambda _r: None, lambda: unreadable.append(1), host="x", port=1, loop=loop,
                    forgetable_actions=cm.FORGETABLE_ACTIONS)
    got: list[Any] = []
    m.register_event("*", lambda _m, msg: got.append(parse_event(msg)))
    p = cm._CheckedProtocol()
    transport = mock.MagicMock()
    p.connection_made(transport)
    made = loop.create_future()
    made.set_result((transport, p))
    m.connection_made(made)
    if m.pinger:
        m.pinger.cancel()
    p.data_received(b"Asterisk Call Manager/11.0.0\r\n")
    return p, got, unreadable


def buffered(p: cm._CheckedProtocol) -> int:
    return max(len(p._partial), sum(len(x) for x in p.queue))


async def feed(chunks: list[bytes]) -> tuple[cm._CheckedProtocol, list[Any], list[int], int]:
    p, got, unreadable = wired(asyncio.get_running_loop())
    most = 0
    for c in chunks:
        p.data_received(c)
        most = max(most, buffered(p))
    return p, got, unreadable, most


@pytest.mark.parametrize("end", [[b"\r\n\r\n"], [b"\r\n\r", b"\n"], [b"\r", b"\n\r\n"]])
def test_an_endless_line_is_dropped_counted_and_the_next_event_arrives(end):
    junk = [b"Event: Junk\r\nBig: "] + [b"X" * 65536] * 64  # 4 MiB of one line
    p, got, unreadable, most = asyncio.run(feed([HANGUP, *junk, *end, HANGUP]))
    assert most <= 2 * MAX_LINE, f"{most} bytes of one unfinished line held"
    assert (p.garbage_lines, len(unreadable)) == (1, 1)
    assert [type(e).__name__ for e in got] == ["Hangup", "Hangup"]  # the one before and the one after


def test_a_message_of_many_short_lines_that_never_ends_is_dropped_too():
    lines = [b"Event: Junk\r\n"] + [b"Variable: " + b"v" * 1000 + b"\r\n"] * 2000  # 2 MB, no blank line
    _p, got, unreadable, most = asyncio.run(feed([*lines, b"\r\n", HANGUP]))
    assert most <= cm.MAX_MESSAGE + 2048
    assert len(unreadable) == 1
    assert [type(e).__name__ for e in got] == ["Hangup"]


def test_ordinary_traffic_is_untouched():
    p, got, unreadable, _ = asyncio.run(feed([HANGUP * 50]))
    assert (p.garbage_lines, unreadable, len(got)) == (0, [], 50)


def test_a_utf8_character_split_between_reads_is_kept():
    # panoramisk decodes each read alone and ignores what does not decode: both halves of the character
    # were dropped. Cyrillic takes 2 bytes, CJK 3, an emoji 4; split the message at every byte.
    msg = ("Event: UserEvent\r\nUserEvent: Note\r\nChannel: a\r\nUniqueid: u\r\nLinkedid: u\r\n"
           "Who: Анна 李 😀\r\n\r\n").encode()
    for cut in range(1, len(msg)):
        p, got, unreadable, _ = asyncio.run(feed([msg[:cut], msg[cut:]]))
        assert (p.garbage_lines, unreadable) == (0, []), cut
        assert [e.get("who") for e in got] == ["Анна 李 😀"], cut


def test_bytes_that_are_not_utf8_do_not_stall_the_stream():
    p, got, _unreadable, _ = asyncio.run(feed([b"Event: UserEvent\r\nUserEvent: Note\r\nChannel: a\r\n"
                                               b"Uniqueid: u\r\nLinkedid: u\r\nWho: \xe9\xe9\xe9\xe9\xe9",
                                               b"\r\n\r\n" + HANGUP]))
    assert [type(e).__name__ for e in got] == ["UserEvent", "Hangup"]
    assert p._unfinished_char == b""
