"""From Originate to answer or failure: the ringing half of a call, as Asterisk 22 reports it.

`originate()` runs right after the `Originate successfully queued` response. A customer dial
(`Local/<digits>@<any context but the agent one>`) draws its far end from the traffic model and then
plays one of the transcript's openings: ringing then answer (`human_*`, `machine`), busy, congestion,
an unallocated number (cause 1), ringing until our Originate `Timeout` fires (`noanswer`: no DialEnd,
HangupRequest cause 19, Reason 3) or until the far end gives up (`noanswer_remote`: DialEnd NOANSWER,
Reason 0). A dial that cannot make a channel (unknown technology, a dial string the Local channel
driver rejects, a Uniqueid already in use) gets only a failed OriginateResponse with Reason 0.

The `;2` leg stands for `dialer-outbound` and the carrier behind it (no trunk channel is modelled).
When the carrier refuses the call (busy, congestion, unallocated, the far end gives up ringing), the
`;2` leg first sends `UserEvent: DialerTrunkResult` with the `DIALSTATUS` and `HANGUPCAUSE` that
`Dial()` would leave (`BUSY` 17, `CONGESTION` 34, `CHANUNAVAIL` 1, `NOANSWER` 19), then fails the
Local channel as the dialplan does: `Busy()`, `Congestion()`, or `Hangup(<cause>)`. For cause 1 the
`;1` leg's `DialEnd` says `NOANSWER`, as `ast_hangup_cause_to_dial_status` makes it in Asterisk 22.

An agent leg (`Local/<ext>@dialer-agent`) is the agent's auto-answer phone: it answers after
`agent_answer_delay_s` and sends `UserEvent: AgentAnswered`.
"""

from __future__ import annotations

from collections.abc import Callable

from pacing.traffic import DialOutcome

from . import agentdial, dialplan, teardown
from .fate import draw_far_end
from .model import BUSY, RINGING, UP, Call, CallKind, CallRecord, Channel, OriginateRequest, Phase, SimOutcome
from .pbx import Pbx
from .render import kv

__all__ = ["begin_ringing", "end", "originate"]

_RINGING = b"DialStatus: RINGING\r\n"


def originate(pbx: Pbx, req: OriginateRequest) -> None:
    """Start the dial described by an accepted Originate."""
    pbx.stats.originates_received += 1
    exten, _, rest = req.data.partition("@")
    context = rest.split("/", 1)[0]
    ok_local = req.tech.lower() == "local" and exten and context
    ids = [i for i in (req.channel_id, req.other_channel_id) if i]
    if not ok_local or any(pbx.uid_in_use(i) for i in ids) or len(set(ids)) < len(ids):
        _fail_fast(pbx, req, exten)
    elif context == pbx.cfg.agent_context:
        _start_agent(pbx, req, exten)
    elif exten.isdigit():
        _start_customer(pbx, req, exten, context)
    else:  # the Local driver finds no such extension in a `_X.` context
        _fail_fast(pbx, req, exten)


def _fail_fast(pbx: Pbx, req: OriginateRequest, number: str) -> None:
    pbx.stats.originates_failed_fast += 1
    call_id = req.channel_id or req.action_id or ""
    if not call_id or call_id in pbx.calls:  # never overwrite the record of another dial
        call_id = pbx.fallback_call_id()
    record = CallRecord(
        call_id=call_id,
        action_id=req.action_id,
        number=number,
        nth=0,
        fate=None,
        amd_enabled=False,
        originated_at=pbx.sched.now(),
        originate_reason=0,
    )
    pbx.add_record(record)
    pbx.stats.calls_started += 1
    pbx.stats.calls_live += 1
    pbx.originate_response(req, None, 0)
    pbx.finish(record, SimOutcome.FAILED, "pbx", None)


