"""The call lifecycle as a transition table.

    PENDING --originate--> DIALING --ring--> RINGING --answer--> SCREENING (AMD listening)
    SCREENING --human--> WAITING (no agent yet: the 2-second abandon clock runs)
    SCREENING|WAITING --assign--> CONNECTING (Redirect to the agent sent) --bridge--> CONNECTED
    SCREENING --machine--> MACHINE (hang-up sent)
    SCREENING --audit--> AUDITING (a machine verdict sampled for the AMD audit: Redirect to a spare agent sent)
    AUDITING --bridge--> CONNECTED (the agent hears who it is and says so in the disposition)
    AUDITING --unassign--> MACHINE (the Redirect failed: hung up as usual)
    WAITING --abandon--> ABANDONING (Redirect to the information message sent)
    DELIVERING --abandon--> ABANDONING (agentless: Asterisk refused the Redirect to the message while the
        person was on the line; they get the information message, not silence)
    CONNECTED --transfer--> TRANSFERRING (blind transfer: Redirect to the target sent) --bridge--> CONNECTED
    TRANSFERRING --transfer_fail--> TRANSFER_FALLBACK (the target's phone did not take it: the customer is
        redirected back to the first agent, else to the supervisor) --bridge--> CONNECTED
    TRANSFER_FALLBACK --transfer_fail--> TRANSFER_FALLBACK (the next fallback; none left: end TRANSFER_FAILED)
    SCREENING --deliver--> DELIVERING (agentless campaigns: a person, or a machine when the campaign leaves
        it the message, is Redirected to the recorded message or IVR; its hang-up ends DELIVERED or
        MACHINE_MESSAGE, or HUNG_UP_BEFORE_MESSAGE (a machine: MACHINE) when the leg's DialerLegEnd said it
        ended still parked, the Redirect in flight; see `dialer.engine.agentless`)
    any state --end--> ENDED

Agent-leg-first calls (preview and manual dialing, `kind` PREVIEW or MANUAL) start elsewhere: the
Originate rings the agent's phone first, and the dialplan dials the customer once the agent answered.

    PENDING --ring_agent--> AGENT_RINGING --agent_up--> DIALING --ring--> RINGING
    DIALING|RINGING --pickup--> CONNECTED (the customer answered inside the agent's Dial(): no AMD, no wait)

One `Call` per Originate, keyed by our `call_id`, which Asterisk also uses as the customer leg's
Uniqueid (`ChannelId` on the Originate), so every AMI event of the call finds it in one dict lookup.
An event that does not fit the table raises `IllegalTransition` and leaves the call unchanged; the
engine logs it and goes on (AMI can reorder or repeat events across a reconnect).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from dialer.errors import IllegalTransition

__all__ = ["TRANSFER_STATES", "TRANSITIONS", "Call", "CallEvent", "CallKind", "CallOutcome", "CallState",
           "TransferPlan"]


class CallState(StrEnum):
    PENDING = "pending"
    DIALING = "dialing"
    RINGING = "ringing"
    SCREENING = "screening"
    WAITING = "waiting"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    MACHINE = "machine"
    AUDITING = "auditing"
    ABANDONING = "abandoning"
    AGENT_RINGING = "agent_ringing"
    TRANSFERRING = "transferring"
    TRANSFER_FALLBACK = "transfer_fallback"
    DELIVERING = "delivering"
    ENDED = "ended"


class CallEvent(StrEnum):
    ORIGINATE = "originate"
    RING = "ring"
    ANSWER = "answer"
    HUMAN = "human"
    MACHINE = "machine"
    AUDIT = "audit"
    ASSIGN = "assign"
    UNASSIGN = "unassign"
    BRIDGE = "bridge"
    ABANDON = "abandon"
    RING_AGENT = "ring_agent"
    AGENT_UP = "agent_up"
    PICKUP = "pickup"
    TRANSFER = "transfer"
    TRANSFER_FAIL = "transfer_fail"
    DELIVER = "deliver"
    END = "end"


class CallKind(StrEnum):
    """Who started the call: the pacer (predictive, progressive, power), or an agent (preview, manual, and
    callback: a callback the agent kept for themselves, offered back to them as a preview when due)."""

    PREDICTIVE = "predictive"
    PREVIEW = "preview"
    MANUAL = "manual"
    CALLBACK = "callback"


class CallOutcome(StrEnum):
    """How a call ended, as written in its call record."""

    CONNECTED = "connected"  # a person talked to an agent
    ABANDONED = "abandoned"  # a person answered and no agent was connected within 2 s
    HUNG_UP_WAITING = "hung_up_waiting"  # the person hung up before the 2 s were up: still an abandon
    HUNG_UP_SCREENING = "hung_up_screening"  # hung up while AMD listened
    MACHINE = "machine"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    CONGESTION = "congestion"
    INVALID = "invalid"
    FAILED = "failed"
    LOST = "lost"  # Asterisk lost track of it (AMI outage and no channel afterwards)
    TRANSFER_FAILED = "transfer_failed"  # talked to an agent; the transfer and every fallback failed (no abandon)
    DELIVERED = "delivered"  # agentless: a person got the recorded message or IVR (not an abandon)
    MACHINE_MESSAGE = "machine_message"  # agentless: the message was left on an answering machine
    HUNG_UP_BEFORE_MESSAGE = "hung_up_before_message"  # agentless: a person hung up before the message (no abandon)


@dataclass(frozen=True, slots=True)
class TransferPlan:
    """Where a blind transfer's customer goes when a leg fails, and how long each leg may ring."""

    supervisor_extension: str
    ring_timeout_s: float


