"""The engine: every call and agent of the daemon, driven by typed events, returning commands.

Sans-IO like h11: `on_ami(event, now)`, `on_agent(command, now)`, `launch(campaign, targets, now)` and
`tick(now)` return lists of `Command`s and never touch a socket. The daemon feeds it from AMI, MQTT and
the hopper, executes what it returns, and asks `snapshot(campaign, now)` for the pacer's inputs. The
engine benchmark and the tests drive the same object.

The hand-off rule: when a person's greeting ends (AMD says human, or at answer when AMD is off), the
longest-idle ready agent of the campaign gets the call at once. When nobody is ready the person is held
for at most `hold_s` (less than the legal 2 s, leaving room for the bridge); an agent who frees up in
that time takes the oldest waiting call before anything else; when the hold runs out the call is sent
to the information message and counted abandoned. A call connected later than 2 s after the greeting
is counted abandoned too, and so is a person who hangs up while waiting: the law counts what the
person lived, not what we meant.

The AMD audit (a machine verdict checked by a spare agent) is in `dialer.engine.audits`; agentless
campaigns (a recorded message or IVR instead of an agent, no abandon) in `dialer.engine.agentless`;
agents' own commands in `dialer.engine.agentside`, agent-started calls in `dialer.engine.agentcalls`,
blind transfers in `dialer.engine.transfers`; the AMI link (no dials while it is down, the resync after
a reconnect) in `dialer.engine.link`; Redirects and Hangups whose answer never came (Asterisk may have
carried them out: where the leg is decides) in `dialer.engine.unsure`; the calls an earlier daemon process
left in Asterisk, taken over, in `dialer.engine.orphans`.
"""

from __future__ import annotations

import itertools
import random
import secrets
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from agents import commands as ac
from agents.dispositions import DispositionSet
from agents.roster import Roster
from agents.state import Agent, AgentEvent, AgentState
from dialer.ami import events as ev
from dialer.engine import (
    agentcalls,
    agentless,
    agentside,
    audits,
    callback_holds,
    failures,
    link,
    orphans,
    transfers,
    unsure,
)
from dialer.engine.agentless import AgentlessPlan
from dialer.engine.calls import TRANSFER_STATES, Call, CallEvent, CallOutcome, CallState, TransferPlan
from dialer.engine.commands import (
    ABANDON_CONTEXT,
    AGENT_CONTEXT,
    AgentNotice,
    CheckChannels,
    Command,
    HangupChannel,
    Originate,
    RecordLedger,
    RecordOptOut,
    Redirect,
    ScreenPop,
    WriteCallRecord,
    hang_up,
)
from dialer.engine.records import ABANDON_LIMIT_S, CallRecord, Undisposed
from dialer.engine.unsure import ActionFailure, Refused
from dialer.errors import IllegalTransition
from pacing import (
    CampaignSnapshot,
    Decision,
    DialObserved,
    LiveAnswerObserved,
    Mode,
    Pacer,
    Reason,
    TalkObserved,
)
from pacing.ledger import ledger_entry
from pacing.types import MIN_RING_S, Observation

__all__ = ["CampaignRuntime", "DialRequest", "Engine", "EngineStats"]

