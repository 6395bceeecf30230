"""Typed AMI events: what the rest of the dialer sees instead of header dicts.

Theory of operation: `dialer.ami.parse.parse_event` turns every AMI event into exactly one of the
classes below, once, at the edge. The engine then matches on types and compares enums; it never looks
up a header by name, so a typo is a mypy error instead of a silent empty string (panoramisk's
`Message.__getattr__` returns '' for a missing key).

Values Asterisk may extend are kept raw as well as typed: a Hangup `cause` is the int Asterisk sent
(Q.850 has more codes than we name) and `cause_enum` offers the `HangupCause` when it is one we know;
the same for an OriginateResponse `reason`. Closed vocabularies (channel state, dial status, our own
AMD statuses) are enums, and a value outside them makes the event a `MalformedEvent` rather than a
guess.

Identifiers (see docs/DIALPLAN_CONTRACT.md): our Originate sets `ChannelId = call_id`, so the customer
leg has `uniqueid == call_id` and every channel of the call has `linkedid == call_id`. The dialplan
UserEvents carry `CallID`; when one does not, `call_id` falls back to the channel's `Linkedid`, which
the contract makes the same value.

Three events do not come from Asterisk but from the client itself, into the same stream:
`AmiConnected`, `AmiDisconnected` and `OriginateFailed`.

The classes are frozen, slotted and keyword-only; don't subclass them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import TypeAlias

__all__ = [
    "AbandonPlayed", "AgentAnswered", "AmdResult", "AmdStatus", "AmiConnected", "AmiDisconnected",
    "AmiEvent", "BridgeEnter", "BridgeLeave", "ChannelRow", "ChannelState", "ConnectAgent", "DialBegin",
    "DialEnd", "DialState", "DialStatus", "FullyBooted", "Hangup", "HangupCause", "HangupRequest",
    "LegEnd", "MalformedEvent", "Newchannel", "Newstate", "OptOut", "OriginateFailed", "OriginateReason",
    "OriginateResponse", "Parked", "RecordingStarted", "Shutdown", "SoftHangupRequest", "TrunkResult",
    "UnknownEvent", "UserEvent",
]


class ChannelState(IntEnum):
    """Asterisk's `ast_channel_state` (the `ChannelState` header); congestion also shows BUSY."""

    DOWN = 0
    RSRVD = 1
    OFFHOOK = 2
    DIALING = 3
    RING = 4
    RINGING = 5
    UP = 6
    BUSY = 7
    DIALING_OFFHOOK = 8
    PRERING = 9
    UNKNOWN = 10


class HangupCause(IntEnum):
    """Q.850 cause codes as Asterisk names them (`causes.h`); 0 is what a failed Local `;1` leg gets."""

    NOT_DEFINED = 0
    UNALLOCATED = 1
    NO_ROUTE_TRANSIT_NET = 2
    NO_ROUTE_DESTINATION = 3
    MISDIALLED_TRUNK_PREFIX = 5
    CHANNEL_UNACCEPTABLE = 6
    CALL_AWARDED_DELIVERED = 7
    PRE_EMPTED = 8
    NUMBER_PORTED_NOT_HERE = 14
    NORMAL_CLEARING = 16
    USER_BUSY = 17
    NO_USER_RESPONSE = 18
    NO_ANSWER = 19
    SUBSCRIBER_ABSENT = 20
    CALL_REJECTED = 21
    NUMBER_CHANGED = 22
    REDIRECTED_TO_NEW_DESTINATION = 23
    ANSWERED_ELSEWHERE = 26
    DESTINATION_OUT_OF_ORDER = 27
    INVALID_NUMBER_FORMAT = 28
    FACILITY_REJECTED = 29
    RESPONSE_TO_STATUS_ENQUIRY = 30
    NORMAL_UNSPECIFIED = 31
    NORMAL_CIRCUIT_CONGESTION = 34
    NETWORK_OUT_OF_ORDER = 38
    NORMAL_TEMPORARY_FAILURE = 41
    SWITCH_CONGESTION = 42
    ACCESS_INFO_DISCARDED = 43
    REQUESTED_CHAN_UNAVAIL = 44
    FACILITY_NOT_SUBSCRIBED = 50
    OUTGOING_CALL_BARRED = 52
    INCOMING_CALL_BARRED = 54
    BEARERCAPABILITY_NOTAUTH = 57
    BEARERCAPABILITY_NOTAVAIL = 58
    BEARERCAPABILITY_NOTIMPL = 65
    CHAN_NOT_IMPLEMENTED = 66
    FACILITY_NOT_IMPLEMENTED = 69
    INVALID_CALL_REFERENCE = 81
    INCOMPATIBLE_DESTINATION = 88
    INVALID_MSG_UNSPECIFIED = 95
    MANDATORY_IE_MISSING = 96
    MESSAGE_TYPE_NONEXIST = 97
    WRONG_MESSAGE = 98
    IE_NONEXIST = 99
    INVALID_IE_CONTENTS = 100
    WRONG_CALL_STATE = 101
    RECOVERY_ON_TIMER_EXPIRE = 102
    MANDATORY_IE_LENGTH_ERROR = 103
    PROTOCOL_ERROR = 111
    INTERWORKING = 127