C, V = CallState, CallEvent
TRANSFER_STATES = (C.TRANSFERRING, C.TRANSFER_FALLBACK)
_PRE_ANSWER = (C.PENDING, C.DIALING, C.RINGING)
_AGENT_FIRST_PRE_ANSWER = (C.PENDING, C.AGENT_RINGING, C.DIALING, C.RINGING)
TRANSITIONS: dict[tuple[CallState, CallEvent], CallState] = {
    (C.PENDING, V.ORIGINATE): C.DIALING,
    (C.DIALING, V.RING): C.RINGING,
    (C.RINGING, V.RING): C.RINGING,
    (C.DIALING, V.ANSWER): C.SCREENING,
    (C.RINGING, V.ANSWER): C.SCREENING,
    (C.SCREENING, V.HUMAN): C.WAITING,
    (C.SCREENING, V.MACHINE): C.MACHINE,
    (C.SCREENING, V.AUDIT): C.AUDITING,
    (C.AUDITING, V.BRIDGE): C.CONNECTED,
    (C.AUDITING, V.UNASSIGN): C.MACHINE,
    (C.WAITING, V.ASSIGN): C.CONNECTING,
    (C.CONNECTING, V.UNASSIGN): C.WAITING,
    (C.CONNECTING, V.BRIDGE): C.CONNECTED,
    (C.WAITING, V.ABANDON): C.ABANDONING,
    (C.CONNECTING, V.ABANDON): C.ABANDONING,
    (C.DELIVERING, V.ABANDON): C.ABANDONING,
    (C.PENDING, V.RING_AGENT): C.AGENT_RINGING,
    (C.AGENT_RINGING, V.AGENT_UP): C.DIALING,
    (C.DIALING, V.PICKUP): C.CONNECTED,
    (C.RINGING, V.PICKUP): C.CONNECTED,
    (C.CONNECTED, V.TRANSFER): C.TRANSFERRING,
    (C.TRANSFERRING, V.BRIDGE): C.CONNECTED,
    (C.TRANSFERRING, V.TRANSFER_FAIL): C.TRANSFER_FALLBACK,
    (C.TRANSFER_FALLBACK, V.TRANSFER_FAIL): C.TRANSFER_FALLBACK,
    (C.TRANSFER_FALLBACK, V.BRIDGE): C.CONNECTED,
    (C.SCREENING, V.DELIVER): C.DELIVERING,
    **{(s, V.END): C.ENDED for s in CallState if s is not C.ENDED},
}


