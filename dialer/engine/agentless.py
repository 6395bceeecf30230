"""Agentless campaigns, for the engine: a live answer gets a recorded message or an IVR, not an agent.

Pure functions over the `Engine`'s state, like `audits` and `transfers`. Whether a call is agentless is
decided at its AMD verdict (or at the answer when AMD is off), from the campaign's pacer mode *then*: a
supervisor may switch a campaign between agentless and an agent mode at run time, and the calls already
in flight follow the mode of the moment their verdict comes.

    SCREENING --deliver--> DELIVERING (Redirect to `<context>,<exten>` sent) --end--> ENDED

- A person (HUMAN, NOTSURE, or SKIPPED when AMD is off) is Redirected to the campaign's agentless
  context and extension (`dialer-agentless,s` by default: the message named by `DIALER_MESSAGE`, then
  hang up). Nobody waits for an agent, so there is no 2-second clock and no abandon: the pacer sees the
  dial (`DialObserved`, so its estimators keep learning) but no `LiveAnswerObserved`, and the compliance
  ledger counts no live answer. The hang-up ends the call `delivered`.
- A machine verdict follows `AgentlessPlan.on_machine`: `hangup` (as in any campaign, without the AMD
  audit since nobody can check it), or `message`: Redirected to the same context, extension `machine`
  (wait for the beep, leave the message), ending `machine_message`.
- Whether the leg got there is read from `UserEvent: DialerLegEnd`, which the `h` extension of the
  context the leg ends in sends *before* the leg's `Hangup` (Asterisk runs `h` first; so does the PBX
  simulator). `Where: dialer-connect` means the leg ended still parked: the far end hung up while our
  Redirect was in flight, and Asterisk's refusal of it can only come after that Hangup. Such a call ends
  `hung_up_before_message` (a person: not delivered, and no abandon either, since nobody waited for an
  agent), or `machine` for a machine (no message was left). Any other `Where` (the agentless context, an
  IVR's own context) or no DialerLegEnd at all (an older dialplan, a lost event) keeps `delivered` and
  `machine_message`: the message is taken as reached unless Asterisk says the leg never left the park.
- A Redirect to the message that Asterisk refuses while the call is on (a context or extension missing
  from the dialplan, say) leaves the leg parked in `dialer-connect`'s silence. A person is sent to the
  information message at once, as an abandoned call is (`ABANDONING`): hung up on in silence they would
  have had a silent call, which Ofcom counts as abandoned. The call ends `abandoned`, which gives the
  number the 72-hour abandon lock and counts in `EngineStats.abandoned` (the records, the reports and
  `dialer_calls_abandoned_total`). The compliance ledger is left out, as for every agentless answer: it
  counts the live answers that waited for an agent, and none did. A machine's leg is hung up and the
  call ends `failed` (nobody heard the silence). A refusal because the
  channel is gone or hanging up ("Redirect failed, channel not up.", what Asterisk answers once the far end
  hung up; "Channel does not exist") may reach us before DialerLegEnd: it ends the call as a leg that
  ended parked would. A refusal that comes after the leg's Hangup finds the call ended and changes nothing.

`EngineStats.delivered` counts the calls that *ended* `delivered` or `machine_message`, so it agrees
with the call records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from dialer.engine.calls import Call, CallEvent, CallOutcome, CallState
from dialer.engine.commands import ABANDON_CONTEXT, Command, Redirect, hang_up
from pacing import Mode

if TYPE_CHECKING:
    from dialer.engine.core import Engine

__all__ = ["MACHINE_EXTEN", "PURPOSE", "AgentlessPlan", "MachineAction", "deliver", "is_agentless", "leg_ended",
           "outcome_of", "redirect_failed"]

MachineAction = Literal["hangup", "message"]
MACHINE_EXTEN = "machine"
PURPOSE = "agentless"  # the Redirect's purpose, handed back by `Engine.on_action_failed`


@dataclass(frozen=True, slots=True)
class AgentlessPlan:
    """Where an agentless campaign sends its answered calls (`CampaignSettings.agentless_*`)."""

    context: str = "dialer-agentless"
    exten: str = "s"
    message: str = ""  # the sound file the Originate passes as DIALER_MESSAGE ("": the dialplan's default)
    on_machine: MachineAction = "hangup"

    def __post_init__(self) -> None:
        if not self.context or not self.exten:
            raise ValueError("an agentless plan needs a dialplan context and extension")
        if self.exten == MACHINE_EXTEN:
            raise ValueError(f"agentless exten {MACHINE_EXTEN!r} is where machines get the message; use another")
        if self.on_machine not in ("hangup", "message"):
            raise ValueError(f"agentless on_machine must be 'hangup' or 'message', got {self.on_machine!r}")

    @property
    def label(self) -> str:
        """What the call record's `message` says the call got: the sound file, else where it went."""
        return self.message or f"{self.context},{self.exten}"


