"""Byte templates for everything the simulator writes on the wire, shaped like Asterisk 22's output.

Rendering is the simulator's hot path: a busy shift means thousands of events a second, each ~500 bytes.
So the fixed parts are rendered once: the `Event:/Privilege:/Timestamp:` head of every (event, class)
pair is cached, and a channel's fourteen snapshot headers (`Channel:` .. `Linkedid:`) are rendered from a
per-prefix template and cached on the channel until its state changes (see `model.Channel`). An event
is then one `b"".join` of cached pieces.

Header names, their order, the `Privilege: <class>,all` form, `Cause-txt` strings and the response
layout follow Asterisk 22's `main/manager.c` and the real transcript in `tests/fixtures/ami/`.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntFlag
from functools import cache

__all__ = [
    "CAUSE_TXT",
    "STATE_DESC",
    "Cat",
    "cause_txt",
    "channel_template",
    "event",
    "event_head",
    "kv",
    "list_complete",
    "mask_from_events_header",
    "response",
]

CRLF = b"\r\n"


class Cat(IntFlag):
    """Asterisk's event classes (`EVENT_FLAG_*` in `include/asterisk/manager.h`)."""

    SYSTEM = 1 << 0
    CALL = 1 << 1
    LOG = 1 << 2
    VERBOSE = 1 << 3
    COMMAND = 1 << 4
    AGENT = 1 << 5
    USER = 1 << 6
    CONFIG = 1 << 7
    DTMF = 1 << 8
    REPORTING = 1 << 9
    CDR = 1 << 10
    DIALPLAN = 1 << 11
    ORIGINATE = 1 << 12
    AGI = 1 << 13
    CC = 1 << 15
    AOC = 1 << 16
    TEST = 1 << 17
    SECURITY = 1 << 18
    MESSAGE = 1 << 30


ALL_MASK = 0x7FFFFFFF  # INT_MAX: what `read=all` and `Events: on` grant

# The order Asterisk's `perms[]` table lists the classes in; `all` matches every class.
_PERMS: tuple[tuple[int, str], ...] = (
    (Cat.SYSTEM, "system"),
    (Cat.CALL, "call"),
    (Cat.LOG, "log"),
    (Cat.VERBOSE, "verbose"),
    (Cat.COMMAND, "command"),
    (Cat.AGENT, "agent"),
    (Cat.USER, "user"),
    (Cat.CONFIG, "config"),
    (Cat.DTMF, "dtmf"),
    (Cat.REPORTING, "reporting"),
    (Cat.CDR, "cdr"),
    (Cat.DIALPLAN, "dialplan"),
    (Cat.ORIGINATE, "originate"),
    (Cat.AGI, "agi"),
    (Cat.CC, "cc"),
    (Cat.AOC, "aoc"),
    (Cat.TEST, "test"),
    (Cat.SECURITY, "security"),
    (Cat.MESSAGE, "message"),
    (ALL_MASK, "all"),
)
_TRUE = {"yes", "true", "y", "t", "1", "on"}
_FALSE = {"no", "false", "n", "f", "0", "off"}


def mask_from_events_header(value: str) -> int:
    """Asterisk's `strings_to_mask`: digits are a raw mask, on/off, else a comma list of class names.

    Returns -1 for an empty value (Asterisk then keeps the user's read permissions).
    """
    v = value.strip()
    if not v:
        return -1
    if v.isdigit():
        return int(v)
    if v.lower() in _FALSE:
        return 0
    if v.lower() in _TRUE:
        return ALL_MASK
    names = {part.strip() for part in v.split(",")}
    mask = 0
    for num, label in _PERMS:
        if label in names:
            mask |= num
    return mask


@cache
def privilege(cat: int) -> str:
    """`authority_to_str`: every class label whose bit is set, `all` included (hence `call,all`)."""
    return ",".join(label for num, label in _PERMS if cat & num) or "<none>"


@cache
def event_head(name: str, cat: int) -> bytes:
    """`Event: <name>` and `Privilege:` lines plus the `Timestamp: ` key awaiting its value."""
    return f"Event: {name}\r\nPrivilege: {privilege(cat)}\r\nTimestamp: ".encode()


def event(name: str, cat: int, ts: bytes, *parts: bytes) -> bytes:
    """One complete event: cached head, timestamp, the given header chunks, blank line."""
    return b"".join((event_head(name, cat), ts, CRLF, *parts, CRLF))


def kv(key: str, value: object) -> bytes:
    """One `Key: Value` line."""
    return f"{key}: {value}\r\n".encode()


STATE_DESC: dict[int, str] = {
    0: "Down",
    1: "Rsrvd",
    2: "OffHook",
    3: "Dialing",
    4: "Ring",
    5: "Ringing",
    6: "Up",
    7: "Busy",
    8: "Dialing Offhook",
    9: "Pre-ring",
}

CAUSE_TXT: dict[int, str] = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    3: "No route to destination",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    21: "Call Rejected",
    27: "Destination out of order",
    34: "Circuit/channel congestion",
    38: "Network out of order",
}


def cause_txt(cause: int) -> str:
    """Asterisk's `ast_cause2str` for the causes a dialer meets."""
    return CAUSE_TXT.get(cause, "Unknown")


@cache
def channel_template(prefix: str) -> str:
    """`ast_manager_build_channel_state_string_prefix` as a `str.format` template (fields 0..13)."""
    keys = (
        "Channel",
        "ChannelState",
        "ChannelStateDesc",
        "CallerIDNum",
        "CallerIDName",
        "ConnectedLineNum",
        "ConnectedLineName",
        "Language",
        "AccountCode",
        "Context",
        "Exten",
        "Priority",
        "Uniqueid",
        "Linkedid",
    )
    return "".join(f"{prefix}{k}: {{{i}}}\r\n" for i, k in enumerate(keys))


def response(
    resp: str,
    action_id: str | None,
    message: str | None = None,
    *,
    listflag: str | None = None,
    extra: Iterable[tuple[str, object]] = (),
) -> bytes:
    """`astman_send_response_full`: Response, ActionID (if any), EventList, then extra lines or Message."""
    out = [f"Response: {resp}\r\n"]
    if action_id:
        out.append(f"ActionID: {action_id}\r\n")
    if listflag:
        out.append(f"EventList: {listflag}\r\n")
    out.extend(f"{k}: {v}\r\n" for k, v in extra)
    if message is not None:
        out.append(f"Message: {message}\r\n")
    out.append("\r\n")
    return "".join(out).encode()


def list_complete(event_name: str, action_id: str | None, count: int, *extra: tuple[str, object]) -> bytes:
    """`astman_send_list_complete`: the closing event of a list (no Privilege, no Timestamp)."""
    out = [f"Event: {event_name}\r\n"]
    if action_id:
        out.append(f"ActionID: {action_id}\r\n")
    out.append(f"EventList: Complete\r\nListItems: {count}\r\n")
    out.extend(f"{k}: {v}\r\n" for k, v in extra)
    out.append("\r\n")
    return "".join(out).encode()