def _announce(pbx: Pbx, call: Call, req: OriginateRequest) -> None:
    """The transcript's opening: two Newchannel, caller ids, LocalBridge, DialBegin."""
    one, two = call.one, call.two
    pbx.ev("Newchannel", one)
    pbx.ev("Newchannel", two)
    pbx.dialplan(one, 1, "AppDial2", "(Outgoing Line)")
    for name, value in call.vars.items():
        pbx.varset(one, name, value)
    cid = (req.cid_num or "<unknown>", req.cid_name or "<unknown>")
    one.set_ids(cid, cid)
    two.set_ids(cid, cid)
    for name, value in call.vars.items():
        pbx.varset(two, name, value)
    pbx.local_bridge(call)
    pbx.dial_ev("DialBegin", None, one, kv("DialString", req.data))


def _caller(call: Call) -> Channel | None:
    """The channel whose `Dial()` made this pair (an agent leg in `dialer-agent-dial`), or None (Originate)."""
    return call.caller.one if call.caller is not None else None


def _ring(pbx: Pbx, call: Call, wait_s: float) -> None:
    pbx.dialplan(call.two, 1, "Ringing", "")
    pbx.newstate(call.one, RINGING)
    pbx.dial_ev("DialState", _caller(call), call.one, _RINGING)
    pbx.dialplan(call.two, 2, "Wait", f"{wait_s:.0f}")


def _start_customer(pbx: Pbx, req: OriginateRequest, exten: str, context: str) -> None:
    now = pbx.sched.now()
    uid1 = req.channel_id or pbx.new_uniqueid()
    uid2 = req.other_channel_id or pbx.new_uniqueid()
    call = pbx.new_pair(CallKind.CUSTOMER, exten, context, uid1, uid2, dict(req.variables))
    call.orig = req
    nth = pbx.next_dial(exten)
    amd_on = call.vars.get("DIALER_AMD", "1").strip() != "0"
    far = draw_far_end(
        pbx.cfg.traffic, pbx.cfg.far, seed=pbx.seed, number=exten, nth=nth, shift_t=now - pbx.shift_start, amd_on=amd_on
    )
    call.far = far
    call.record = CallRecord(
        call_id=uid1,
        action_id=req.action_id,
        number=exten,
        nth=nth,
        fate=far.fate,
        amd_enabled=amd_on,
        lead_id=call.lead_id,
        campaign=call.vars.get("DIALER_CAMPAIGN", ""),
        early_hangup=far.early_hangup_s is not None,
        originated_at=now,
    )
    call.record.phases.append(Phase.DIALING.value)
    pbx.add_record(call.record)
    pbx.stats.calls_started += 1
    pbx.stats.calls_live += 1
    _announce(pbx, call, req)
    begin_ringing(pbx, call, now + req.timeout_s, _our_timeout)


def begin_ringing(pbx: Pbx, call: Call, deadline: float, on_deadline: Callable[[Pbx, Call], None]) -> None:
    """Play the drawn far end from the first ring: answer, busy, congestion, invalid, or ring until
    `deadline` (then `on_deadline`: our Originate Timeout, or the `Dial()` timeout of an agent leg)."""
    assert call.far is not None
    fate = call.far.fate
    now = pbx.sched.now()
    ends_at = now + fate.ring_s
    if fate.outcome in (DialOutcome.LIVE, DialOutcome.MACHINE, DialOutcome.NO_ANSWER):
        _ring(pbx, call, fate.ring_s)
        if ends_at >= deadline:
            call.timers["dial"] = pbx.sched.at(deadline, on_deadline, pbx, call)
        elif fate.outcome is DialOutcome.NO_ANSWER:
            call.timers["dial"] = pbx.sched.at(ends_at, _remote_noanswer, pbx, call)
        else:
            call.timers["dial"] = pbx.sched.at(ends_at, _answer, pbx, call)
    elif ends_at >= deadline:
        call.timers["dial"] = pbx.sched.at(deadline, on_deadline, pbx, call)
    else:
        call.timers["dial"] = pbx.sched.at(ends_at, _reject, pbx, call)


def _set_reason(call: Call, reason: int) -> None:
    if call.record is not None:
        call.record.originate_reason = reason


