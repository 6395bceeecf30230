"""AMI header blocks in, typed events out: the only place that reads AMI headers by name.

Theory of operation: `parse_event` is total. Whatever it is given (a panoramisk `Message`, a plain
dict from `wire.Block.as_dict()`, or garbage) it returns one `AmiEvent` and never raises: a modelled
event whose required headers are missing or unreadable becomes a `MalformedEvent` naming the header
and the value, an event we do not model becomes `UnknownEvent(name)`. The client logs and counts
those; the daemon keeps running and later events keep flowing.

It sits on the hot path (every AMI event of every call), so it does the least work that keeps it
total: one pass to lowercase the keys (panoramisk's `CaseInsensitiveDict` already stores them
lowercased, and we read that store directly), one dict lookup to find the event's parser, and plain
`int`/`float` conversions, with no regular expressions. Header values are normally `str`;
panoramisk turns a repeated header into a list, and we take its first value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dialer.ami import events as ev

__all__ = ["DELIBERATELY_UNMODELLED", "MODELLED_EVENTS", "MODELLED_USER_EVENTS", "parse_channel_row", "parse_event"]

_Headers = dict[str, Any]

# Seen in the Asterisk 22 transcripts and deliberately left as UnknownEvent: the dialer's logic does
# not need them (and the `call,user,reporting` login mask keeps Newexten/VarSet away anyway).
DELIBERATELY_UNMODELLED: frozenset[str] = frozenset(
    {
        "Newexten", "VarSet", "DeviceStateChange", "NewConnectedLine", "NewCallerid", "LocalBridge",
        "BridgeCreate", "BridgeDestroy", "SuccessfulAuth",
    }
)  # fmt: skip

_STATES: dict[int, ev.ChannelState] = {s.value: s for s in ev.ChannelState}
_DIAL: dict[str, ev.DialStatus] = {s.value: s for s in ev.DialStatus}
_AMD: dict[str, ev.AmdStatus] = {s.value: s for s in ev.AmdStatus}
_NULL_IDS = frozenset({"<unknown>", "<null>", ""})

# Headers that describe the channel of a UserEvent rather than the event's own payload (plus
# "content", where panoramisk's Message keeps a response body).
_CHANNEL_KEYS = frozenset(
    {
        "content", "event", "privilege", "timestamp", "channel", "channelstate", "channelstatedesc", "calleridnum",
        "calleridname", "connectedlinenum", "connectedlinename", "language", "accountcode", "context",
        "exten", "priority", "uniqueid", "linkedid", "userevent",
    }
)


class _Bad(Exception):
    """A required header is missing or unreadable; the message is the MalformedEvent's problem."""


def _coerce(value: Any) -> str | None:
    """A non-str header value: panoramisk's list for a repeated header, or garbage."""
    if isinstance(value, list | tuple) and value and isinstance(value[0], str):
        return value[0]
    return None


def _req(h: _Headers, key: str) -> str:
    v = h.get(key)
    if v.__class__ is not str:
        v = _coerce(v)
        if v is None:
            raise _Bad(f"required header {key!r} is missing")
    if not v:
        raise _Bad(f"required header {key!r} is empty")
    return v  # type: ignore[no-any-return]


def _opt(h: _Headers, key: str) -> str:
    v = h.get(key)
    if v.__class__ is str:
        return v  # type: ignore[no-any-return]
    return _coerce(v) or ""


def _opt_none(h: _Headers, key: str) -> str | None:
    return _opt(h, key) or None


def _to_int(key: str, v: str) -> int:
    try:
        return int(v)
    except ValueError:
        raise _Bad(f"header {key!r} is not an integer: {v[:40]!r}") from None


def _int(h: _Headers, key: str) -> int:
    return _to_int(key, _req(h, key))


def _opt_int(h: _Headers, key: str) -> int | None:
    v = _opt(h, key)
    return _to_int(key, v) if v else None


def _ts(h: _Headers) -> float | None:
    v = _opt(h, "timestamp")
    if not v:
        return None
    try:
        return float(v)
    except ValueError:
        raise _Bad(f"header 'timestamp' is not a number: {v[:40]!r}") from None