class OriginateReason(IntEnum):
    """OriginateResponse `Reason`: the last control frame Asterisk saw on the dialled leg."""

    FAILED = 0  # unreachable, invalid, unknown technology, or the far end stopped ringing
    HANGUP = 1
    NO_ANSWER = 3  # still ringing when our Originate Timeout expired
    ANSWERED = 4
    BUSY = 5
    CONGESTION = 8


class DialStatus(StrEnum):
    """`DialStatus` of DialState (progress values) and DialEnd (final values)."""

    RINGING = "RINGING"
    PROCEEDING = "PROCEEDING"
    PROGRESS = "PROGRESS"
    ANSWER = "ANSWER"
    BUSY = "BUSY"
    NOANSWER = "NOANSWER"
    CANCEL = "CANCEL"
    CONGESTION = "CONGESTION"
    CHANUNAVAIL = "CHANUNAVAIL"
    DONTCALL = "DONTCALL"
    TORTURE = "TORTURE"
    INVALIDARGS = "INVALIDARGS"
    ABORT = "ABORT"
    CONTINUE = "CONTINUE"
    GOTO = "GOTO"


class AmdStatus(StrEnum):
    """`AMDStatus` of our DialerAMD/DialerLegEnd user events (SKIPPED: AMD was off for this call)."""

    HUMAN = "HUMAN"
    MACHINE = "MACHINE"
    NOTSURE = "NOTSURE"
    HANGUP = "HANGUP"
    SKIPPED = "SKIPPED"


_CAUSES: dict[int, HangupCause] = {c.value: c for c in HangupCause}
_REASONS: dict[int, OriginateReason] = {r.value: r for r in OriginateReason}


def _cause(code: int | None) -> HangupCause | None:
    return None if code is None else _CAUSES.get(code)


# --- events from Asterisk ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Newchannel:
    """A channel was created."""

    channel: str
    uniqueid: str
    linkedid: str
    state: ChannelState
    timestamp: float | None = None
    context: str = ""
    exten: str = ""
    caller_id_num: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Newstate:
    """A channel changed state (Ringing, Up, Busy ...)."""

    channel: str
    uniqueid: str
    linkedid: str
    state: ChannelState
    timestamp: float | None = None
    connected_line_num: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DialBegin:
    """Dial() started ringing a destination. The caller side is absent when the dial is an Originate."""

    dest_channel: str
    dest_uniqueid: str
    dest_linkedid: str
    timestamp: float | None = None
    channel: str | None = None
    uniqueid: str | None = None
    linkedid: str | None = None
    dial_string: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DialState:
    """Progress of a dial (RINGING, PROCEEDING, PROGRESS)."""

    dest_channel: str
    dest_uniqueid: str
    dest_linkedid: str
    dial_status: DialStatus
    timestamp: float | None = None
    channel: str | None = None
    uniqueid: str | None = None
    linkedid: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DialEnd:
    """A dial finished (ANSWER, BUSY, NOANSWER, CONGESTION ...). Absent when our Originate timed out."""

    dest_channel: str
    dest_uniqueid: str
    dest_linkedid: str
    dial_status: DialStatus
    timestamp: float | None = None
    channel: str | None = None
    uniqueid: str | None = None
    linkedid: str | None = None
    forward: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Hangup:
    """A channel is gone. `cause` is the raw Q.850 code; compare it with `HangupCause` members."""

    channel: str
    uniqueid: str
    linkedid: str
    cause: int
    timestamp: float | None = None
    cause_txt: str = ""
    state: ChannelState | None = None

    @property
    def cause_enum(self) -> HangupCause | None:
        """The cause as a `HangupCause`, or None for a code we do not name."""
        return _cause(self.cause)


