"""Calls an agent starts (preview and manual dialing), for the engine (blind transfers: `transfers`).

Pure functions over the `Engine`'s state, kept out of `core.py` so that the predictive hand-off reads
on its own. They return commands like every engine method and never do I/O.

Agent-leg-first (docs/DIALPLAN_CONTRACT.md, "Agent-leg-first Originate"): the Originate's channel is
the agent's phone (`Local/<ext>@dialer-agent/n`, `ChannelId = call_id`), so every event with
`Uniqueid == call_id` is about the agent leg. Once the agent answered, the dialplan context
`dialer-agent-dial` dials the customer with `Dial()`; the engine learns the customer leg from that
`DialBegin` (the one whose caller is the agent leg) and keeps it as an alias of the call, so the
customer's `DialState`, `DialEnd`, `BridgeEnter` and `Hangup` find the call in one lookup too.

    agent leg up (Newstate Up or OriginateResponse success)   AGENT_RINGING -> DIALING
    DialBegin agent leg -> customer leg                       remember the customer leg
    DialState RINGING of the customer leg                     DIALING -> RINGING; its first ring starts the
                                                              ring timeout (`Engine.ring_deadlines`)
    rung the ring timeout since that first ring               Hangup of the customer leg (cause 19): the
                                                              DialEnd NOANSWER that follows ends it no_answer
    DialEnd ANSWER of the customer leg                        -> CONNECTED, agent DIALING -> TALKING
    DialerTrunkResult of the customer's carrier leg           kept: why the DialEnd that follows failed
    DialEnd BUSY/NOANSWER/CONGESTION/CHANUNAVAIL              ended (the carrier's cause decides, see
                                                              `failures`), agent back to READY
    Hangup of the agent leg before the customer answered      ended (FAILED unless DialEnd said why)
    Hangup of the customer leg                                ended CONNECTED (agent to wrap-up)

The ring timeout runs from the customer's first ring, as for the pacer's dials: the `Dial()` in
`dialer-agent-dial` counts `DIALER_RING_S` from the channel request, so the carrier's set-up (post-dial delay)
would come out of the 15 s the law asks an unanswered call to ring. The daemon sends the ring timeout plus the
set-up allowance as `DIALER_RING_S` (a backstop for a dial that never reports ringing), and the engine hangs up
the customer leg once it has rung the campaign's ring timeout; app_dial then ends the agent's `Dial()` with
`DialEnd NOANSWER`, and the agent leg hangs up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agents.state import AgentEvent, AgentState
from dialer.ami import events as ev
from dialer.engine import failures
from dialer.engine.calls import Call, CallEvent, CallKind, CallOutcome, CallState
from dialer.engine.commands import AgentNotice, AutoDialPreview, Command, OriginateAgentFirst, ScreenPop
from dialer.errors import IllegalTransition, LeadError
from dialer.leads.phone import zones_for

if TYPE_CHECKING:
    from dialer.engine.core import DialRequest, Engine

__all__ = [
    "dial_manual",
    "dial_preview",
    "offer_preview",
    "on_agent_leg_hangup",
    "on_agent_leg_up",
    "on_customer_dialbegin",
    "on_customer_dialend",
    "on_customer_ringing",
    "outcome_of",
    "previews_due",
    "release_dialer",
    "skip_preview",
]

# A manual call's lead id starts with this (`orphans` tells a manual call it takes over by it): the lead the lead
# source made for the call (`dialer.hopper.hopper.MANUAL_LEAD_PREFIX`, the same), else this and the call's id. Never
# built from the number: read-only supervisors see lead ids, and numbers only masked.
MANUAL_LEAD_PREFIX = "manual-"
_FAIL_BY_DIALSTATUS = {
    "BUSY": CallOutcome.BUSY,
    "NOANSWER": CallOutcome.NO_ANSWER,
    "CONGESTION": CallOutcome.CONGESTION,
    "CHANUNAVAIL": CallOutcome.INVALID,
}


# ------------------------------------------------------------------------------------------ preview
def offer_preview(engine: Engine, agent_id: str, request: DialRequest, now: float) -> list[Command]:
    """Reserve `request` for a READY agent of a preview campaign: the agent goes PREVIEWING."""
    agent = engine.roster.get(agent_id)
    if agent is None or agent.campaign_id is None:
        raise IllegalTransition("agent", agent_id, "unknown", "preview a lead")
    engine.roster.apply(agent_id, AgentEvent.PREVIEW, now)
    engine.previews[agent_id] = (agent.campaign_id, request)
    wait = engine.campaigns[agent.campaign_id].preview_auto_dial_s
    if wait is not None:
        engine.preview_deadlines[agent_id] = now + wait
    return [engine.state_notice(agent)]


def previews_due(engine: Engine, now: float) -> list[Command]:
    """The previews that waited their campaign's `preview_auto_dial_s`: one `AutoDialPreview` each."""
    out: list[Command] = []
    for agent_id, deadline in list(engine.preview_deadlines.items()):
        if deadline > now:
            continue
        del engine.preview_deadlines[agent_id]
        held = engine.previews.get(agent_id)
        agent = engine.roster.get(agent_id)
        if held is not None and agent is not None and agent.state is AgentState.PREVIEWING:
            out.append(AutoDialPreview(agent_id, held[1].lead_id, held[1].number_index))
    return out


