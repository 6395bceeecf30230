"""What the simulated PBX holds: channels, bridges, calls, and the public record of each call.

A dial is a `Call`: a pair of Local channels (`;1` faces the dialer's dialplan, `;2` plays the far end),
like Asterisk's `Local/<digits>@<context>` when the far end is a dialplan (the `sim-pstn` of the real
transcript). An agent leg is a `Call` of kind `AGENT`. The call's `phase` is an explicit state machine
(`LEGAL` below); a move the table does not allow raises `IllegalTransition`, so a flow bug in the
simulator shows up as an error instead of a silently wrong event stream.

`CallRecord` is what tests and benchmarks read (`sim.calls[call_id]`): the true fate drawn from the
traffic model, what happened, and when. It outlives the channels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from dialer.errors import IllegalTransition
from pacing.traffic import DialFate

from .fate import FarEnd
from .render import STATE_DESC, channel_template
from .scheduler import Timer

__all__ = [
    "LEGAL",
    "Bridge",
    "Call",
    "CallKind",
    "CallRecord",
    "Channel",
    "OriginateRequest",
    "Phase",
    "Responder",
    "SimOutcome",
]

DOWN, RING, RINGING, UP, BUSY = 0, 4, 5, 6, 7  # ChannelState values a Local channel goes through


class Channel:
    """One channel. Its snapshot headers are rendered once per change and cached (see `render`)."""

    __slots__ = (
        "_blocks",
        "account",
        "app",
        "appdata",
        "call",
        "cid_name",
        "cid_num",
        "conn_name",
        "conn_num",
        "context",
        "created",
        "exten",
        "linkedid",
        "name",
        "priority",
        "state",
        "uniqueid",
    )

    def __init__(
        self, name: str, uniqueid: str, linkedid: str, state: int, context: str, exten: str, created: float
    ) -> None:
        self.name = name
        self.uniqueid = uniqueid
        self.linkedid = linkedid
        self.state = state
        self.context = context
        self.exten = exten
        self.priority = 1
        self.cid_num = self.cid_name = self.conn_num = self.conn_name = "<unknown>"
        self.account = ""
        self.app = "AppDial2"
        self.appdata = "(Outgoing Line)"
        self.created = created
        self.call: Call | None = None
        self._blocks: dict[str, bytes] = {}

    def block(self, prefix: str = "") -> bytes:
        """The snapshot headers (`Channel:` .. `Linkedid:`), keys prefixed as in DialBegin's `Dest...`."""
        got = self._blocks.get(prefix)
        if got is None:
            got = (
                channel_template(prefix)
                .format(
                    self.name,
                    self.state,
                    STATE_DESC.get(self.state, "Unknown"),
                    self.cid_num,
                    self.cid_name,
                    self.conn_num,
                    self.conn_name,
                    "en",
                    self.account,
                    self.context,
                    self.exten,
                    self.priority,
                    self.uniqueid,
                    self.linkedid,
                )
                .encode()
            )
            self._blocks[prefix] = got
        return got

    def set_state(self, state: int) -> None:
        self.state = state
        self._blocks.clear()

    def goto(self, context: str, exten: str, priority: int) -> None:
        self.context, self.exten, self.priority = context, exten, priority
        self._blocks.clear()

    def set_priority(self, priority: int) -> None:
        self.priority = priority
        self._blocks.clear()

    def set_linkedid(self, linkedid: str) -> None:
        self.linkedid = linkedid
        self._blocks.clear()

    def set_ids(self, cid: tuple[str, str], conn: tuple[str, str]) -> None:
        (self.cid_num, self.cid_name), (self.conn_num, self.conn_name) = cid, conn
        self._blocks.clear()

    def set_app(self, app: str, data: str) -> None:
        self.app, self.appdata = app, data

    @property
    def state_desc(self) -> str:
        return STATE_DESC.get(self.state, "Unknown")


class Bridge:
    """A basic bridge; `members` in the order they entered."""

    __slots__ = ("members", "uniqueid")

    def __init__(self, uniqueid: str) -> None:
        self.uniqueid = uniqueid
        self.members: list[Channel] = []

    def block(self) -> bytes:
        return (
            f"BridgeUniqueid: {self.uniqueid}\r\nBridgeType: basic\r\nBridgeTechnology: simple_bridge\r\n"
            f"BridgeCreator: <unknown>\r\nBridgeName: <unknown>\r\nBridgeNumChannels: {len(self.members)}\r\n"
            "BridgeVideoSourceMode: none\r\n"
        ).encode()