@dataclass(frozen=True, slots=True, kw_only=True)
class HangupRequest:
    """Someone asked a channel to hang up (e.g. our Originate Timeout fired: cause 19)."""

    channel: str
    uniqueid: str
    linkedid: str
    timestamp: float | None = None
    cause: int | None = None

    @property
    def cause_enum(self) -> HangupCause | None:
        """The cause as a `HangupCause`, or None when absent or unnamed."""
        return _cause(self.cause)


@dataclass(frozen=True, slots=True, kw_only=True)
class SoftHangupRequest:
    """A soft hang-up was requested on a channel (AMI Hangup action, Local channel teardown)."""

    channel: str
    uniqueid: str
    linkedid: str
    timestamp: float | None = None
    cause: int | None = None

    @property
    def cause_enum(self) -> HangupCause | None:
        """The cause as a `HangupCause`, or None when absent or unnamed."""
        return _cause(self.cause)


@dataclass(frozen=True, slots=True, kw_only=True)
class OriginateResponse:
    """The outcome of an `Async` Originate. `uniqueid` is None when Asterisk sent `<unknown>`/`<null>`."""

    action_id: str | None
    success: bool
    reason: int
    channel: str
    uniqueid: str | None
    timestamp: float | None = None
    context: str = ""
    exten: str = ""
    caller_id_num: str = ""

    @property
    def call_id(self) -> str | None:
        """Our call id: the contract sends it as the Originate's ActionID."""
        return self.action_id

    @property
    def reason_enum(self) -> OriginateReason | None:
        """The reason as an `OriginateReason`, or None for a value we do not name."""
        return _REASONS.get(self.reason)


@dataclass(frozen=True, slots=True, kw_only=True)
class BridgeEnter:
    """A channel entered a bridge: for the customer leg, the call is connected to an agent."""

    channel: str
    uniqueid: str
    linkedid: str
    bridge_uniqueid: str
    timestamp: float | None = None
    bridge_num_channels: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BridgeLeave:
    """A channel left a bridge."""

    channel: str
    uniqueid: str
    linkedid: str
    bridge_uniqueid: str
    timestamp: float | None = None
    bridge_num_channels: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FullyBooted:
    """Asterisk finished booting; sent right after every login."""

    uptime: int | None = None
    last_reload: int | None = None
    status: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Shutdown:
    """Asterisk is shutting down; the connection ends right after."""

    shutdown: str = ""
    restart: bool = False


# --- our dialplan's user events (docs/DIALPLAN_CONTRACT.md) --------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AmdResult:
    """`UserEvent: DialerAMD`: answering-machine detection finished on the answered leg."""

    call_id: str
    status: AmdStatus
    channel: str
    uniqueid: str
    linkedid: str
    timestamp: float | None = None
    cause: str = ""
    lead_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Parked:
    """`UserEvent: DialerParked`: the answered leg waits in `dialer-connect` for us to move it."""

    call_id: str
    channel: str
    uniqueid: str
    linkedid: str
    timestamp: float | None = None
    lead_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectAgent:
    """`UserEvent: DialerConnectAgent`: the customer leg reached `dialer-to-agent` and dials the agent."""

    call_id: str
    agent: str
    channel: str
    uniqueid: str
    linkedid: str
    timestamp: float | None = None
    lead_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentAnswered:
    """`UserEvent: AgentAnswered`: the agent's endpoint answered (agent side of the call)."""

    call_id: str
    agent: str
    channel: str
    uniqueid: str
    linkedid: str
    timestamp: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AbandonPlayed:
    """`UserEvent: DialerAbandonPlayed`: the abandon message was played to the customer."""

    call_id: str
    channel: str
    uniqueid: str
    linkedid: str
    timestamp: float | None = None
    lead_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OptOut:
    """`UserEvent: DialerOptOut`: the person pressed the opt-out key after a recorded message (the abandon
    message, or an agentless campaign's): a do-not-call request, final across campaigns."""

    call_id: str
    channel: str
    uniqueid: str
    linkedid: str
    timestamp: float | None = None
    lead_id: str | None = None
    campaign_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingStarted:
    """`UserEvent: DialerRecording` from `dialer-record`: MixMonitor is attached to the customer leg and
    writes `file` (Asterisk's own MIXMONITOR_FILENAME) while the leg is bridged."""

    call_id: str
    file: str
    channel: str
    uniqueid: str
    linkedid: str
    timestamp: float | None = None
    lead_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LegEnd:
    """`UserEvent: DialerLegEnd` from the `h` extension: how the customer leg ended.

    Each field is None when the dialplan variable was empty (AMD off, no Dial yet ...).
    """

    call_id: str
    channel: str
    uniqueid: str
    linkedid: str
    timestamp: float | None = None
    amd_status: AmdStatus | None = None
    dial_status: DialStatus | None = None
    hangup_cause: int | None = None
    where: str = ""
    lead_id: str | None = None

    @property
    def hangup_cause_enum(self) -> HangupCause | None:
        """`hangup_cause` as a `HangupCause`, or None when absent or unnamed."""
        return _cause(self.hangup_cause)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrunkResult:
    """`UserEvent: DialerTrunkResult`: the outbound leg's `Dial()` to the carrier failed, and why.

    Sent from the `;2` leg in `dialer-outbound` before it fails the Local channel, so it precedes the
    OriginateResponse (and, for an agent-leg-first call, the customer leg's DialEnd). `hangup_cause`
    is the carrier's cause: app_dial reports every cause but 16, 17, 19 and 34 as CHANUNAVAIL, so only
    the cause tells an unallocated number (1) from a temporary failure.
    """

    call_id: str
    dial_status: DialStatus
    hangup_cause: int
    channel: str
    uniqueid: str
    linkedid: str
    timestamp: float | None = None

    @property
    def hangup_cause_enum(self) -> HangupCause | None:
        """`hangup_cause` as a `HangupCause`, or None for a code we do not name."""
        return _cause(self.hangup_cause)