def _previewed(engine: Engine, agent_id: str, lead_id: str, what: str) -> tuple[str, DialRequest]:
    agent = engine.roster.get(agent_id)
    held = engine.previews.get(agent_id)
    if agent is None or agent.state is not AgentState.PREVIEWING or held is None:
        state = agent.state.value if agent is not None else "unknown"
        raise IllegalTransition("agent", agent_id, state, f"{what} lead {lead_id} (no lead is being previewed)")
    if held[1].lead_id != lead_id:
        raise IllegalTransition("agent", agent_id, "previewing", f"{what} lead {lead_id}: the lead on screen is "
                                                                 f"{held[1].lead_id}")
    return held


def skip_preview(engine: Engine, agent_id: str, lead_id: str, now: float) -> tuple[DialRequest, list[Command]]:
    """The agent skips the previewed lead: back to READY; the caller gives the lead back to its source."""
    _campaign, request = _previewed(engine, agent_id, lead_id, "skip")
    agent = engine.roster.apply(agent_id, AgentEvent.SKIP, now)
    del engine.previews[agent_id]
    engine.preview_deadlines.pop(agent_id, None)
    return request, [engine.state_notice(agent)]


def dial_preview(engine: Engine, agent_id: str, lead_id: str, number_index: int,
                 now: float) -> tuple[str, list[Command]]:
    """Dial the previewed lead on the number the hopper chose for it (agent leg first)."""
    campaign_id, request = _previewed(engine, agent_id, lead_id, "dial")
    if number_index != request.number_index:
        raise IllegalTransition("agent", agent_id, "previewing", f"dial number #{number_index} of lead {lead_id}: "
                                                                 f"the contact policy cleared number #"
                                                                 f"{request.number_index} only")
    del engine.previews[agent_id]
    engine.preview_deadlines.pop(agent_id, None)
    own = request.callback_at is not None and request.callback_agent == agent_id
    return _dial(engine, agent_id, campaign_id, request, CallKind.CALLBACK if own else CallKind.PREVIEW, now)


def dial_manual(engine: Engine, agent_id: str, number: str, now: float, *,
                lead: DialRequest | None = None) -> tuple[str, list[Command]]:
    """Dial a number the agent typed (the caller has checked it against the contact policy). `lead`: the lead the
    campaign's lead source made for the call and took for it (its result is written there); None: a lead id of the
    call's own (`MANUAL_LEAD_PREFIX` and the call id), the number's zone for reports."""
    from dialer.engine.core import DialRequest

    agent = engine.roster.get(agent_id)
    if agent is None or agent.campaign_id is None:
        raise IllegalTransition("agent", agent_id, "unknown", "dial a number")
    if agent.state is AgentState.PREVIEWING:
        raise IllegalTransition("agent", agent_id, "previewing", "dial another number (dial or skip the preview)")
    if lead is not None:
        return _dial(engine, agent_id, agent.campaign_id, lead, CallKind.MANUAL, now)
    try:
        zone = next(iter(zones_for(number)), None)
    except LeadError:  # the caller checked the number; a zone is only for reports
        zone = None
    call_id = engine.new_call_id(agent.campaign_id)
    request = DialRequest(lead_id=f"{MANUAL_LEAD_PREFIX}{call_id}", number=number, zone=zone)
    return _dial(engine, agent_id, agent.campaign_id, request, CallKind.MANUAL, now, call_id=call_id)


def _dial(engine: Engine, agent_id: str, campaign_id: str, r: DialRequest, kind: CallKind,
          now: float, *, call_id: str | None = None) -> tuple[str, list[Command]]:
    agent = engine.roster.get(agent_id)
    assert agent is not None
    camp = engine.campaigns[campaign_id]
    agent.check(AgentEvent.DIAL)  # raises IllegalTransition before a call id is spent
    back = (agent.pause_reason or "manual dial") if agent.state is AgentState.PAUSED else None
    call_id = call_id or engine.new_call_id(campaign_id)
    engine.roster.apply(agent_id, AgentEvent.DIAL, now, call_id=call_id, reason=back)  # back to the pause after it
    call = Call(call_id=call_id, campaign_id=campaign_id, lead_id=r.lead_id,
                number=r.number, attempt=r.attempt, number_index=r.number_index, fields=dict(r.fields), created_at=now,
                originated_at=now, callback_agent=r.callback_agent, callback_at=r.callback_at, zone=r.zone,
                lead_list=r.lead_list, target=r.target, kind=kind, agent_id=agent_id, record=camp.record_calls,
                ring_limit_s=camp.ring_timeout_s)  # timed from the customer's first ring (`on_customer_ringing`)
    call.apply(CallEvent.RING_AGENT)
    engine.calls[call.call_id] = call
    camp.active.add(call.call_id)
    engine.stats.placed += 1
    return call.call_id, [
        OriginateAgentFirst(call_id=call.call_id, campaign_id=campaign_id, lead_id=r.lead_id, number=r.number,
                            agent_id=agent_id, extension=agent.extension, ring_timeout_s=camp.ring_timeout_s,
                            caller_id_name=camp.caller_id_name, caller_id_number=camp.caller_id_number,
                            record=call.record),
        ScreenPop(agent_id, call.call_id, engine.screenpop(call, agent)),
        engine.state_notice(agent),
    ]