def _state(h: _Headers, key: str) -> ev.ChannelState:
    code = _int(h, key)
    state = _STATES.get(code)
    if state is None:
        raise _Bad(f"header {key!r} is not a channel state: {code}")
    return state


def _opt_state(h: _Headers, key: str) -> ev.ChannelState | None:
    return _state(h, key) if _opt(h, key) else None


def _dial_status(v: str) -> ev.DialStatus:
    status = _DIAL.get(v)
    if status is None:
        raise _Bad(f"header 'dialstatus' is not a dial status: {v[:40]!r}")
    return status


def _amd_status(v: str) -> ev.AmdStatus:
    status = _AMD.get(v)
    if status is None:
        raise _Bad(f"header 'amdstatus' is not an AMD status: {v[:40]!r}")
    return status


# --- one parser per modelled event ---------------------------------------------------------------


def _newchannel(h: _Headers) -> ev.Newchannel:
    return ev.Newchannel(
        channel=_req(h, "channel"), uniqueid=_req(h, "uniqueid"), linkedid=_req(h, "linkedid"),
        state=_state(h, "channelstate"),
        timestamp=_ts(h),
        context=_opt(h, "context"),
        exten=_opt(h, "exten"),
        caller_id_num=_opt(h, "calleridnum"),
    )


def _newstate(h: _Headers) -> ev.Newstate:
    return ev.Newstate(
        channel=_req(h, "channel"), uniqueid=_req(h, "uniqueid"), linkedid=_req(h, "linkedid"),
        state=_state(h, "channelstate"),
        timestamp=_ts(h),
        connected_line_num=_opt(h, "connectedlinenum"),
    )


def _dial_begin(h: _Headers) -> ev.DialBegin:
    return ev.DialBegin(
        dest_channel=_req(h, "destchannel"), dest_uniqueid=_req(h, "destuniqueid"),
        dest_linkedid=_req(h, "destlinkedid"),
        timestamp=_ts(h),
        channel=_opt_none(h, "channel"), uniqueid=_opt_none(h, "uniqueid"), linkedid=_opt_none(h, "linkedid"),
        dial_string=_opt(h, "dialstring"),
    )


def _dial_state(h: _Headers) -> ev.DialState:
    return ev.DialState(
        dest_channel=_req(h, "destchannel"), dest_uniqueid=_req(h, "destuniqueid"),
        dest_linkedid=_req(h, "destlinkedid"),
        dial_status=_dial_status(_req(h, "dialstatus")),
        timestamp=_ts(h),
        channel=_opt_none(h, "channel"), uniqueid=_opt_none(h, "uniqueid"), linkedid=_opt_none(h, "linkedid"),
    )


def _dial_end(h: _Headers) -> ev.DialEnd:
    return ev.DialEnd(
        dest_channel=_req(h, "destchannel"), dest_uniqueid=_req(h, "destuniqueid"),
        dest_linkedid=_req(h, "destlinkedid"),
        dial_status=_dial_status(_req(h, "dialstatus")),
        timestamp=_ts(h),
        channel=_opt_none(h, "channel"), uniqueid=_opt_none(h, "uniqueid"), linkedid=_opt_none(h, "linkedid"),
        forward=_opt(h, "forward"),
    )


def _hangup(h: _Headers) -> ev.Hangup:
    return ev.Hangup(
        channel=_req(h, "channel"), uniqueid=_req(h, "uniqueid"), linkedid=_req(h, "linkedid"),
        cause=_int(h, "cause"),
        timestamp=_ts(h),
        cause_txt=_opt(h, "cause-txt"),
        state=_opt_state(h, "channelstate"),
    )


def _hangup_request(h: _Headers) -> ev.HangupRequest:
    return ev.HangupRequest(
        channel=_req(h, "channel"), uniqueid=_req(h, "uniqueid"), linkedid=_req(h, "linkedid"),
        timestamp=_ts(h),
        cause=_opt_int(h, "cause"),
    )


