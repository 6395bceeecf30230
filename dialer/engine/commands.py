"""What the engine asks the daemon to do. The daemon executes them; the engine never does I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dialer.engine.records import CallRecord, Undisposed
from pacing.ledger import LedgerEntry

if TYPE_CHECKING:
    from dialer.engine.calls import Call
    from dialer.engine.core import DialRequest

__all__ = [
    "ABANDON_CONTEXT",
    "AGENT_CONTEXT",
    "AgentNotice",
    "AutoDialPreview",
    "CheckChannels",
    "Command",
    "DispositionMade",
    "ForgetUndisposed",
    "HangupChannel",
    "KeepUndisposed",
    "Originate",
    "OriginateAgentFirst",
    "RecordLedger",
    "RecordOptOut",
    "Redirect",
    "ReturnLead",
    "ScreenPop",
    "WriteCallRecord",
    "hang_up",
]


@dataclass(frozen=True, slots=True)
class Originate:
    call_id: str
    campaign_id: str
    lead_id: str
    number: str
    amd: bool
    ring_timeout_s: float
    caller_id_name: str
    caller_id_number: str
    message: str = ""  # agentless campaigns: the sound file, passed as DIALER_MESSAGE ("": none passed)
    record: bool = False  # the dialplan records the conversation with the agent (DIALER_RECORD=1)


@dataclass(frozen=True, slots=True)
class OriginateAgentFirst:
    """Ring the agent's phone, then dial the customer from it (preview and manual dialing)."""

    call_id: str
    campaign_id: str
    lead_id: str
    number: str
    agent_id: str
    extension: str
    ring_timeout_s: float
    caller_id_name: str
    caller_id_number: str
    record: bool = False  # as `Originate.record`

ABANDON_CONTEXT = "dialer-abandon"  # the dialplan context that plays the information message, then hangs up
AGENT_CONTEXT = "dialer-to-agent"  # the dialplan context that rings the agent (extension) and bridges the call


@dataclass(frozen=True, slots=True)
class Redirect:
    """Move the customer leg to a dialplan location: to an agent, or to the abandon message."""

    call_id: str
    channel: str
    context: str
    exten: str
    purpose: str  # "agent", "abandon", "transfer" or "agentless"
    agent_id: str | None = None


@dataclass(frozen=True, slots=True)
class HangupChannel:
    call_id: str
    channel: str
    cause: int = 16


def hang_up(c: Call) -> list[Command]:
    """Hang up the call's customer leg (cause 16), or nothing while no channel is known for it yet."""
    return [HangupChannel(c.call_id, c.channel, 16)] if c.channel else []


@dataclass(frozen=True, slots=True)
class ScreenPop:
    agent_id: str
    call_id: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AgentNotice:
    """Anything else an agent's desktop must learn: state changes, the customer hung up, ..."""

    agent_id: str
    kind: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WriteCallRecord:
    record: CallRecord
    target: object | None = None
    # a conversation of a recording campaign that Asterisk never reported recording (no DialerRecording)
    unrecorded: bool = False


@dataclass(frozen=True, slots=True)
class DispositionMade:
    call_id: str
    agent_id: str
    code: str
    fields: dict[str, str]
    script_path: tuple[str, ...]
    at: float
    target: object | None = None
    campaign_id: str = ""
    amd_audit: bool = False  # the call was an AMD audit: the code says whether AMD was right (`dialer.amd_audit`)
    final: bool = True  # False: the agent had blind-transferred the call; the target's disposition counts
    amends: str | None = None  # a late disposition: the code it replaces (`no_disposition`)
    # a late disposition: what the engine kept of its call, which names the person a `dnc` code puts on the
    # do-not-call lists once the call itself is forgotten, or was before a restart
    late: Undisposed | None = None
    # the call's `subscriber_id` field: stored with the disposition, so that the screen-pop's earlier contacts,
    # reloaded after a restart (`ContactHistory.warm`), follow the person to their other numbers as before it
    subscriber_id: str = ""


@dataclass(frozen=True, slots=True)
class RecordOptOut:
    """The person of a call asked not to be called again, by key press after a recorded message: put
    them on the do-not-call lists (final across campaigns) and journal it. `number` and `fields` are
    None when the engine no longer knows the call (the daemon restarted since): then the lead says who."""

    call_id: str
    campaign_id: str
    lead_id: str
    number: str | None = None
    fields: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class RecordLedger:
    """Make a compliance-ledger entry durable (the pacer has already counted it). `call_id`: the call whose live
    answer it is ("" for other entries): its entry is noted with the call, so that a restart that settles a dead
    process's call by its answer mark does not count it again."""

    campaign_id: str
    entry: LedgerEntry
    call_id: str = ""


@dataclass(frozen=True, slots=True)
class ReturnLead:
    """An Originate that never left the daemon (no AMI connection): give the lead back to its source.

    No call was tried, so there is no call record, no attempt on the lead and no dial for the pacer.
    """

    campaign_id: str
    call_id: str
    request: DialRequest
    why: str


@dataclass(frozen=True, slots=True)
class KeepUndisposed:
    """Make durable the agent's call that may still be disposed late (it replaces an earlier one)."""

    agent_id: str
    late: Undisposed


@dataclass(frozen=True, slots=True)
class ForgetUndisposed:
    """The agent's call that could be disposed late no longer can (it was, or its time is over)."""

    agent_id: str
    call_id: str


@dataclass(frozen=True, slots=True)
class AutoDialPreview:
    """The lead on a previewing agent's screen has waited the campaign's `preview_auto_dial_s`: dial it as
    if the agent had pressed Dial (the daemon re-checks the contact policy first, as for a press)."""

    agent_id: str
    lead_id: str
    number_index: int


@dataclass(frozen=True, slots=True)
class CheckChannels:
    """Ask Asterisk for its channels (CoreShowChannels) and hand the rows to `Engine.verify` with `asked_at`:
    a Redirect or Hangup got no answer while the link is up, and where the leg is decides what comes next
    (`dialer.engine.unsure`). Nothing to do when the look fails: the engine asks again a few seconds later."""

    asked_at: float


Command = (
    Originate | OriginateAgentFirst | Redirect | HangupChannel | ScreenPop | AgentNotice | WriteCallRecord
    | DispositionMade | RecordLedger | RecordOptOut | ReturnLead | KeepUndisposed | ForgetUndisposed
    | AutoDialPreview | CheckChannels
)