def end(pbx: Pbx, call: Call, outcome: SimOutcome, ended_by: str, cause: int) -> None:
    if call.record is not None:
        pbx.finish(call.record, outcome, ended_by, cause)
    pbx.drop_call(call)
    agent, call.caller = call.caller, None
    if agent is not None:  # Dial() in dialer-agent-dial returned without an answer: `Hangup(16)`
        teardown.dial_returned(pbx, agent, 16, hangup_app=True)


def _our_timeout(pbx: Pbx, call: Call) -> None:
    """Our Originate Timeout expires while it rings (transcript `noanswer`)."""
    one, two = call.one, call.two
    pbx.hangup_request(two, 19)
    if call.orig is not None:
        pbx.originate_response(call.orig, call, 3)
    _set_reason(call, 3)
    pbx.hangup(one, 19)
    pbx.soft_hangup(two, 16)
    pbx.hangup(two, 19)
    end(pbx, call, SimOutcome.NO_ANSWER_TIMEOUT, "timeout", 19)


def _remote_noanswer(pbx: Pbx, call: Call) -> None:
    """The far end stops ringing first (transcript `noanswer_remote`)."""
    one, two = call.one, call.two
    _trunk_result(pbx, call, "NOANSWER", 19)
    pbx.dialplan(two, 9, "Hangup", "19")
    pbx.soft_hangup(two, 16)
    pbx.hangup_request(one, 19)
    pbx.hangup(two, 19)
    pbx.dial_ev("DialEnd", _caller(call), one, b"DialStatus: NOANSWER\r\n")
    pbx.hangup(one, 19)
    if call.orig is not None:
        pbx.originate_response(call.orig, call, 0)
    _set_reason(call, 0)
    end(pbx, call, SimOutcome.NO_ANSWER_REMOTE, "far_end", 19)


def _trunk_result(pbx: Pbx, call: Call, dial_status: str, cause: int) -> None:
    """`dialer-outbound` after the carrier leg's `Dial()` failed: `UserEvent(DialerTrunkResult)`."""
    two = call.two
    data = f"DialerTrunkResult,CallID: {call.call_id},DialStatus: {dial_status},HangupCause: {cause}"
    pbx.dialplan(two, 5, "UserEvent", data)
    pbx.user_event(two, "DialerTrunkResult", ("CallID", call.call_id), ("DialStatus", dial_status),
                   ("HangupCause", str(cause)))


def _reject(pbx: Pbx, call: Call) -> None:
    """Busy, congestion or an unallocated number, after `ring_s` of trying."""
    assert call.far is not None
    one, two = call.one, call.two
    outcome = call.far.fate.outcome
    orig = call.orig
    if outcome is DialOutcome.INVALID:
        _trunk_result(pbx, call, "CHANUNAVAIL", 1)  # app_dial: any cause but 16, 17, 19, 34
        pbx.dialplan(two, 9, "Hangup", "1")
        pbx.soft_hangup(two, 16)
        pbx.hangup_request(one, 1)
        pbx.hangup(two, 1)
        pbx.dial_ev("DialEnd", _caller(call), one, b"DialStatus: NOANSWER\r\n")
        pbx.hangup(one, 1)
        if orig is not None:
            pbx.originate_response(orig, call, 0)
        _set_reason(call, 0)
        end(pbx, call, SimOutcome.INVALID, "far_end", 1)
        return
    busy = outcome is DialOutcome.BUSY
    _trunk_result(pbx, call, "BUSY" if busy else "CONGESTION", 17 if busy else 34)
    pbx.dialplan(two, 10 if busy else 12, "Busy" if busy else "Congestion", "3")
    pbx.newstate(two, BUSY)  # Asterisk shows congestion as state 7 (Busy) too
    pbx.dial_ev("DialEnd", _caller(call), one, b"DialStatus: BUSY\r\n" if busy else b"DialStatus: CONGESTION\r\n")
    pbx.hangup_request(two, 0)
    if busy:  # transcript `busy`
        pbx.soft_hangup(two, 16)
        pbx.hangup(two, 17)
        pbx.hangup(one, 0)
        if orig is not None:
            pbx.originate_response(orig, call, 5)
        _set_reason(call, 5)
        end(pbx, call, SimOutcome.BUSY, "far_end", 17)
        return
    if orig is not None:  # transcript `congestion`
        pbx.originate_response(orig, call, 8)
    _set_reason(call, 8)
    pbx.hangup(one, 0)
    pbx.soft_hangup(two, 16)
    pbx.hangup(two, 34)
    end(pbx, call, SimOutcome.CONGESTION, "far_end", 34)