class CallKind(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"


class Phase(StrEnum):
    """Where a call's `;1` leg is. DIALING covers ringing; AGENT_DIAL is `Dial()` to an agent ringing."""

    DIALING = "dialing"
    AMD = "amd"
    PARKED = "parked"
    APP = "app"
    AGENT_DIAL = "agent_dial"
    CONNECTED = "connected"
    BRIDGED = "bridged"
    ABANDON = "abandon"
    HANGING_UP = "hanging_up"  # the far end left a parked leg; its `h` extension runs (PbxConfig.h_extension_s)
    ENDED = "ended"


_ANSWERED = frozenset({Phase.AMD, Phase.PARKED, Phase.APP, Phase.AGENT_DIAL, Phase.ABANDON, Phase.ENDED})
LEGAL: dict[Phase, frozenset[Phase]] = {
    Phase.DIALING: _ANSWERED | {Phase.CONNECTED},  # an agent leg answered inside Dial() is connected
    Phase.AMD: _ANSWERED | {Phase.BRIDGED},
    Phase.PARKED: _ANSWERED | {Phase.BRIDGED, Phase.HANGING_UP},
    Phase.APP: _ANSWERED | {Phase.BRIDGED},
    Phase.AGENT_DIAL: _ANSWERED | {Phase.CONNECTED},
    Phase.CONNECTED: _ANSWERED,
    Phase.BRIDGED: _ANSWERED,
    Phase.ABANDON: _ANSWERED | {Phase.BRIDGED},
    Phase.HANGING_UP: frozenset({Phase.ENDED}),
    Phase.ENDED: frozenset(),
}


class SimOutcome(StrEnum):
    """What happened to a dial in the simulator (the drawn `DialFate` says what the far end would do)."""

    PENDING = "pending"
    FAILED = "failed"  # no channel at all: unknown technology, bad dial string, uniqueid in use
    BUSY = "busy"
    CONGESTION = "congestion"
    INVALID = "invalid"  # unallocated number, cause 1
    NO_ANSWER_TIMEOUT = "no_answer_timeout"  # our Originate Timeout fired (Reason 3)
    NO_ANSWER_REMOTE = "no_answer_remote"  # the far end stopped ringing first (Reason 0)
    CANCELLED = "cancelled"  # the dialer hung up while it rang (Reason 1)
    EARLY_HANGUP = "early_hangup"  # the person hung up during AMD
    HUNG_UP_BY_DIALER = "hung_up_by_dialer"  # answered, never connected, the dialer hung up
    FAR_HANGUP_WAITING = "far_hangup_waiting"  # answered, waited unconnected, then hung up (patience)
    ABANDONED = "abandoned"  # sent to dialer-abandon: the message played
    DELIVERED = "delivered"  # a person sent to dialer-agentless,s: the campaign's message (they may hang up first)
    CONNECTED = "connected"  # reached an agent (see `ended_by` for who hung up)


@dataclass(slots=True)
class CallRecord:
    """The truth about one dial, for assertions. Times are virtual seconds (the injected clock)."""

    call_id: str
    action_id: str | None
    number: str
    nth: int
    fate: DialFate | None
    amd_enabled: bool
    lead_id: str = ""
    campaign: str = ""
    early_hangup: bool = False
    outcome: SimOutcome = SimOutcome.PENDING
    originate_reason: int | None = None
    amd_status: str = ""
    agent: str | None = None
    ended_by: str | None = None  # "far_end" | "dialer" | "timeout" | "dialplan"
    hangup_cause: int | None = None
    originated_at: float = 0.0
    answered_at: float | None = None
    amd_at: float | None = None
    parked_at: float | None = None
    connected_at: float | None = None
    abandon_at: float | None = None
    opted_out: bool = False  # pressed the opt-out key after the abandon message
    recording: str = ""  # the file dialer-record's MixMonitor writes (campaigns that record)
    ended_at: float | None = None
    phases: list[str] = field(default_factory=list)  # the call's phase history: ["dialing", "amd", ...]

    @property
    def done(self) -> bool:
        return self.ended_at is not None


class Responder(Protocol):
    """Where a deferred response goes (the AMI session that sent a synchronous Originate)."""

    def send(self, data: bytes) -> None: ...


@dataclass(slots=True)
class OriginateRequest:
    """A parsed `Originate` action (see `actions.parse_originate`)."""

    action_id: str | None
    channel: str
    tech: str
    data: str
    context: str
    exten: str
    priority: int
    app: str
    appdata: str
    timeout_s: float
    cid_num: str
    cid_name: str
    is_async: bool
    channel_id: str
    other_channel_id: str
    variables: dict[str, str]
    account: str = ""
    session: Responder | None = None


class Call:
    """A live Local pair and its flow state; removed from the PBX when both legs are gone."""

    __slots__ = (
        "agent_ext",
        "bridge",
        "caller",
        "far",
        "from_dial",
        "kind",
        "one",
        "orig",
        "peer",
        "phase",
        "record",
        "timers",
        "two",
        "vars",
    )

    def __init__(self, kind: CallKind, one: Channel, two: Channel, vars_: dict[str, str]) -> None:
        self.kind = kind
        self.one = one
        self.two = two
        self.vars = vars_
        self.phase = Phase.DIALING
        self.record: CallRecord | None = None
        self.far: FarEnd | None = None  # customer calls: what the far end will do
        self.orig: OriginateRequest | None = None  # pending until its OriginateResponse is sent
        self.peer: Call | None = None  # customer <-> agent pair while connected or dialling the agent
        self.bridge: Bridge | None = None
        self.from_dial = False  # an agent pair created by Dial() in dialer-to-agent
        # a customer pair an agent leg's Dial() made (dialer-agent-dial): that agent leg, while the Dial() runs
        # (ringing, or bridged to it); None once it returned
        self.caller: Call | None = None
        self.agent_ext = ""
        self.timers: dict[str, Timer] = {}
        one.call = two.call = self

    def move(self, to: Phase) -> None:
        """Change phase, or raise `IllegalTransition` if the table forbids it."""
        if to not in LEGAL[self.phase]:
            raise IllegalTransition("pbxsim call", self.one.uniqueid, self.phase.value, f"move to {to.value}")
        self.phase = to
        if self.record is not None:
            self.record.phases.append(to.value)

    def cancel(self, *names: str) -> None:
        """Cancel the named timers (all of them when no name is given)."""
        for name in names or tuple(self.timers):
            timer = self.timers.pop(name, None)
            if timer is not None:
                timer.cancel()

    @property
    def call_id(self) -> str:
        return self.vars.get("DIALER_CALL_ID", "")

    @property
    def lead_id(self) -> str:
        return self.vars.get("DIALER_LEAD", self.vars.get("LEADID", ""))