# ------------------------------------------------------------------------------------------ AMI events
def on_agent_leg_up(engine: Engine, c: Call, now: float) -> list[Command]:
    if c.state is CallState.AGENT_RINGING:
        c.apply(CallEvent.AGENT_UP)
    return []


def on_customer_dialbegin(engine: Engine, c: Call, e: ev.DialBegin) -> list[Command]:
    if c.customer_uid is None and c.state in (CallState.AGENT_RINGING, CallState.DIALING):
        if c.state is CallState.AGENT_RINGING:
            c.apply(CallEvent.AGENT_UP)
        c.customer_uid = e.dest_uniqueid
        c.customer_channel = e.dest_channel
        engine.aliases[e.dest_uniqueid] = c.call_id
    return []


def on_customer_ringing(engine: Engine, c: Call, now: float) -> list[Command]:
    """The customer's phone rings (Newstate Ringing or DialState RINGING of its leg): the first one starts the
    ring timeout, after which `Engine.tick` hangs the customer leg up (the agent's own phone ringing does not)."""
    if c.state in (CallState.DIALING, CallState.RINGING):
        c.apply(CallEvent.RING)
        if c.ringing_at is None:
            c.ringing_at = now
            if c.ring_limit_s is not None and c.cut_at is None:
                engine.ring_deadlines[c.call_id] = now + c.ring_limit_s
    return []


def on_customer_dialend(engine: Engine, c: Call, e: ev.DialEnd, now: float) -> list[Command]:
    c.dial_status = str(e.dial_status)
    if c.state not in (CallState.DIALING, CallState.RINGING):
        return []
    if c.dial_status != "ANSWER":
        return engine.end_call(c, outcome_of(c), now)
    c.apply(CallEvent.PICKUP)
    engine.ring_deadlines.pop(c.call_id, None)
    c.answered_at = c.connected_at = now
    c.connected_pbx_ts = e.timestamp
    engine.stats.answered += 1
    engine.stats.connected += 1
    out: list[Command] = []
    agent = engine.roster.get(c.agent_id or "")
    if agent is not None and agent.state is AgentState.DIALING and agent.call_id == c.call_id:
        engine.roster.apply(agent.agent_id, AgentEvent.CONNECT, now)
        agent.calls_taken += 1
        out.append(AgentNotice(agent.agent_id, "connected", {"call_id": c.call_id, "wait_s": 0.0}))
        out.append(engine.state_notice(agent))
    return out


def outcome_of(c: Call) -> CallOutcome:
    """The outcome of an agent-started call that ended before the customer answered.

    The carrier's cause (DialerTrunkResult) decides when the dial got that far: the customer leg's
    DialEnd only carries what app_dial made of the Local channel's hang-up (cause 1 reads NOANSWER).
    """
    if c.trunk_status is not None and c.trunk_cause is not None:
        return failures.trunk_outcome(c.trunk_status, c.trunk_cause)
    if c.cut_at is not None:
        return CallOutcome.NO_ANSWER  # we hung it up at its ring timeout, whatever reached us of it
    return _FAIL_BY_DIALSTATUS.get(c.dial_status or "", CallOutcome.FAILED)


def on_agent_leg_hangup(engine: Engine, c: Call, now: float) -> list[Command]:
    """The agent leg went before the customer answered: the agent's phone did not answer, or hung up."""
    if not c.is_pre_answer:
        return []  # connected: the customer leg's own Hangup follows and ends the call
    return engine.end_call(c, outcome_of(c), now)


def release_dialer(engine: Engine, c: Call, now: float) -> list[Command]:
    """An agent-started call ended before it connected: its agent is free again (or paused, if pending)."""
    agent = engine.roster.get(c.agent_id or "")
    if agent is None or agent.state is not AgentState.DIALING or agent.call_id != c.call_id:
        return []
    engine.roster.apply(agent.agent_id, AgentEvent.RELEASE, now)
    out: list[Command] = [AgentNotice(agent.agent_id, "dial_failed", {"call_id": c.call_id,
                                                                        "outcome": (c.outcome or "").__str__()})]
    return out + engine.after_wrapup(agent, now)