@dataclass(frozen=True, slots=True, kw_only=True)
class UserEvent:
    """Any other `UserEvent`. `fields` are its own headers (not the channel ones), keys lowercased."""

    name: str
    channel: str | None = None
    uniqueid: str | None = None
    linkedid: str | None = None
    timestamp: float | None = None
    fields: tuple[tuple[str, str], ...] = ()

    def get(self, key: str, default: str | None = None) -> str | None:
        """Value of one of the event's own headers, case-insensitive."""
        low = key.lower()
        for k, v in self.fields:
            if k == low:
                return v
        return default


@dataclass(frozen=True, slots=True)
class UnknownEvent:
    """An AMI event we deliberately do not model (Newexten, VarSet, DeviceStateChange ...)."""

    name: str


@dataclass(frozen=True, slots=True)
class MalformedEvent:
    """An event whose required headers are missing or unreadable; `problem` says which and why."""

    name: str
    problem: str


# --- events the client itself puts into the stream -----------------------------------------------


@dataclass(frozen=True, slots=True)
class AmiConnected:
    """Logged in to AMI. After a reconnect (`reconnect=True`) the engine must resync its calls."""

    reconnect: bool = False


@dataclass(frozen=True, slots=True)
class AmiDisconnected:
    """The AMI connection is gone (dropped, half-open, Shutdown); the client is reconnecting."""

    reason: str


@dataclass(frozen=True, slots=True)
class OriginateFailed:
    """An Originate got no OriginateResponse: refused by Asterisk, timed out, or the connection died.

    `may_exist` is True when the action reached Asterisk and the call may be ringing anyway (timeout,
    connection lost after sending): check CoreShowChannels for `uniqueid == call_id` before redialing.
    After a timeout, Asterisk's late OriginateResponse, if any, still arrives as an ordinary event.
    `sent` is False when the action never left the daemon (no connection, or the client refused it):
    no call was tried, so the lead goes back to its source with no attempt counted.
    """

    call_id: str
    error: str
    may_exist: bool = False
    sent: bool = True


# --- rows of CoreShowChannels --------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelRow:
    """One live channel from CoreShowChannels; `duration` in whole seconds."""

    channel: str
    uniqueid: str
    linkedid: str
    state: ChannelState
    context: str = ""
    exten: str = ""
    application: str = ""
    application_data: str = ""
    duration: int = 0
    bridge_id: str = ""


AmiEvent: TypeAlias = (
    Newchannel | Newstate | DialBegin | DialState | DialEnd | Hangup | HangupRequest | SoftHangupRequest
    | OriginateResponse | BridgeEnter | BridgeLeave | FullyBooted | Shutdown | AmdResult | Parked |
    ConnectAgent | AgentAnswered | AbandonPlayed | OptOut | RecordingStarted | LegEnd | TrunkResult | UserEvent |
    UnknownEvent | MalformedEvent |
    AmiConnected | AmiDisconnected | OriginateFailed
)
"""Everything `AmiClient.events()` can yield."""