def is_agentless(engine: Engine, c: Call) -> bool:
    """Whether the call's campaign runs agentless now (read at the verdict: the mode can change)."""
    return engine.campaigns[c.campaign_id].pacer.knobs.mode is Mode.AGENTLESS


def deliver(engine: Engine, c: Call, now: float, *, machine: bool) -> list[Command]:
    """Send a screened call to the message: a person (`machine=False`), or a machine after the beep.

    For a machine under `on_machine = "hangup"` nothing is done here and `[]` is returned: the caller
    hangs it up as usual.
    """
    plan = engine.campaigns[c.campaign_id].agentless
    if machine and plan.on_machine != "message":
        return []
    c.apply(CallEvent.DELIVER)
    c.message = plan.label
    c.delivered_at = now
    c.to_machine = machine
    exten = MACHINE_EXTEN if machine else plan.exten
    return [Redirect(c.call_id, c.channel or "", plan.context, exten, PURPOSE)]


def leg_ended(c: Call, where: str) -> None:
    """A DELIVERING call's leg reported where it ended (DialerLegEnd's `Where`), just before its Hangup."""
    from dialer.engine.link import CONNECT_CONTEXT  # here: `link` imports this module

    if c.state is CallState.DELIVERING and where == CONNECT_CONTEXT:
        c.message_missed = True  # still parked: the Redirect never landed


def outcome_of(c: Call) -> CallOutcome:
    """How a DELIVERING call ends when its leg hangs up (the message over, or the far end gone)."""
    if c.message_missed:
        return CallOutcome.MACHINE if c.to_machine else CallOutcome.HUNG_UP_BEFORE_MESSAGE
    return CallOutcome.MACHINE_MESSAGE if c.to_machine else CallOutcome.DELIVERED


def redirect_failed(engine: Engine, c: Call, now: float, *, channel_gone: bool = False) -> list[Command]:
    """Asterisk refused the Redirect to the message: a person gets the information message (the call ends
    `abandoned`), a machine is hung up (`failed`).

    With `channel_gone` (Asterisk's "Redirect failed, channel not up." or "Channel does not exist") the
    far end hung up before the Redirect was taken, and the refusal beat the leg's DialerLegEnd and Hangup
    to us: the call ends as if DialerLegEnd had said it was still parked, and there is nothing to hang up.
    """
    if c.state is not CallState.DELIVERING:
        return []
    if channel_gone:
        c.message_missed = True
        return engine.end_call(c, outcome_of(c), now)
    if c.to_machine:
        return [*hang_up(c), *engine.end_call(c, CallOutcome.FAILED, now)]
    c.apply(CallEvent.ABANDON)
    c.abandoned = True
    # purpose "abandon": should Asterisk refuse this one too, the leg is hung up (Engine.on_action_failed)
    return [Redirect(c.call_id, c.channel or "", ABANDON_CONTEXT, "s", "abandon")]