def _answer(pbx: Pbx, call: Call) -> None:
    """The far end answers; `;1` lands in the Originate's context (or runs its application)."""
    assert call.far is not None
    assert call.record is not None
    one, two, far = call.one, call.two, call.far
    call.timers.pop("dial", None)
    pbx.dialplan(two, 3, "Answer", "")
    pbx.newstate(two, UP)
    pbx.newstate(one, UP)
    pbx.dial_ev("DialEnd", _caller(call), one, b"DialStatus: ANSWER\r\n")
    call.record.answered_at = pbx.sched.now()
    req = call.orig
    if req is not None:
        pbx.originate_response(req, call, 4)
    _set_reason(call, 4)
    dialed_by = call.caller
    if dialed_by is not None:
        agentdial.customer_answered(pbx, call, dialed_by)
    if far.fate.outcome is DialOutcome.MACHINE:
        call.timers["greeting"] = pbx.sched.later(far.greeting_s, teardown.far_hangup, pbx, call)
    if far.early_hangup_s is not None:
        call.timers["early"] = pbx.sched.later(far.early_hangup_s, teardown.far_hangup, pbx, call)
    pbx.dialplan(two, 4, "Playback", "hello" if far.fate.outcome is DialOutcome.LIVE else "greeting")
    if dialed_by is not None:
        return
    if req is not None and req.app:
        dialplan.run_app(pbx, call, req.app, req.appdata)
    elif req is not None:
        dialplan.enter(pbx, call, req.context, req.exten)


def _start_agent(pbx: Pbx, req: OriginateRequest, ext: str) -> None:
    pbx.stats.agent_originates += 1
    uid1 = req.channel_id or pbx.new_uniqueid()
    uid2 = req.other_channel_id or pbx.new_uniqueid()
    call = pbx.new_pair(CallKind.AGENT, ext, pbx.cfg.agent_context, uid1, uid2, dict(req.variables))
    call.orig = req
    call.agent_ext = ext
    _announce(pbx, call, req)
    delay = pbx.cfg.agent_answer_delay_s
    if delay >= req.timeout_s:
        _ring(pbx, call, req.timeout_s)
        call.timers["dial"] = pbx.sched.later(req.timeout_s, _our_timeout, pbx, call)
    elif delay > 0:
        _ring(pbx, call, delay)
        call.timers["dial"] = pbx.sched.later(delay, _agent_answers, pbx, call)
    else:
        _agent_answers(pbx, call)


def _agent_answers(pbx: Pbx, call: Call) -> None:
    """The agent's auto-answer phone picks up an originated agent leg."""
    one, two, req = call.one, call.two, call.orig
    call.timers.pop("dial", None)
    pbx.dialplan(two, 1, "NoOp", f"AGENT {call.agent_ext} answering")
    pbx.dialplan(two, 2, "Answer", "")
    pbx.newstate(two, UP)
    pbx.newstate(one, UP)
    if req is not None:
        pbx.originate_response(req, call, 4)
    pbx.dial_ev("DialEnd", None, one, b"DialStatus: ANSWER\r\n")
    call.move(Phase.APP)
    if req is not None and req.app:
        one.set_app(req.app, req.appdata)
        if req.app.lower() == "wait" and _is_number(req.appdata):
            call.timers["wait"] = pbx.sched.later(float(req.appdata), dialplan.app_done, pbx, call)
    elif req is not None:
        one.goto(req.context, req.exten, req.priority)
    dialplan.agent_answered(pbx, call)
    if req is not None and not req.app and req.context == agentdial.CONTEXT:
        agentdial.dial_customer(pbx, call, req.exten)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