def _soft_hangup_request(h: _Headers) -> ev.SoftHangupRequest:
    return ev.SoftHangupRequest(
        channel=_req(h, "channel"), uniqueid=_req(h, "uniqueid"), linkedid=_req(h, "linkedid"),
        timestamp=_ts(h),
        cause=_opt_int(h, "cause"),
    )


def _originate_response(h: _Headers) -> ev.OriginateResponse:
    response = _req(h, "response")
    if response not in ("Success", "Failure"):
        raise _Bad(f"header 'response' is neither Success nor Failure: {response[:40]!r}")
    uniqueid = _opt(h, "uniqueid")
    return ev.OriginateResponse(
        action_id=_opt_none(h, "actionid"),
        success=response == "Success",
        reason=_int(h, "reason"),
        channel=_opt(h, "channel"),
        uniqueid=None if uniqueid in _NULL_IDS else uniqueid,
        timestamp=_ts(h),
        context=_opt(h, "context"),
        exten=_opt(h, "exten"),
        caller_id_num=_opt(h, "calleridnum"),
    )


def _bridge_enter(h: _Headers) -> ev.BridgeEnter:
    return ev.BridgeEnter(
        channel=_req(h, "channel"), uniqueid=_req(h, "uniqueid"), linkedid=_req(h, "linkedid"),
        bridge_uniqueid=_req(h, "bridgeuniqueid"),
        timestamp=_ts(h),
        bridge_num_channels=_opt_int(h, "bridgenumchannels"),
    )


def _bridge_leave(h: _Headers) -> ev.BridgeLeave:
    return ev.BridgeLeave(
        channel=_req(h, "channel"), uniqueid=_req(h, "uniqueid"), linkedid=_req(h, "linkedid"),
        bridge_uniqueid=_req(h, "bridgeuniqueid"),
        timestamp=_ts(h),
        bridge_num_channels=_opt_int(h, "bridgenumchannels"),
    )


def _fully_booted(h: _Headers) -> ev.FullyBooted:
    return ev.FullyBooted(uptime=_opt_int(h, "uptime"), last_reload=_opt_int(h, "lastreload"), status=_opt(h, "status"))


def _shutdown(h: _Headers) -> ev.Shutdown:
    return ev.Shutdown(shutdown=_opt(h, "shutdown"), restart=_opt(h, "restart").lower() in ("true", "yes", "1"))


# --- user events ---------------------------------------------------------------------------------


def _call_id(h: _Headers, linkedid: str) -> str:
    # The contract makes Linkedid == call_id on every channel of a call, so it stands in for a
    # missing CallID header (older dialplans, agent legs).
    return _opt(h, "callid") or linkedid


def _amd_result(h: _Headers) -> ev.AmdResult:
    linkedid = _req(h, "linkedid")
    return ev.AmdResult(
        call_id=_call_id(h, linkedid),
        status=_amd_status(_req(h, "amdstatus")),
        channel=_req(h, "channel"), uniqueid=_req(h, "uniqueid"), linkedid=linkedid,
        timestamp=_ts(h),
        cause=_opt(h, "amdcause"),
        lead_id=_opt_none(h, "leadid"),
    )


def _parked(h: _Headers) -> ev.Parked:
    linkedid = _req(h, "linkedid")
    return ev.Parked(
        call_id=_call_id(h, linkedid),
        channel=_req(h, "channel"), uniqueid=_req(h, "uniqueid"), linkedid=linkedid,
        timestamp=_ts(h),
        lead_id=_opt_none(h, "leadid"),
    )


def _connect_agent(h: _Headers) -> ev.ConnectAgent:
    linkedid = _req(h, "linkedid")
    return ev.ConnectAgent(
        call_id=_call_id(h, linkedid),
        agent=_req(h, "agent"),
        channel=_req(h, "channel"), uniqueid=_req(h, "uniqueid"), linkedid=linkedid,
        timestamp=_ts(h),
        lead_id=_opt_none(h, "leadid"),
    )