ScreenPopRenderer = Callable[[Call, Agent], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class DialRequest:
    """One lead and number to dial, as the hopper hands it over."""

    lead_id: str
    number: str
    attempt: int = 1
    number_index: int = 0
    fields: Mapping[str, str] = field(default_factory=dict)
    callback_agent: str | None = None
    target: object | None = None
    callback_at: float | None = None  # a scheduled callback: the time it was set for
    zone: str | None = None  # the called person's time zone, when the lead source knows it
    lead_list: str | None = None  # the lead list the lead came from, when the lead source knows it


@dataclass(slots=True)
class CampaignRuntime:
    """A running campaign as the engine sees it."""

    campaign_id: str
    pacer: Pacer
    amd: bool = True
    ring_timeout_s: float = 20.0
    caller_id_name: str = "Dialer"
    caller_id_number: str = "0000"
    wrapup_timeout_s: float = 120.0
    # an agent whose wrap-up ran out is paused ("pause") or takes calls at once ("ready")
    after_wrapup_timeout: Literal["pause", "ready"] = "pause"
    late_disposition_s: float = 900.0  # how long a call closed by the wrap-up timeout may still be disposed
    preview_auto_dial_s: float | None = None  # a lead on a previewing agent's screen is dialed after this long
    record_calls: bool = False  # the dialplan records each conversation with an agent (DIALER_RECORD=1)
    paused: bool = False
    amd_audit_share: float = 0.0  # share of machine verdicts that are audit candidates (0: no audit)
    amd_fp_note: str = ""  # why the false-positive share is what it is, when it blocks predictive (the daemon's)
    agentless: AgentlessPlan = field(default_factory=AgentlessPlan)  # where agentless-mode answers go
    active: set[str] = field(default_factory=set)
    waiting: deque[str] = field(default_factory=deque)
    recent_dials: deque[float] = field(default_factory=deque)
    ringing_ids: list[str] = field(default_factory=list)  # the last snapshot's ringing dials, in its order


@dataclass(slots=True)
class EngineStats:
    placed: int = 0
    answered: int = 0
    live: int = 0
    machines: int = 0
    connected: int = 0
    abandoned: int = 0
    ended: int = 0
    ignored_events: int = 0
    illegal_transitions: int = 0
    amd_audits: int = 0  # machine verdicts handed to an agent for the AMD audit
    surplus_hangups: int = 0  # ringing dials hung up because their answer would most likely find no agent
    amd_audits_skipped: int = 0  # audit candidates hung up as usual: no agent was spare
    delivered: int = 0  # agentless: calls that ended delivered or machine_message (the message reached)


_FAIL_BY_REASON = {5: CallOutcome.BUSY, 8: CallOutcome.CONGESTION, 3: CallOutcome.NO_ANSWER}
# Without a DialerTrunkResult (it precedes the OriginateResponse; see `dialer.engine.failures`) the
# Local channel's own events are all there is, read with the same cause table.
_FAIL_BY_CAUSE = failures.BY_CAUSE
_FAIL_BY_DIALSTATUS = {
    "BUSY": CallOutcome.BUSY,
    "NOANSWER": CallOutcome.NO_ANSWER,
    "CONGESTION": CallOutcome.CONGESTION,
    "CHANUNAVAIL": CallOutcome.INVALID,
}
_PACER_OUTCOME = {
    CallOutcome.BUSY: "busy",
    CallOutcome.NO_ANSWER: "no_answer",
    CallOutcome.CONGESTION: "congestion",
    CallOutcome.INVALID: "invalid",
    CallOutcome.FAILED: "congestion",
    CallOutcome.LOST: "no_answer",
}


class Engine:
    """Calls and agents of every campaign; pure state plus commands."""

    def __init__(
        self,
        roster: Roster | None = None,
        *,
        hold_s: float = 1.5,
        screenpop: ScreenPopRenderer | None = None,
        id_factory: Callable[[str], str] | None = None,
        stuck_after_s: float = 120.0,
        rng: random.Random | None = None,
    ) -> None:
        if not 0.0 <= hold_s <= ABANDON_LIMIT_S:
            raise ValueError(f"hold_s must be between 0 and {ABANDON_LIMIT_S} s, got {hold_s}")
        self.roster = roster or Roster()
        self.campaigns: dict[str, CampaignRuntime] = {}
        self.calls: dict[str, Call] = {}
        self.stats = EngineStats()
        self._hold_s = hold_s
        self.screenpop: ScreenPopRenderer = screenpop or _default_screenpop
        # the campaign's disposition codes, to tell a person from a machine (the ledger's strict count)
        self.dispositions_for: Callable[[str], DispositionSet | None] = (
            screenpop.dispositions_for if isinstance(screenpop, DispositionSource) else _no_dispositions
        )
        self._seq = itertools.count(1)
        self._id_factory = id_factory or self._random_id
        self._stuck_after_s = stuck_after_s
        self.wrapup_deadlines: dict[str, float] = {}
        self.undisposed: dict[str, Undisposed] = {}  # agent id -> its call a wrap-up closed undisposed
        self.rng = rng if rng is not None else random.Random()  # the AMD audit's draws
        self.previews: dict[str, tuple[str, DialRequest]] = {}  # agent id -> (campaign, the lead on screen)
        self.preview_deadlines: dict[str, float] = {}  # agent id -> when the lead on screen is dialed by itself
        self.aliases: dict[str, str] = {}  # customer-leg Uniqueid -> call id (agent-leg-first calls)
        self.transfer_deadlines: dict[str, float] = {}  # call id -> when its ringing transfer leg fails
        self.ami_link = link.AmiLink()  # dialing held while AMI is down or resyncing (`dialer.engine.link`)
        self.unsure = unsure.UnsureActions()  # Redirects and Hangups whose answer was lost (`dialer.engine.unsure`)
        # agent id -> when held: READY, with a due callback of their own, out of the pacer's count until
        # the dials launched on their account resolve (`dialer.engine.callback_holds`)
        self.callback_holds: dict[str, float] = {}
        self.callbacks_looked_at: dict[str, float] = {}  # campaign -> when its READY agents were last looked at
        self.ring_deadlines: dict[str, float] = {}  # call id -> when its ringing dial is hung up (`ring_limit_s`)
        self.orphans_looked_at: float | None = None  # the last look for calls of an earlier process (`orphans.look`)

    # ----------------------------------------------------------------- campaigns and pacing
    def add_campaign(self, campaign: CampaignRuntime) -> None:
        self.campaigns[campaign.campaign_id] = campaign

    def snapshot(self, campaign_id: str, now: float, hopper_depth: int = 1 << 30) -> CampaignSnapshot:
        """The pacer's view of one campaign at `now`."""
        camp = self.campaigns[campaign_id]
        talking: list[float] = []
        wrapup: list[float] = []
        logged_in = 0
        for a in self.roster.of_campaign(campaign_id):
            if a.state in (AgentState.TALKING, AgentState.RESERVED, AgentState.DIALING, AgentState.PREVIEWING):
                talking.append(max(0.0, now - a.since))
            elif a.state is AgentState.WRAPUP:
                wrapup.append(max(0.0, now - a.since))
            if a.state not in (AgentState.LOGGED_OUT, AgentState.PAUSED):
                logged_in += 1
        ringing: list[float] = []
        screening: list[float] = []
        camp.ringing_ids = []
        for cid in camp.active:
            c = self.calls[cid]
            if c.agent_first:
                # An agent started it (preview, manual, own callback) and waits on it: its answer needs no
                # free agent and must never be hung up as surplus; the agent counts as busy above.
                continue
            if c.state in (CallState.PENDING, CallState.DIALING, CallState.RINGING):
                if c.cut_at is not None:
                    continue  # being hung up: no longer a dial that may answer
                camp.ringing_ids.append(cid)
                ringing.append(max(0.0, now - c.dialed_at))
            elif c.state is CallState.SCREENING:
                screening.append(max(0.0, now - (c.answered_at if c.answered_at is not None else now)))
        while camp.recent_dials and camp.recent_dials[0] < now - 1.0:
            camp.recent_dials.popleft()
        return CampaignSnapshot(
            now=now,
            ready_agents=self.roster.ready_count(campaign_id) - callback_holds.not_countable(self, campaign_id),
            logged_in_agents=logged_in,
            talking_elapsed=np.asarray(talking, dtype=float),
            wrapup_elapsed=np.asarray(wrapup, dtype=float),
            ringing_elapsed=np.asarray(ringing, dtype=float),
            screening_elapsed=np.asarray(screening, dtype=float),
            waiting_humans=len(camp.waiting),
            hopper_depth=hopper_depth,
            lines_in_use=len(camp.active),
            dials_last_second=len(camp.recent_dials),
            paused=camp.paused,
        )

    def decide(self, campaign_id: str, now: float, hopper_depth: int = 1 << 30, *, hold: str = "",
               hold_reason: Reason = Reason.PAUSED) -> Decision:
        """The campaign's pacing decision now. `hold`: the daemon's own reason to launch nothing (its stored
        supervisor changes not read back yet, Redis's data lost: `hold_reason`); the decision says it, as it
        says why the AMI link holds."""
        camp = self.campaigns[campaign_id]
        if self.ami_link.hold or hold:
            return link.held_decision(self, camp, now, hopper_depth, hold, hold_reason)
        d = camp.pacer.decide(self.snapshot(campaign_id, now, hopper_depth))
        held = camp.pacer.ledger.held
        k = camp.pacer.knobs
        if held and (d.mode is Mode.PREDICTIVE or (d.mode is Mode.POWER and k.power_within_budget and k.ratio > 1)):
            # The held ledger offered no budget, so the pacer dialed at most progressively; say why.
            reason = Reason.LEDGER_UNKNOWN if d.reason is Reason.ABANDON_BUDGET else d.reason
            d = replace(d, reason=reason, detail=f"{held}; {d.detail}" if d.detail else held)
            camp.pacer.decisions[-1] = d
        if camp.amd_fp_note and d.launch <= 0 and d.reason is Reason.ABANDON_BUDGET:
            blocked = camp.pacer.ledger.status(now).blocked
            if blocked:  # the false-positive share alone breaks the cap: say where that share comes from
                d = replace(d, detail=f"{d.detail}; {camp.amd_fp_note}" if d.detail else camp.amd_fp_note)
                camp.pacer.decisions[-1] = d
        return d

    def hang_up_surplus(self, campaign_id: str, decision: Decision, now: float) -> list[Command]:
        """Hang up the ringing dials `decision.hangup` names (indices into the last snapshot's ringing dials).

        Each has rung at least the campaign's `surplus_hangup_after_s` (15 s or more, as the law asks of an
        unanswered call), counted from its first Newstate Ringing; a dial not reported ringing is never cut.
        Its record says no_answer, and the lead is retried as after any no-answer.
        """
        camp = self.campaigns[campaign_id]
        after = camp.pacer.knobs.surplus_hangup_after_s
        if after is None:
            return []
        out: list[Command] = []
        for i in decision.hangup:
            if not 0 <= i < len(camp.ringing_ids):
                continue
            c = self.calls.get(camp.ringing_ids[i])
            if c is None or c.agent_first or c.state is not CallState.RINGING or not c.channel:
                continue  # resolved meanwhile, not ringing yet, or no channel to hang up yet: it rings on
            if c.cut_at is not None or c.ringing_at is None:
                continue
            if now - c.ringing_at < max(after, MIN_RING_S):
                # the law's minimum ring, checked here whatever the pacer asked, and timed from when the
                # phone began to ring: the pacer's ring times run from the Originate, which adds the
                # network's set-up time (seconds, on some routes)
                continue
            c.surplus_hangup_at = c.cut_at = now
            self.ring_deadlines.pop(c.call_id, None)
            self.stats.surplus_hangups += 1
            out.append(HangupChannel(c.call_id, c.channel, 16))
        return out

    def launch(self, campaign_id: str, requests: Iterable[DialRequest], now: float) -> list[Command]:
        """Create calls for the hopper's targets and return their Originates."""
        camp = self.campaigns[campaign_id]
        out: list[Command] = []
        for r in requests:
            call_id = self.new_call_id(campaign_id)
            call = Call(
                call_id=call_id,
                campaign_id=campaign_id,
                lead_id=r.lead_id,
                number=r.number,
                attempt=r.attempt,
                number_index=r.number_index,
                fields=dict(r.fields),
                created_at=now,
                originated_at=now,
                callback_agent=r.callback_agent,
                callback_at=r.callback_at,
                zone=r.zone,
                lead_list=r.lead_list,
                target=r.target,
                record=camp.record_calls,
                # timed from its first Ringing: the Originate's Timeout counts the network's set-up too
                ring_limit_s=camp.ring_timeout_s,
            )
            call.apply(CallEvent.ORIGINATE)
            self.calls[call_id] = call
            camp.active.add(call_id)
            camp.recent_dials.append(now)
            self.stats.placed += 1
            out.append(
                Originate(
                    call_id=call_id,
                    campaign_id=campaign_id,
                    lead_id=r.lead_id,
                    number=r.number,
                    amd=camp.amd,
                    ring_timeout_s=camp.ring_timeout_s,
                    caller_id_name=camp.caller_id_name,
                    caller_id_number=camp.caller_id_number,
                    message=camp.agentless.message,
                    record=call.record,
                )
            )
        return out

    # ----------------------------------------------------------------- AMI events
    def on_ami(self, event: ev.AmiEvent, now: float) -> list[Command]:
        """Feed one typed AMI event; return what to do."""
        handler = self._handlers.get(type(event))
        if handler is None:
            self.stats.ignored_events += 1
            return []
        try:
            return handler(self, event, now)
        except IllegalTransition:
            self.stats.illegal_transitions += 1
            return []

    def call_of(self, uniqueid: str | None, *, ended: bool = False) -> Call | None:
        """The call a channel's Uniqueid (or a call id) belongs to; an ended one only with `ended`."""
        if uniqueid is None:
            return None
        c = self.calls.get(uniqueid)
        if c is None and uniqueid in self.aliases:
            c = self.calls.get(self.aliases[uniqueid])
        return c if c is not None and (ended or c.state is not CallState.ENDED) else None

    def _on_newchannel(self, e: ev.Newchannel, now: float) -> list[Command]:
        c = self.call_of(e.uniqueid)
        if c is not None:
            c.channel = e.channel
        return []

    def _on_newstate(self, e: ev.Newstate, now: float) -> list[Command]:
        c = self.call_of(e.uniqueid)
        if c is None:
            return []
        if c.agent_first:
            if e.uniqueid == c.call_id and e.state == ev.ChannelState.UP:
                return agentcalls.on_agent_leg_up(self, c, now)
            if e.uniqueid == c.customer_uid and e.state == ev.ChannelState.RINGING:
                return agentcalls.on_customer_ringing(self, c, now)
            return []
        if c.channel is None:
            c.channel = e.channel
        if e.state == ev.ChannelState.RINGING and c.is_pre_answer:
            c.apply(CallEvent.RING)
            if c.ringing_at is None:
                c.ringing_at = now
                if c.ring_limit_s is not None and c.cut_at is None:
                    self.ring_deadlines[c.call_id] = now + c.ring_limit_s
        elif e.state == ev.ChannelState.UP and c.is_pre_answer:
            return self._answered(c, now)
        return []

    def _on_dialbegin(self, e: ev.DialBegin, now: float) -> list[Command]:
        c = self.call_of(e.uniqueid)
        if c is not None and c.state in TRANSFER_STATES and e.uniqueid == c.customer_uniqueid:
            return transfers.on_dialbegin(c, e)
        if c is None or not c.agent_first or e.uniqueid != c.call_id:
            return []
        return agentcalls.on_customer_dialbegin(self, c, e)

    def _on_dialstate(self, e: ev.DialState, now: float) -> list[Command]:
        c = self.call_of(e.dest_uniqueid)
        if c is None or not c.agent_first or e.dest_uniqueid != c.customer_uid:
            return []
        return agentcalls.on_customer_ringing(self, c, now) if e.dial_status == "RINGING" else []

    def _on_dialend(self, e: ev.DialEnd, now: float) -> list[Command]:
        t = self.call_of(e.uniqueid)
        if t is not None and t.state in TRANSFER_STATES and e.uniqueid == t.customer_uniqueid:
            return transfers.on_dialend(self, t, e, now)  # the customer's Dial() of a transfer target
        c = self.call_of(e.dest_uniqueid)
        if c is None:
            return []
        if c.agent_first:
            if e.dest_uniqueid == c.customer_uid and e.uniqueid == c.call_id:
                return agentcalls.on_customer_dialend(self, c, e, now)
            if e.dest_uniqueid == c.call_id and e.dial_status == "ANSWER":  # the agent's phone answered
                return agentcalls.on_agent_leg_up(self, c, now)
            return []
        c.dial_status = e.dial_status
        if e.dial_status == "ANSWER" and c.is_pre_answer:
            return self._answered(c, now)
        return []

    def _on_originate_response(self, e: ev.OriginateResponse, now: float) -> list[Command]:
        c = self.call_of(e.action_id) or self.call_of(e.uniqueid)
        if c is None:
            return []
        if c.agent_first:  # about the agent's phone; a failure ends the call before the customer is dialed
            if e.success:
                return agentcalls.on_agent_leg_up(self, c, now)
            return self._end(c, CallOutcome.FAILED, now) if c.is_pre_answer else []
        if e.success:
            return self._answered(c, now) if c.is_pre_answer else []
        if c.is_pre_answer:
            return self._end(c, self._unanswered_outcome(c, int(e.reason)), now)
        return []

    @staticmethod
    def _unanswered_outcome(c: Call, reason: int | None) -> CallOutcome:
        """How a predictive dial that was never answered ended: the OriginateResponse's `reason` (None: no
        OriginateResponse, for a call adopted from an earlier process), read with what its events said."""
        outcome: CallOutcome | None = _FAIL_BY_REASON.get(reason) if reason is not None else None
        if c.cut_at is not None:
            outcome = CallOutcome.NO_ANSWER  # we cut it while it rang: Asterisk reports the hang-up it saw
        elif c.trunk_status is not None and c.trunk_cause is not None:
            # The carrier's cause: Reason 0 or 8 says only how the Local channel failed, not why.
            outcome = failures.trunk_outcome(c.trunk_status, c.trunk_cause)
        if outcome is None:
            outcome = _FAIL_BY_DIALSTATUS.get(c.dial_status or "") or _FAIL_BY_CAUSE.get(
                c.hangup_cause or -1, CallOutcome.FAILED
            )
        return outcome

    def _on_trunk_result(self, e: ev.TrunkResult, now: float) -> list[Command]:
        """The carrier leg's Dial() failed; kept for the failure that follows (OriginateResponse, DialEnd)."""
        c = self.call_of(e.call_id)
        if c is not None and c.is_pre_answer:
            c.trunk_status, c.trunk_cause = e.dial_status.value, e.hangup_cause
        return []

    def _on_originate_failed(self, e: ev.OriginateFailed, now: float) -> list[Command]:
        c = self.call_of(e.call_id)
        if c is None or not c.is_pre_answer:
            return []
        if e.may_exist:  # may still be ringing in Asterisk: its own events end it, or `sweep_stuck`
            return []
        if not e.sent and not c.agent_first:  # never written: no call was tried, the lead goes back
            return link.withdraw(self, c, e.error)
        return self._end(c, CallOutcome.FAILED, now)

    def _on_amd(self, e: ev.AmdResult, now: float) -> list[Command]:
        c = self.call_of(e.uniqueid) or self.call_of(e.call_id)
        if c is None:  # an earlier process's call, maybe: its person waits for nobody (`orphans.look`)
            return orphans.look(self, e.call_id, now)
        if c.agent_first:
            return []
        if c.is_pre_answer:
            self._answered(c, now)
        c.amd_status = e.status.value
        c.amd_cause = e.cause
        if e.status in (ev.AmdStatus.MACHINE,):
            if c.state is not CallState.SCREENING:  # a repeated verdict: counted once, as before
                raise IllegalTransition("call", c.call_id, c.state.value, CallEvent.MACHINE.value)
            self.stats.machines += 1
            unregulated = agentless.is_agentless(self, c)
            noted = self._observe_dial(c, "machine", now, machine=True, regulated=not unregulated)
            if unregulated:  # no agent to audit it: leave the message, or hang up
                out = agentless.deliver(self, c, now, machine=True)
                if out:  # the Redirect to leave the message
                    return noted + out
                c.apply(CallEvent.MACHINE)
                return noted + hang_up(c)
            spare = audits.spare_agent(self, c)
            if spare is not None:
                return noted + audits.hand_over(self, c, spare, now)
            c.apply(CallEvent.MACHINE)
            return noted + hang_up(c)
        if e.status is ev.AmdStatus.HANGUP:
            return []
        if agentless.is_agentless(self, c):  # the message, not an agent: no wait, no abandon, no ledger live
            if c.state is not CallState.SCREENING:
                raise IllegalTransition("call", c.call_id, c.state.value, CallEvent.DELIVER.value)
            c.human_at = now
            c.human_pbx_ts = e.timestamp
            noted = self._observe_dial(c, "live", now, machine=False, regulated=False)
            return noted + agentless.deliver(self, c, now, machine=False)
        c.apply(CallEvent.HUMAN)
        c.human_at = now
        c.human_pbx_ts = e.timestamp
        self.stats.live += 1
        noted = self._observe_dial(c, "live", now, machine=False)
        return noted + self._try_assign(c, now)

    def _on_bridge_enter(self, e: ev.BridgeEnter, now: float) -> list[Command]:
        c = self.call_of(e.uniqueid)
        if c is not None and e.uniqueid == c.customer_uniqueid:
            self.unsure.moves.pop(c.call_id, None)  # a Redirect whose answer was lost was carried out
        if c is not None and c.state is CallState.AUDITING:
            return audits.bridged(self, c, e, now)
        if c is not None and c.state in TRANSFER_STATES and e.uniqueid == c.customer_uniqueid:
            return transfers.bridged(self, c, now)
        if c is None or c.state is not CallState.CONNECTING:
            return []
        c.apply(CallEvent.BRIDGE)
        c.connected_at = now
        c.connected_pbx_ts = e.timestamp
        self.stats.connected += 1
        wait = c.wait_s or 0.0
        late = wait > ABANDON_LIMIT_S
        c.abandoned = late
        c.live_counted_at = None if late else now
        out = self._observe(self.campaigns[c.campaign_id], LiveAnswerObserved(at=now, abandoned=late, wait_s=wait),
                            call_id=c.call_id)
        if c.agent_id is not None:
            agent = self.roster.apply(c.agent_id, AgentEvent.CONNECT, now)
            agent.calls_taken += 1
            out.append(AgentNotice(agent.agent_id, "connected", {"call_id": c.call_id, "wait_s": round(wait, 3)}))
            out.append(self.state_notice(agent))
        return out

    def _on_leg_end(self, e: ev.LegEnd, now: float) -> list[Command]:
        """The customer leg's `h` extension, just before its Hangup: where it ended.

        Its Hangup follows once the `h` extension is done, which a heavy `h` extension can delay by
        seconds. A person waiting for an agent has left by then: their call ends now, so that no agent is
        offered a line that is gone and no information message is aimed at it."""
        c = self.call_of(e.uniqueid)
        if c is None or e.uniqueid != c.call_id or c.agent_first:  # the customer leg of a dialer-first call
            return []
        if c.state is CallState.WAITING or c.state is CallState.CONNECTING:
            if e.hangup_cause:
                c.hangup_cause = e.hangup_cause
            return self._end(c, self._waiting_outcome(c, now), now)
        agentless.leg_ended(c, e.where)  # checks the state
        return []

    def _on_hangup(self, e: ev.Hangup, now: float) -> list[Command]:
        self.unsure.hangups.pop(e.channel, None)
        c = self.call_of(e.uniqueid)
        if c is None:
            other = e.uniqueid[:-2] if e.uniqueid and e.uniqueid.endswith("-2") else None
            oc = self.call_of(other)
            if oc is not None and e.cause:
                oc.hangup_cause = int(e.cause)
            return []
        if c.agent_first:
            if e.uniqueid == c.call_id:
                return agentcalls.on_agent_leg_hangup(self, c, now)
            if e.cause:
                c.hangup_cause = int(e.cause)
            if c.is_pre_answer:
                return self._end(c, agentcalls.outcome_of(c), now)
            return self._end(c, CallOutcome.CONNECTED, now)
        if e.cause:
            c.hangup_cause = int(e.cause)
        s = c.state
        if s in TRANSFER_STATES:
            return self._end(c, CallOutcome.CONNECTED, now)
        if c.is_pre_answer:
            # The OriginateResponse that follows tells busy from congestion; keep the cause for it. An
            # adopted call's went to the process that placed it: its Hangup is the last word.
            return self._end(c, self._unanswered_outcome(c, None), now) if c.adopted else []
        if s is CallState.CONNECTED:
            return self._end(c, CallOutcome.CONNECTED, now)
        if s is CallState.ABANDONING:
            return self._end(c, CallOutcome.ABANDONED, now)
        if s is CallState.MACHINE or s is CallState.AUDITING:
            return self._end(c, CallOutcome.MACHINE, now)
        if s is CallState.DELIVERING:
            return self._end(c, agentless.outcome_of(c), now)
        if s is CallState.SCREENING:
            if c.cut_at is not None:
                # answered just as our hang-up of the ringing dial went out: whoever said hello heard the
                # line drop, so the ledger counts a live answer abandoned (a machine is counted too: the
                # verdict never came, and the law's count must not be short)
                return self._end(c, self.unverified_answer(c, now), now)
            return self._end(c, CallOutcome.HUNG_UP_SCREENING, now)
        return self._end(c, self._waiting_outcome(c, now), now)

    def _on_opt_out(self, e: ev.OptOut, now: float) -> list[Command]:
        """The person pressed the opt-out key after a recorded message: a do-not-call request."""
        c = self.call_of(e.call_id, ended=True)  # the message follows the call's end
        if c is not None:
            return [RecordOptOut(c.call_id, c.campaign_id, c.lead_id, c.number, c.fields)]
        return [RecordOptOut(e.call_id, e.campaign_id or "", e.lead_id or "")]

    def _on_reached(self, e: ev.ConnectAgent | ev.AbandonPlayed, now: float) -> list[Command]:
        """The customer leg reached `dialer-to-agent`, `dialer-transfer` or `dialer-abandon`: a Redirect there
        whose answer was lost was carried out (`dialer.engine.unsure`); the call's other events drive it."""
        c = self.call_of(e.call_id)
        if c is not None:
            unsure.on_event(self, c, e)
        return []

    def _on_recording(self, e: ev.RecordingStarted, now: float) -> list[Command]:
        """MixMonitor is on the customer leg: the call record names Asterisk's file once the call connected."""
        c = self.call_of(e.call_id)
        if c is not None:
            c.recording = e.file
        return []

    def unverified_answer(self, c: Call, now: float) -> CallOutcome:
        """How an answer whose AMD verdict never came ends when it is gone (hung up by us, or by whoever said
        hello): abandoned, a live answer from its answer, since nothing proves an agent reached them within
        2 s (the ledger must never count fewer); in an agentless campaign nobody waited for an agent, and the
        message was never sent: hung up while AMD listened (no abandon)."""
        if agentless.is_agentless(self, c):
            return CallOutcome.HUNG_UP_SCREENING
        if c.human_at is None:
            c.human_at = c.answered_at if c.answered_at is not None else now
        return CallOutcome.ABANDONED

    @staticmethod
    def _waiting_outcome(c: Call, now: float) -> CallOutcome:
        """A person WAITING or CONNECTING gave up before an agent came. The law counts a live answer not
        connected within 2 s as abandoned whoever hangs up, so an early hang-up is one too (the pacer's
        model and the simulator count it the same way); the outcome still says who hung up."""
        late = c.human_at is not None and now - c.human_at > ABANDON_LIMIT_S
        return CallOutcome.ABANDONED if late else CallOutcome.HUNG_UP_WAITING

    _handlers: dict[type, Callable[[Engine, Any, float], list[Command]]] = {
        ev.Newchannel: _on_newchannel,
        ev.Newstate: _on_newstate,
        ev.DialBegin: _on_dialbegin,
        ev.DialState: _on_dialstate,
        ev.DialEnd: _on_dialend,
        ev.OriginateResponse: _on_originate_response,
        ev.OriginateFailed: _on_originate_failed,
        ev.TrunkResult: _on_trunk_result,
        ev.AmdResult: _on_amd,
        ev.BridgeEnter: _on_bridge_enter,
        ev.LegEnd: _on_leg_end,
        ev.OptOut: _on_opt_out,
        ev.RecordingStarted: _on_recording,
        ev.ConnectAgent: _on_reached,
        ev.AbandonPlayed: _on_reached,
        ev.Hangup: _on_hangup,
        ev.AmiDisconnected: link.lost,
        ev.AmiConnected: link.connected,
    }

    # ----------------------------------------------------------------- action failures and resync
    def on_action_failed(self, action: Redirect | HangupChannel, failure: ActionFailure, now: float) -> list[Command]:
        """A Redirect or Hangup the engine asked for failed: `Refused` by Asterisk, or `Unanswered` (the answer
        never came: it may have been carried out, so nothing is done until the leg's channel row or events
        show where it is; see `dialer.engine.unsure`)."""
        if not isinstance(failure, Refused):
            return unsure.unanswered(self, action, now)
        c = self.call_of(action.call_id)
        if c is not None and c.adopted and failure.channel_gone:
            # its Hangup may have come before it was adopted: nothing else would end it
            if c.is_pre_answer:
                return self._end(c, self._unanswered_outcome(c, None), now)
            return link.end_gone(self, c, now)
        if c is None or isinstance(action, HangupChannel):
            return []
        purpose, channel_gone = action.purpose, failure.channel_gone
        if purpose == "agent" and c.state is CallState.CONNECTING and channel_gone:
            # The person left while the Redirect was in flight: offering them to another agent, or to the
            # information message, would be refused too. Their leg's DialerLegEnd or Hangup ends the call
            # (hung_up_waiting, an abandon); the Hangup action makes sure of it should the channel linger.
            out = self._release_agent(c, now)
            c.apply(CallEvent.UNASSIGN)
            return out + hang_up(c)
        if purpose == "agent":
            # not the agent Asterisk just refused (the same Redirect could be refused again, and again), who is
            # left for the next person
            return self.redirect_refused(c, now, refused_for=c.agent_id)
        if purpose == "abandon":
            return hang_up(c)
        if purpose == "transfer" and c.state in TRANSFER_STATES:
            return transfers.leg_failed(self, c, "the PBX refused to move the call", now)
        if purpose == agentless.PURPOSE:
            return agentless.redirect_failed(self, c, now, channel_gone=channel_gone)
        return []

    def redirect_refused(self, c: Call, now: float, *, refused_for: str | None) -> list[Command]:
        """The Redirect of `c` to its agent did not happen (refused, or its leg found still parked): the agent
        is released. A person goes to another READY agent (not `refused_for`), else is held or gets the
        abandon message, by the 2-second rule; an AMD audit's call is hung up as a machine."""
        if c.state is CallState.AUDITING:
            out = self._release_agent(c, now)
            c.apply(CallEvent.UNASSIGN)
            return out + hang_up(c)
        if c.state is not CallState.CONNECTING:
            return []
        out = self._release_agent(c, now)
        c.apply(CallEvent.UNASSIGN)
        skip = {*callback_holds.routed_last(self), refused_for or ""}
        other = self.roster.longest_idle(c.campaign_id, last=skip)
        if other is not None and other.agent_id != refused_for:
            return out + self.assign(c, other, now)
        return out + self._hold_or_abandon(c, now)

    def resync(self, live: Iterable[ev.ChannelRow | str], now: float, asked_at: float | None = None) -> list[Command]:
        """After an AMI reconnect, with CoreShowChannels' rows (or bare Uniqueids), asked at `asked_at`: end the
        calls open at the loss whose customer leg Asterisk no longer has, catch up the others, settle the
        actions whose answer the loss took, and dial again (`link.resync`)."""
        return link.resync(self, live, now, asked_at)

    def verify(self, rows: Iterable[ev.ChannelRow], asked_at: float, now: float) -> list[Command]:
        """CoreShowChannels' rows for a `CheckChannels` asked at `asked_at`: settle the Redirects and Hangups whose
        answer never came from where their legs are (`dialer.engine.unsure`)."""
        by_uid = {row.uniqueid: row for row in rows}
        return unsure.settle(self, by_uid, asked_at, now) + link.settle_stuck(self, by_uid, asked_at, now)

    def find_orphans(self, rows: Iterable[ev.ChannelRow], outbound_context: str = "dialer-outbound",
                     ) -> list[orphans.Orphan]:
        """The calls in CoreShowChannels' `rows` that this engine never placed: an earlier process's
        (`dialer.engine.orphans`)."""
        return orphans.find(self, rows, outbound_context)

    def adopt(self, orphan: orphans.Orphan, campaign_id: str, request: DialRequest, now: float) -> list[Command]:
        """Take over an earlier process's call, of `campaign_id` and the lead of `request` (`orphans.adopt`)."""
        return orphans.adopt(self, orphan, campaign_id, request, now)

    def resync_failed(self, now: float) -> list[Command]:
        """CoreShowChannels failed after a reconnect: dial again and leave the calls as they are."""
        return link.resync_failed(self)

    # ----------------------------------------------------------------- agents (dialer/engine/agentside.py)
    def on_agent(self, cmd: ac.AgentCommand, now: float) -> list[Command]:
        """Apply an agent's command. Raises IllegalTransition for a move the agent cannot make now."""
        return agentside.command(self, cmd, now)

    def after_wrapup(self, agent: Agent, now: float) -> list[Command]:
        return agentside.after_wrapup(self, agent, now)

    def state_notice(self, agent: Agent) -> AgentNotice:
        return agentside.state_notice(agent, self.wrapup_deadlines.get(agent.agent_id))

    # ----------------------------------------------------------------- hand-off
    def _try_assign(self, c: Call, now: float) -> list[Command]:
        agent = self.roster.longest_idle(c.campaign_id, last=callback_holds.routed_last(self))
        if agent is not None:
            return self.assign(c, agent, now)
        return self._hold_or_abandon(c, now)

    def assign(self, c: Call, agent: Agent, now: float) -> list[Command]:
        self.roster.apply(agent.agent_id, AgentEvent.RESERVE, now, call_id=c.call_id)
        c.apply(CallEvent.ASSIGN)
        c.agent_id = agent.agent_id
        c.abandon_deadline = None
        return [
            Redirect(c.call_id, c.channel or "", AGENT_CONTEXT, agent.extension, "agent", agent.agent_id),
            ScreenPop(agent.agent_id, c.call_id, self.screenpop(c, agent)),
            self.state_notice(agent),
        ]

    def _hold_or_abandon(self, c: Call, now: float) -> list[Command]:
        base = c.human_at if c.human_at is not None else now
        deadline = base + self._hold_s
        if now >= deadline:
            return self._abandon(c, now)
        c.abandon_deadline = deadline
        self.campaigns[c.campaign_id].waiting.append(c.call_id)
        return []

    def _abandon(self, c: Call, now: float) -> list[Command]:
        c.apply(CallEvent.ABANDON)
        c.abandoned = True
        c.abandon_deadline = None
        wait = now - (c.human_at if c.human_at is not None else now)
        noted = self._observe(self.campaigns[c.campaign_id], LiveAnswerObserved(at=now, abandoned=True, wait_s=wait),
                              call_id=c.call_id)
        return [*noted, Redirect(c.call_id, c.channel or "", ABANDON_CONTEXT, "s", "abandon")]

    def _release_agent(self, c: Call, now: float) -> list[Command]:
        """The agent reserved for `c` is not getting it: paused or logged out if they asked to be after this
        call, else READY, taking the oldest person still waiting (who would otherwise be abandoned)."""
        if c.agent_id is None:
            return []
        agent = self.roster.get(c.agent_id)
        c.agent_id = None
        if agent is None or agent.state is not AgentState.RESERVED:
            return []
        return self.released(agent, c.call_id, now)

    def released(self, agent: Agent, call_id: str, now: float) -> list[Command]:
        """Release the RESERVED `agent` from `call_id`, as after a call (`after_wrapup`): what they asked for
        "after this call" applies, or, READY, they take the oldest person waiting."""
        self.roster.apply(agent.agent_id, AgentEvent.RELEASE, now)
        return [AgentNotice(agent.agent_id, "call_cancelled", {"call_id": call_id}), *self.after_wrapup(agent, now)]

    def oldest_waiting(self, camp: CampaignRuntime) -> Call | None:
        """The campaign's longest-waiting person, still at the head of `camp.waiting` (stale entries dropped)."""
        while camp.waiting:
            c = self.call_of(camp.waiting[0])
            if c is not None and c.state is CallState.WAITING:
                return c
            camp.waiting.popleft()
        return None

    # ----------------------------------------------------------------- timers
    def next_deadline(self) -> float | None:
        """The earliest time `tick` has work to do (abandon holds, wrap-up timeouts, previews to dial)."""
        times = [*self.wrapup_deadlines.values(), *self.transfer_deadlines.values(), *self.preview_deadlines.values()]
        if self.ring_deadlines:
            times.append(min(self.ring_deadlines.values()))
        look = unsure.next_look(self)
        if look is not None:
            times.append(look)
        for camp in self.campaigns.values():
            for cid in camp.waiting:
                c = self.calls.get(cid)
                if c is not None and c.abandon_deadline is not None:
                    times.append(c.abandon_deadline)
                    break
        return min(times) if times else None

    def tick(self, now: float) -> list[Command]:
        """Run due timers: abandon the holds that ran out, end overdue wrap-ups, fail unanswered transfer legs,
        dial the previews that waited their campaign's `preview_auto_dial_s`, look again at where the legs of
        unanswered Redirects and Hangups are (`unsure.due`)."""
        out: list[Command] = transfers.due(self, now)
        for camp in self.campaigns.values():
            while (c := self.oldest_waiting(camp)) is not None:
                if c.abandon_deadline is None or c.abandon_deadline > now:
                    break
                camp.waiting.popleft()
                out += self._abandon(c, now)
        for agent_id, deadline in list(self.wrapup_deadlines.items()):
            if deadline <= now:
                del self.wrapup_deadlines[agent_id]
                agent = self.roster.get(agent_id)
                if agent is not None and agent.state is AgentState.WRAPUP:
                    out += agentside.end_wrapup_undisposed(self, agent, agentside.WRAPUP_TIMEOUT, now)
        out += agentcalls.previews_due(self, now)
        out += self._ring_limits_due(now)
        return out + unsure.due(self, now)

    def _ring_limits_due(self, now: float) -> list[Command]:
        """Hang up the dials that have rung their `ring_limit_s` since their first Ringing; each ends a
        no-answer when Asterisk reports the hang-up (`cut_at`)."""
        out: list[Command] = []
        for cid, deadline in list(self.ring_deadlines.items()):
            if deadline > now:
                continue
            del self.ring_deadlines[cid]
            c = self.call_of(cid)
            leg = c.customer_leg if c is not None else None  # an agent's dial: the leg its Dial() rings
            if c is None or c.state is not CallState.RINGING or c.cut_at is not None or not leg:
                continue
            c.cut_at = now
            out.append(HangupChannel(c.call_id, leg, 19))  # 19: no answer, as Asterisk's own timeout says
        return out

    def end_wrapups(self, now: float) -> list[Command]:
        """Shutdown: every wrap-up still open ends without its disposition (`agentside.end_wrapup_undisposed`)."""
        out: list[Command] = []
        for agent in list(self.roster):
            if agent.state is AgentState.WRAPUP:
                out += agentside.end_wrapup_undisposed(self, agent, "shutdown", now)
        return out

    def wrapups(self) -> int:
        """Agents in wrap-up: the dispositions still to come."""
        return sum(1 for a in self.roster if a.state is AgentState.WRAPUP)

    def sweep_stuck(self, now: float) -> list[Command]:
        """End pre-answer calls that never resolved (lost OriginateResponse): called every few seconds.

        Past its ring timeout a channel still there is up somewhere (answered while its events were lost): a
        predictive dial asks for a look at the channels first (`link.stuck`), and its row decides
        (`link.settle_stuck`: answered, it is a live answer nobody can have reached within 2 s). One whose
        look never came, and an agent's dial, is hung up and ended `lost`. Not while the link is held: the
        resync looks at every call open at the loss."""
        if self.ami_link.hold:
            return []
        out: list[Command] = []
        look = False
        for camp in self.campaigns.values():
            for cid in list(camp.active):
                c = self.calls[cid]
                limit = camp.ring_timeout_s + self._stuck_after_s
                if not c.is_pre_answer or now - c.dialed_at <= limit:
                    continue
                if not c.agent_first and link.stuck(self, c, now):
                    look = look or c.stuck_at == now
                    continue
                out += hang_up(c)  # if it is up after all, nobody is left in `Wait(600)`
                out += self._end(c, CallOutcome.LOST, now)
        return out + ([CheckChannels(asked_at=now)] if look else [])

    # ----------------------------------------------------------------- ending a call
    def _answered(self, c: Call, now: float) -> list[Command]:
        c.apply(CallEvent.ANSWER)
        c.answered_at = now
        self.ring_deadlines.pop(c.call_id, None)
        self.stats.answered += 1
        return []

    def answered(self, c: Call, now: float) -> list[Command]:
        """`c` was answered now (for `orphans`)."""
        return self._answered(c, now)

    def abandon(self, c: Call, now: float) -> list[Command]:
        """Send the person of `c`, WAITING, to the information message, counted abandoned (for `orphans`)."""
        return self._abandon(c, now)

    def observe(self, camp: CampaignRuntime, obs: Observation) -> list[Command]:
        """Feed the campaign's pacer an observation (for `agentside`); returns the ledger entry to make durable."""
        return self._observe(camp, obs)

    def _observe(self, camp: CampaignRuntime, obs: Observation, call_id: str = "") -> list[Command]:
        """Feed the pacer; what its compliance ledger counts is also returned to be made durable (`call_id`: the
        call a live answer is of)."""
        camp.pacer.observe(obs)
        entry = ledger_entry(obs)
        return [RecordLedger(camp.campaign_id, entry, call_id)] if entry is not None else []

    def _observe_dial(
        self, c: Call, outcome: str, now: float, machine: bool, *, regulated: bool = True
    ) -> list[Command]:
        """Feed a dial's verdict to the pacer. An agentless call (`regulated` False) feeds its estimators
        only: the compliance ledger governs calls meant for agents, and an agentless campaign's screened
        answers would otherwise bring estimated AMD false positives into UK windows with no live answer
        beside them (a campaign switched to predictive later would find its window at 100 %)."""
        ring = (c.answered_at or now) - c.dialed_at
        amd_delay = now - c.answered_at if c.answered_at is not None else None
        obs = DialObserved(at=now, outcome=outcome, ring_s=ring, amd_delay_s=amd_delay, amd_machine=machine)
        camp = self.campaigns[c.campaign_id]
        if not regulated:
            camp.pacer.est.observe(obs)
            return []
        return self._observe(camp, obs)

    def _end(self, c: Call, outcome: CallOutcome, now: float) -> list[Command]:
        out: list[Command] = []
        prev = c.state
        pre_answer = c.is_pre_answer
        c.apply(CallEvent.END)
        c.ended_at = now
        c.outcome = outcome
        camp = self.campaigns[c.campaign_id]
        camp.active.discard(c.call_id)
        self.unsure.moves.pop(c.call_id, None)
        self.ring_deadlines.pop(c.call_id, None)
        if c.customer_uid is not None:
            self.aliases.pop(c.customer_uid, None)
        self.stats.ended += 1
        if outcome is CallOutcome.DELIVERED or outcome is CallOutcome.MACHINE_MESSAGE:
            self.stats.delivered += 1  # counted at the end: a leg that hung up before the message is not
        if outcome is CallOutcome.ABANDONED or (outcome is CallOutcome.HUNG_UP_WAITING and c.human_at is not None):
            c.abandoned = True  # not connected within 2 s, whoever hung up
            self.stats.abandoned += 1
            if prev is not CallState.ABANDONING and c.human_at is not None:
                out += self._observe(camp, LiveAnswerObserved(at=now, abandoned=True, wait_s=now - c.human_at),
                                     call_id=c.call_id)
        # A delivered dial was observed at its verdict. An agent-started call is not one of the pacer's dials:
        # its answers are never observed as dials, so its failures must not be either (the live share would
        # read low), and its ring time includes the agent's own phone.
        if outcome in _PACER_OUTCOME and c.delivered_at is None and not c.agent_first:
            # a dial we hung up while it rang is censored at our hang-up, not at the PBX's report of it
            cut_at = c.surplus_hangup_at if pre_answer else None
            ring = (now if cut_at is None else cut_at) - c.dialed_at
            obs = DialObserved(at=now, outcome=_PACER_OUTCOME[outcome], ring_s=ring, hung_up=cut_at is not None)
            out += self._observe(camp, obs)
        if prev in (CallState.CONNECTING, CallState.AUDITING):
            out += self._release_agent(c, now)
        if prev in TRANSFER_STATES:
            out += transfers.ended(self, c, now)
        if c.agent_first and pre_answer:
            out += agentcalls.release_dialer(self, c, now)
        if prev is CallState.CONNECTED and c.agent_id is not None:
            agent = self.roster.get(c.agent_id)
            if agent is not None and agent.state is AgentState.TALKING:
                if not c.amd_audit:
                    camp.pacer.observe(TalkObserved(at=now, talk_s=now - (c.connected_at or now)))
                self.roster.apply(agent.agent_id, AgentEvent.HANGUP, now)  # the wrap-up keeps the call's id
                self.wrapup_deadlines[agent.agent_id] = now + camp.wrapup_timeout_s
                out.append(AgentNotice(agent.agent_id, "customer_hung_up", {"call_id": c.call_id}))
                out.append(self.state_notice(agent))
        unrecorded = c.record and c.connected_at is not None and not c.recording
        out.append(WriteCallRecord(CallRecord.of(c), c.target, unrecorded=unrecorded))
        return out

    def close_all(self, now: float) -> list[Command]:
        """Shutdown: hang up every call still up and write its record (talking calls end CONNECTED).

        A dial still ringing ends as a no-answer: the subscriber saw a missed call, and the lead is
        retried as after one. One answered while AMD still listened ends abandoned, as a surplus hang-up
        that met an answer does and as one whose leg a resync finds gone (`link.outcome_when_gone`): whoever
        said hello heard the line drop. One not ringing yet (its Originate on its way, or an agent's phone
        still ringing for an agent-started call) ends lost."""
        out: list[Command] = []
        for c in [c for c in self.calls.values() if c.state is not CallState.ENDED]:
            out += hang_up(c)
            if c.state is CallState.CONNECTED or c.state in TRANSFER_STATES:
                outcome = CallOutcome.CONNECTED
            elif c.state is CallState.MACHINE or c.state is CallState.AUDITING:
                outcome = CallOutcome.MACHINE
            elif c.state is CallState.DELIVERING:
                outcome = agentless.outcome_of(c)
            elif c.state in (CallState.WAITING, CallState.CONNECTING, CallState.ABANDONING):
                outcome = CallOutcome.ABANDONED
            elif c.state is CallState.SCREENING:
                outcome = self.unverified_answer(c, now)
            elif c.state is CallState.RINGING:
                outcome = CallOutcome.NO_ANSWER
            else:
                outcome = CallOutcome.LOST
            out += self._end(c, outcome, now)
        return out

    def forget_ended(self, keep: int = 10_000) -> None:
        """Drop ended calls beyond the `keep` that ended last (their records are already written). A call an
        agent is still wrapping up is kept whatever its age: their disposition needs it (the ledger's strict
        count of the person, and which of two agents' dispositions is final after a transfer)."""
        in_use = {a.call_id for a in self.roster if a.call_id is not None}
        ended = sorted((c.ended_at or 0.0, cid) for cid, c in self.calls.items()
                       if c.state is CallState.ENDED and cid not in in_use)
        for _at, cid in ended[: max(0, len(ended) - keep)]:
            del self.calls[cid]

    def new_call_id(self, campaign_id: str) -> str:
        return self._id_factory(campaign_id)

    def end_call(self, c: Call, outcome: CallOutcome, now: float) -> list[Command]:
        """End a call with `outcome` (for `agentcalls`)."""
        return self._end(c, outcome, now)

    # ----------------------------------------------------------------- agent-started calls, transfers
    def offer_preview(self, agent_id: str, request: DialRequest, now: float) -> list[Command]:
        """Reserve a lead for a READY agent of a preview campaign (see `agentcalls`)."""
        return agentcalls.offer_preview(self, agent_id, request, now)

    def skip_preview(self, agent_id: str, lead_id: str, now: float) -> tuple[DialRequest, list[Command]]:
        return agentcalls.skip_preview(self, agent_id, lead_id, now)

    def dial_preview(self, agent_id: str, lead_id: str, number_index: int, now: float) -> tuple[str, list[Command]]:
        return agentcalls.dial_preview(self, agent_id, lead_id, number_index, now)

    def dial_manual(self, agent_id: str, number: str, now: float, *,
                    lead: DialRequest | None = None) -> tuple[str, list[Command]]:
        return agentcalls.dial_manual(self, agent_id, number, now, lead=lead)

    def transfer(self, agent_id: str, call_id: str, target: str, now: float, *,
                 supervisor_extension: str, ring_timeout_s: float = 20.0) -> list[Command]:
        """Blind-transfer a connected call (see `transfers`); each leg may ring `ring_timeout_s`."""
        plan = TransferPlan(supervisor_extension=supervisor_extension, ring_timeout_s=ring_timeout_s)
        return transfers.transfer(self, agent_id, call_id, target, plan, now)

    def _random_id(self, campaign_id: str) -> str:
        return f"{campaign_id[:24]}-{next(self._seq):x}-{secrets.token_hex(3)}"


@runtime_checkable
class DispositionSource(Protocol):
    """A screen-pop renderer that also knows each campaign's disposition codes (`agents.screenpop`)."""

    def dispositions_for(self, campaign_id: str) -> DispositionSet: ...


def _no_dispositions(campaign_id: str) -> DispositionSet | None:
    return None


def _default_screenpop(call: Call, agent: Agent) -> dict[str, Any]:
    return {
        "call_id": call.call_id,
        "campaign_id": call.campaign_id,
        "lead_id": call.lead_id,
        "lead": dict(call.fields),
        "script": "",
    }