@dataclass(slots=True)
class Call:
    """One dial and everything known about it. Times are the engine's `now` (epoch seconds)."""

    call_id: str
    campaign_id: str
    lead_id: str
    number: str
    attempt: int = 1
    number_index: int = 0
    fields: dict[str, str] = field(default_factory=dict)
    state: CallState = CallState.PENDING
    channel: str | None = None
    created_at: float = 0.0
    originated_at: float | None = None
    answered_at: float | None = None
    human_at: float | None = None
    connected_at: float | None = None
    human_pbx_ts: float | None = None  # the PBX's own Timestamp of the verdict and of the bridge:
    connected_pbx_ts: float | None = None  # the legal wait is measured on the PBX's clock

    ended_at: float | None = None
    abandon_deadline: float | None = None
    agent_id: str | None = None
    amd_status: str | None = None
    amd_cause: str | None = None
    dial_status: str | None = None
    hangup_cause: int | None = None
    trunk_status: str | None = None  # the carrier leg's failed Dial(): DialerTrunkResult's DialStatus
    trunk_cause: int | None = None  # ... and its HangupCause, which says why (see `dialer.engine.failures`)
    outcome: CallOutcome | None = None
    abandoned: bool = False
    live_counted_at: float | None = None  # connected in time: when the ledger counted its live answer
    callback_agent: str | None = None
    callback_at: float | None = None  # a scheduled callback: the time it was promised for
    zone: str | None = None  # the called person's time zone (reports by their local hour)
    lead_list: str | None = None  # the lead list the lead came from (reports by list)
    record: bool = False  # its campaign records conversations: the dialplan writes <call id>.wav once bridged
    recording: str = ""  # the file MixMonitor writes, as Asterisk reported it (DialerRecording)
    amd_audit: bool = False  # went through AUDITING: a machine verdict handed to an agent (kept for the record)
    target: object | None = None  # the hopper's DialTarget, handed back with the result
    kind: CallKind = CallKind.PREDICTIVE
    customer_uid: str | None = None  # agent-leg-first calls: the customer leg the agent's Dial() made
    customer_channel: str | None = None
    transferred_from: str | None = None  # the agent who blind-transferred the call to `agent_id`
    transfer_plan: TransferPlan | None = None
    transfer_leg: str | None = None  # the Uniqueid the customer's Dial() rings in `dialer-transfer` (DialBegin)
    transfer_failures: list[tuple[str, str]] = field(default_factory=list)  # (who the leg rang, why it failed)
    message: str | None = None  # agentless: the recorded message (or IVR) the call was sent to
    delivered_at: float | None = None  # agentless: when the Redirect to the message was sent
    to_machine: bool = False  # agentless: the message was left on an answering machine
    message_missed: bool = False  # agentless: DialerLegEnd said the leg ended still parked, before the message
    surplus_hangup_at: float | None = None  # the pacer had it hung up while it rang (`Decision.hangup`)
    cut_at: float | None = None  # the engine hung it up while it rang, for whatever reason (a surplus one too)
    ringing_at: float | None = None  # the first Newstate Ringing: the called phone rang from here
    ring_limit_s: float | None = None  # the engine hangs it up once it has rung this long (None: it never does)
    adopted: bool = False  # left in Asterisk by an earlier daemon process and taken over (`dialer.engine.orphans`)
    stuck_at: float | None = None  # past its ring timeout unresolved: when a look at its channel was asked for

    @property
    def agent_first(self) -> bool:
        """Rung on the agent's phone first (preview, manual): `call_id` is then the agent leg's Uniqueid."""
        return self.kind is not CallKind.PREDICTIVE

    @property
    def customer_uniqueid(self) -> str | None:
        """The Uniqueid of the customer leg (the call id itself for a predictive call)."""
        return self.customer_uid if self.agent_first else self.call_id

    @property
    def customer_leg(self) -> str | None:
        """The channel to Redirect to move the customer (a transfer)."""
        return self.customer_channel if self.agent_first else self.channel

    def apply(self, event: CallEvent) -> CallState:
        nxt = TRANSITIONS.get((self.state, event))
        if nxt is None:
            raise IllegalTransition("call", self.call_id, self.state.value, event.value)
        self.state = nxt
        return nxt

    @property
    def dialed_at(self) -> float:
        """When the dial began: the Originate, or the call's creation when it had none yet."""
        return self.originated_at if self.originated_at is not None else self.created_at

    @property
    def is_pre_answer(self) -> bool:
        return self.state in (_AGENT_FIRST_PRE_ANSWER if self.agent_first else _PRE_ANSWER)

    @property
    def wait_s(self) -> float | None:
        """Seconds the person waited after their greeting, until an agent or the end.

        When Asterisk stamped both the verdict and the bridge (`timestampevents=yes`), the wait is
        taken from those stamps: it is what the person lived, and it does not depend on how quickly
        events reached us. Otherwise the daemon's own receipt times are used.
        """
        if self.human_pbx_ts is not None and self.connected_pbx_ts is not None:
            return max(0.0, self.connected_pbx_ts - self.human_pbx_ts)
        if self.human_at is None:
            return None
        until = self.connected_at if self.connected_at is not None else self.ended_at
        return None if until is None else max(0.0, until - self.human_at)

    @property
    def talk_s(self) -> float | None:
        if self.connected_at is None or self.ended_at is None:
            return None
        return max(0.0, self.ended_at - self.connected_at)