def _agent_answered(h: _Headers) -> ev.AgentAnswered:
    linkedid = _req(h, "linkedid")
    return ev.AgentAnswered(
        call_id=_call_id(h, linkedid),
        agent=_req(h, "agent"),
        channel=_req(h, "channel"), uniqueid=_req(h, "uniqueid"), linkedid=linkedid,
        timestamp=_ts(h),
    )


def _abandon_played(h: _Headers) -> ev.AbandonPlayed:
    linkedid = _req(h, "linkedid")
    return ev.AbandonPlayed(
        call_id=_call_id(h, linkedid),
        channel=_req(h, "channel"), uniqueid=_req(h, "uniqueid"), linkedid=linkedid,
        timestamp=_ts(h),
        lead_id=_opt_none(h, "leadid"),
    )


def _opt_out(h: _Headers) -> ev.OptOut:
    linkedid = _req(h, "linkedid")
    return ev.OptOut(
        call_id=_call_id(h, linkedid),
        channel=_req(h, "channel"), uniqueid=_req(h, "uniqueid"), linkedid=linkedid,
        timestamp=_ts(h),
        lead_id=_opt_none(h, "leadid"),
        campaign_id=_opt_none(h, "campaign"),
    )


def _recording(h: _Headers) -> ev.RecordingStarted:
    linkedid = _req(h, "linkedid")
    return ev.RecordingStarted(
        call_id=_call_id(h, linkedid),
        file=_req(h, "file"),
        channel=_req(h, "channel"), uniqueid=_req(h, "uniqueid"), linkedid=linkedid,
        timestamp=_ts(h),
        lead_id=_opt_none(h, "leadid"),
    )


def _leg_end(h: _Headers) -> ev.LegEnd:
    linkedid = _req(h, "linkedid")
    amd = _opt(h, "amdstatus")
    dial = _opt(h, "dialstatus")
    return ev.LegEnd(
        call_id=_call_id(h, linkedid),
        channel=_req(h, "channel"), uniqueid=_req(h, "uniqueid"), linkedid=linkedid,
        timestamp=_ts(h),
        amd_status=_amd_status(amd) if amd else None,
        dial_status=_dial_status(dial) if dial else None,
        hangup_cause=_opt_int(h, "hangupcause"),
        where=_opt(h, "where"),
        lead_id=_opt_none(h, "leadid"),
    )


def _trunk_result(h: _Headers) -> ev.TrunkResult:
    linkedid = _req(h, "linkedid")
    return ev.TrunkResult(
        call_id=_call_id(h, linkedid),
        dial_status=_dial_status(_req(h, "dialstatus")),
        hangup_cause=_int(h, "hangupcause"),
        channel=_req(h, "channel"), uniqueid=_req(h, "uniqueid"), linkedid=linkedid,
        timestamp=_ts(h),
    )


def _generic_user_event(h: _Headers, name: str) -> ev.UserEvent:
    fields = tuple(
        (k, v if v.__class__ is str else (_coerce(v) or "")) for k, v in h.items() if k not in _CHANNEL_KEYS
    )
    return ev.UserEvent(
        name=name,
        channel=_opt_none(h, "channel"), uniqueid=_opt_none(h, "uniqueid"), linkedid=_opt_none(h, "linkedid"),
        timestamp=_ts(h),
        fields=fields,
    )


_USER_PARSERS: dict[str, Callable[[_Headers], ev.AmiEvent]] = {
    "DialerAMD": _amd_result,
    "DialerParked": _parked,
    "DialerConnectAgent": _connect_agent,
    "AgentAnswered": _agent_answered,
    "DialerAbandonPlayed": _abandon_played,
    "DialerOptOut": _opt_out,
    "DialerRecording": _recording,
    "DialerLegEnd": _leg_end,
    "DialerTrunkResult": _trunk_result,
}
_USER_PARSERS_LOWER = {k.lower(): v for k, v in _USER_PARSERS.items()}
MODELLED_USER_EVENTS: frozenset[str] = frozenset(_USER_PARSERS)


def _user_event(h: _Headers) -> ev.AmiEvent:
    name = _req(h, "userevent")
    parser = _USER_PARSERS.get(name) or _USER_PARSERS_LOWER.get(name.lower())
    if parser is None:
        return _generic_user_event(h, name)
    return parser(h)


_PARSERS: dict[str, Callable[[_Headers], ev.AmiEvent]] = {
    "Newchannel": _newchannel,
    "Newstate": _newstate,
    "DialBegin": _dial_begin,
    "DialState": _dial_state,
    "DialEnd": _dial_end,
    "Hangup": _hangup,
    "HangupRequest": _hangup_request,
    "SoftHangupRequest": _soft_hangup_request,
    "OriginateResponse": _originate_response,
    "BridgeEnter": _bridge_enter,
    "BridgeLeave": _bridge_leave,
    "FullyBooted": _fully_booted,
    "Shutdown": _shutdown,
    "UserEvent": _user_event,
}
_PARSERS_LOWER = {k.lower(): v for k, v in _PARSERS.items()}
MODELLED_EVENTS: frozenset[str] = frozenset(_PARSERS)


def _headers(msg: Mapping[str, Any]) -> _Headers:
    # panoramisk's CaseInsensitiveDict keeps {lowercased key: (key, value)} in `_store`; reading it
    # skips a lower() per header. Anything else goes through the public Mapping API.
    store = getattr(msg, "_store", None)
    if store.__class__ is dict:
        return {k: kv[1] for k, kv in store.items()}  # type: ignore[union-attr]
    return {k.lower(): v for k, v in msg.items()}


def _malformed(name: str, h: _Headers | None, problem: str) -> ev.MalformedEvent:
    if h:
        uniqueid = h.get("uniqueid") or h.get("destuniqueid")
        if isinstance(uniqueid, str) and uniqueid:
            problem = f"{problem} (Uniqueid {uniqueid[:64]!r})"
    return ev.MalformedEvent(name, problem)


def parse_event(msg: Mapping[str, Any]) -> ev.AmiEvent:
    """Turn one AMI event (header mapping, keys in any case) into a typed event. Never raises."""
    name = ""
    h: _Headers | None = None
    try:
        h = _headers(msg)
        raw = h.get("event")
        name = raw if raw.__class__ is str else (_coerce(raw) or "")
        if not name:
            return ev.MalformedEvent("", "no 'Event' header: this is a response or not an AMI event at all")
        parser = _PARSERS.get(name) or _PARSERS_LOWER.get(name.lower())
        if parser is None:
            return ev.UnknownEvent(name)
        return parser(h)
    except _Bad as exc:
        return _malformed(name, h, str(exc))
    except Exception as exc:  # totality: whatever the input, the stream goes on
        return _malformed(name, h, f"unreadable message ({type(exc).__name__}: {str(exc)[:80]})")


def _duration(v: str) -> int:
    # CoreShowChannel sends HH:MM:SS (hours may exceed two digits); accept plain seconds too.
    if not v:
        return 0
    total = 0
    for part in v.split(":"):
        total = total * 60 + _to_int("duration", part)
    return total


def parse_channel_row(msg: Mapping[str, Any]) -> ev.ChannelRow | ev.MalformedEvent:
    """One `CoreShowChannel` event as a typed row; a MalformedEvent when it cannot be read. Never raises."""
    h: _Headers | None = None
    try:
        h = _headers(msg)
        return ev.ChannelRow(
            channel=_req(h, "channel"),
            uniqueid=_req(h, "uniqueid"),
            linkedid=_req(h, "linkedid"),
            state=_state(h, "channelstate"),
            context=_opt(h, "context"),
            exten=_opt(h, "exten"),
            application=_opt(h, "application"),
            application_data=_opt(h, "applicationdata"),
            duration=_duration(_opt(h, "duration")),
            bridge_id=_opt(h, "bridgeid"),
        )
    except _Bad as exc:
        return _malformed("CoreShowChannel", h, str(exc))
    except Exception as exc:
        return _malformed("CoreShowChannel", h, f"unreadable row ({type(exc).__name__}: {str(exc)[:80]})")
