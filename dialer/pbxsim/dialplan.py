"""The contract's dialplan (docs/DIALPLAN_CONTRACT.md, asterisk_conf/extensions.conf) for a customer leg.

- `dialer-connect,s`: the answer mark in the PBX's AstDB (`Pbx.astdb`, read with `DBGet`), `AMD()` when
  `DIALER_AMD=1` (verdict and delay come from the drawn far end), the verdict into the mark,
  `UserEvent(DialerAMD)`, `UserEvent(DialerParked)`, `Wait(600)`, then `dialer-abandon`. A live person
  waits `patience_s` from the moment they are parked, then hangs up.
- `dialer-to-agent,<ext>`: `UserEvent(DialerConnectAgent)`, `Gosub(dialer-record)` (`recording.py`: MixMonitor
  when the campaign records), `Dial(Local/<ext>@dialer-agent)`. The agent
  phone answers, a bridge forms, the person talks `talk_s` and hangs up unless someone hangs up first.
  If the agent phone does not answer within `agent_ring_s` (the dialplan's 2 s), or its leg is hung up
  while ringing, the person goes straight to the abandon message.
- `dialer-transfer,<ext>` (blind transfer): the same `Dial()`, ringing up to `transfer_ring_max_s`; when it
  fails, `UserEvent(DialerTransferFailed)` and the person waits (`Wait(600)`) for the dialer to move them,
  as in `dialer-connect`.
- How an agent phone answers is per extension (`Pbx.phones`, set with `PbxSimulator.set_phone`): it
  answers after `agent_answer_delay_s`, never answers, is busy (`DialEnd BUSY`, cause 17) or unavailable
  (`DialEnd CHANUNAVAIL`, cause 20: not registered).
- `dialer-abandon,s`: the message, `UserEvent(DialerAbandonPlayed)`, hang up. With an opt-out key
  (`optout_digit`, DIALER_OPTOUT_DIGIT) the dialplan first waits 3 s for it (`Read`); a person whose
  far end `opts_out` presses it after 1.5 s: `UserEvent(DialerOptOut)` (CallID, LeadID, Campaign).
- `dialer-machine,s`: wait for the beep, leave the message, `UserEvent(DialerMachineMessage)`, hang up.
- `dialer-agentless,s` (agentless campaigns): `Playback(${DIALER_MESSAGE})` for `agentless_message_s`,
  `UserEvent(DialerAgentlessPlayed)`, the opt-out key as after the abandon message, hang up; a person
  whose `talk_s` is shorter hangs up first.
  `dialer-agentless,machine`: as `dialer-machine` (the beep, then the campaign's message).
- The AMI `Bridge` action joins a waiting customer leg and an idle agent leg; the agent leg's Linkedid
  becomes the customer's. When the agent leaves, the customer goes back to `dialer-connect`
  (`UserEvent(DialerParkEnd)`, then `Hangup`), as in the real transcript.

Priorities and application names follow the dialplan, so a session with the `dialplan` class sees a
plausible `Newexten` stream; other sessions never pay for rendering it.
"""

from __future__ import annotations

import time

from dialer.ami.marks import ANSWERED, MARK_FAMILY
from pacing.traffic import DialOutcome

from . import agentdial, teardown
from .model import RINGING, UP, Call, CallKind, Channel, Phase, SimOutcome
from .pbx import Pbx
from .recording import start_recording
from .render import kv

__all__ = [
    "AGENTLESS",
    "PHONE_BEHAVIOURS",
    "TRANSFER",
    "agent_answered",
    "app_done",
    "bridge",
    "bridge_error",
    "connected",
    "enter",
    "hangup_action",
    "redirect",
    "redirect_error",
    "run_app",
]

_LEAVABLE = frozenset(
    {Phase.AMD, Phase.PARKED, Phase.APP, Phase.ABANDON, Phase.AGENT_DIAL, Phase.CONNECTED, Phase.BRIDGED}
)
_BRIDGEABLE = frozenset({Phase.AMD, Phase.PARKED, Phase.APP, Phase.ABANDON})
_MOVED = ("amd", "early", "patience", "wait", "abandon", "talk", "agent_ring")
TRANSFER = "dialer-transfer"
AGENTLESS = "dialer-agentless"
AGENTLESS_SOUND = "custom/dialer-agentless"  # the dialplan's DIALER_AGENTLESS_SOUND
PHONE_BEHAVIOURS = frozenset({"answer", "noanswer", "busy", "unavailable"})
_PHONE_FAILS = {"busy": ("BUSY", 17), "unavailable": ("CHANUNAVAIL", 20)}
_LAST_DAY = "/dialer_marks/last"  # the AstDB key of `dialer-marks-sweep`


def _ids(call: Call) -> tuple[tuple[str, str], tuple[str, str]]:
    return ("CallID", call.call_id), ("LeadID", call.lead_id)


def enter(pbx: Pbx, call: Call, context: str, exten: str) -> None:
    """Send the customer `;1` leg to `context,exten,1`."""
    if context == "dialer-connect":
        _connect(pbx, call)
    elif context in ("dialer-to-agent", TRANSFER):
        _to_agent(pbx, call, exten, context)
    elif context in ("dialer-abandon", "dialer-machine"):
        _message(pbx, call, context)
    elif context == AGENTLESS and exten in ("s", "machine"):
        _agentless(pbx, call, exten)
    else:  # no such extension in our dialplan: Asterisk hangs the channel up
        call.one.goto(context, exten, 1)
        call.move(Phase.APP)
        teardown.dialplan_hangup(pbx, call, SimOutcome.HUNG_UP_BY_DIALER)


def run_app(pbx: Pbx, call: Call, app: str, data: str) -> None:
    """An Originate with `Application:`: the answered leg runs it; `Wait(n)` ends after n seconds."""
    call.one.set_app(app, data)
    call.move(Phase.APP)
    if app.lower() == "wait":
        try:
            seconds = float(data)
        except ValueError:
            seconds = 0.0
        call.timers["wait"] = pbx.sched.later(seconds, app_done, pbx, call)
    _start_patience(pbx, call)


def app_done(pbx: Pbx, call: Call) -> None:
    """The originated application returned: Asterisk hangs the leg up."""
    call.timers.pop("wait", None)
    if call.phase is not Phase.APP:
        return
    if call.kind is CallKind.AGENT:
        teardown.agent_hangup(pbx, call, 16)
    else:
        teardown.dialplan_hangup(pbx, call, SimOutcome.HUNG_UP_BY_DIALER)


def hangup_action(pbx: Pbx, ch: Channel, cause: int) -> None:
    """The AMI Hangup action on `ch`, whichever call and leg it is."""
    call = ch.call
    if call is None or call.phase is Phase.HANGING_UP:  # already being hung up: it ends as it would have
        return
    if call.kind is CallKind.AGENT:
        customer = call.peer if call.phase is Phase.DIALING else None
        agentdial.cancel_customer(pbx, call, cause)
        teardown.agent_hangup(pbx, call, cause)
        if customer is not None:
            _agent_dial_failed(pbx, customer)
    elif ch is call.one:
        teardown.customer_hangup_by_dialer(pbx, call, cause)
    else:
        teardown.far_hangup(pbx, call, cause, ended_by="dialer")


def _start_patience(pbx: Pbx, call: Call) -> None:
    if call.far is not None and call.far.fate.outcome is DialOutcome.LIVE:
        call.timers["patience"] = pbx.sched.later(call.far.fate.patience_s, teardown.far_hangup, pbx, call)


def _wait(pbx: Pbx, call: Call, priority: int) -> None:
    """`Wait(600)` for the dialer to move the call; then the abandon message."""
    wait = f"{pbx.cfg.park_wait_s:.0f}"
    pbx.dialplan(call.one, priority, "Wait", wait)
    call.move(Phase.PARKED)
    _start_patience(pbx, call)
    call.timers["wait"] = pbx.sched.later(pbx.cfg.park_wait_s, _wait_over, pbx, call)


def _wait_over(pbx: Pbx, call: Call) -> None:
    call.cancel(*_MOVED)
    pbx.dialplan(call.one, call.one.priority + 1, "Goto", "dialer-abandon,s,1")
    _message(pbx, call, "dialer-abandon")


def _mark(pbx: Pbx, call: Call, status: str) -> None:
    """The answer mark (docs/DIALPLAN_CONTRACT.md, "Answer marks"): `<epoch>:<status>` under the answer's
    UTC day, in the PBX's AstDB; the first answer of a day runs `dialer-marks-sweep`."""
    answered = call.vars.setdefault("DIALER_ANSWERED", str(int(pbx.sched.now())))
    day = call.vars.setdefault("DIALER_MARK_DAY", time.strftime("%Y%m%d", time.gmtime(int(answered))))
    key = f"/{MARK_FAMILY}/{day}/{call.call_id}"
    pbx.astdb[key] = f"{answered}:{status}"
    pbx.dialplan(call.one, 4 if status == ANSWERED else 17, "Set", f"DB({key[1:]})={answered}:{status}")
    if status == ANSWERED and pbx.astdb.get(_LAST_DAY) != day:
        _sweep_marks(pbx, int(answered))


def _sweep_marks(pbx: Pbx, answered: int) -> None:
    """`dialer-marks-sweep`: drop the marks of every day before yesterday (of the answer at `answered`)."""
    keep = time.strftime("%Y%m%d", time.gmtime(answered - 86_400))
    family = f"/{MARK_FAMILY}/"
    days = {k[len(family):].split("/")[0] for k in pbx.astdb if k.startswith(family)}
    for day in sorted(d for d in days if d and d < keep):
        tree = f"{family}{day}/"
        for key in [k for k in pbx.astdb if k.startswith(tree)]:
            del pbx.astdb[key]
    pbx.astdb[_LAST_DAY] = time.strftime("%Y%m%d", time.gmtime(answered))


def _connect(pbx: Pbx, call: Call) -> None:
    one = call.one
    one.goto("dialer-connect", "s", 1)
    pbx.dialplan(one, 1, "NoOp", f"dialer call {call.call_id} lead {call.lead_id}")
    _mark(pbx, call, ANSWERED)
    amd_on = call.vars.get("DIALER_AMD", "1").strip() != "0"
    pbx.dialplan(one, 10, "GotoIf", f"{int(amd_on)}?amd")
    if amd_on and call.far is not None:
        pbx.dialplan(one, 14, "AMD", "")
        call.move(Phase.AMD)
        call.timers["amd"] = pbx.sched.later(call.far.fate.amd_delay_s, _amd_done, pbx, call)
    else:
        call.vars["DIALER_AMD_STATUS"] = "SKIPPED"
        pbx.dialplan(one, 11, "Set", "DIALER_AMD_STATUS=SKIPPED")
        _park(pbx, call, "SKIPPED", "none")


def _amd_done(pbx: Pbx, call: Call) -> None:
    assert call.far is not None
    call.cancel("amd", "early")
    one = call.one
    status, cause = call.far.fate.amd_verdict.value, call.far.amd_cause
    call.vars["AMDSTATUS"] = status
    pbx.varset(one, "AMDSTATUS", status)
    pbx.varset(one, "AMDCAUSE", cause)
    pbx.dialplan(one, 15, "Set", f"DIALER_AMD_STATUS={status}")
    pbx.dialplan(one, 16, "Set", f"DIALER_AMD_CAUSE={cause}")
    _park(pbx, call, status, cause)


def _park(pbx: Pbx, call: Call, status: str, cause: str) -> None:
    one = call.one
    _mark(pbx, call, status)  # before the event: an AMI outage may take the event, not the mark
    pbx.dialplan(one, 18, "UserEvent", f"DialerAMD,CallID: {call.call_id},AMDStatus: {status}")
    pbx.user_event(one, "DialerAMD", *_ids(call), ("AMDStatus", status), ("AMDCause", cause))
    pbx.dialplan(one, 19, "UserEvent", f"DialerParked,CallID: {call.call_id}")
    pbx.user_event(one, "DialerParked", *_ids(call))
    record = call.record
    if record is not None:
        now = pbx.sched.now()
        record.amd_status = status
        record.amd_at = record.amd_at or now
        record.parked_at = record.parked_at or now
    _wait(pbx, call, 20)


def _to_agent(pbx: Pbx, call: Call, ext: str, context: str) -> None:
    one = call.one
    ctx = pbx.cfg.agent_context
    one.goto(context, ext, 1)
    ring_s = pbx.cfg.transfer_ring_max_s if context == TRANSFER else pbx.cfg.agent_ring_s
    pbx.dialplan(one, 1, "UserEvent", f"DialerConnectAgent,CallID: {call.call_id},Agent: {ext}")
    pbx.user_event(one, "DialerConnectAgent", *_ids(call), ("Agent", ext))
    dial_at = 2
    if context != TRANSFER:  # a transferred leg keeps the recorder dialer-to-agent started
        pbx.dialplan(one, 2, "Gosub", "dialer-record,s,1")
        start_recording(pbx, call, one)
        dial_at = 3
    pbx.dialplan(one, dial_at, "Dial", f"Local/{ext}@{ctx},{ring_s:g}")
    agent = pbx.new_pair(
        CallKind.AGENT, ext, ctx, pbx.new_uniqueid(), pbx.new_uniqueid(), dict(call.vars), linkedid=one.linkedid
    )
    agent.from_dial = True
    agent.agent_ext = ext
    agent.peer, call.peer = call, agent
    a1, a2 = agent.one, agent.two
    pbx.ev("Newchannel", a1)
    pbx.ev("Newchannel", a2)
    a1.set_ids((ext, one.cid_name), (one.cid_num, one.cid_name))
    a2.set_ids((one.cid_num, one.cid_name), (ext, one.cid_name))
    pbx.dialplan(a1, 1, "AppDial", "(Outgoing Line)")
    pbx.local_bridge(agent)
    pbx.dial_ev("DialBegin", one, a1, kv("DialString", f"{ext}@{ctx}"))
    call.move(Phase.AGENT_DIAL)
    if call.record is not None:
        call.record.agent = ext
    behaviour = pbx.phones.get(ext, "answer")
    delay = pbx.cfg.agent_answer_delay_s
    if behaviour in _PHONE_FAILS:
        agent.timers["dial"] = pbx.sched.later(min(delay, ring_s), _agent_phone_fails, pbx, call, agent,
                                               *_PHONE_FAILS[behaviour])
        return
    if delay <= 0 and behaviour == "answer":
        _agent_picks_up(pbx, call, agent)
        return
    pbx.newstate(a1, RINGING)
    pbx.dial_ev("DialState", one, a1, b"DialStatus: RINGING\r\n")
    if delay < ring_s and behaviour == "answer":
        agent.timers["dial"] = pbx.sched.later(delay, _agent_picks_up, pbx, call, agent)
    else:
        call.timers["agent_ring"] = pbx.sched.later(ring_s, _agent_ring_timeout, pbx, call)


def _agent_ring_timeout(pbx: Pbx, call: Call) -> None:
    """`Dial(...,2)` gave up on the agent phone."""
    call.timers.pop("agent_ring", None)
    teardown.cancel_agent_dial(pbx, call, "NOANSWER")
    _agent_dial_failed(pbx, call)


def _agent_phone_fails(pbx: Pbx, call: Call, agent: Call, status: str, cause: int) -> None:
    """The phone refuses the `Dial()` of its `;2` leg: that leg hangs up with `cause`, and the customer's
    `Dial()` reads the cause from its `;1` (`DialEnd` BUSY for 17, CHANUNAVAIL for 20)."""
    agent.timers.pop("dial", None)
    a1, a2 = agent.one, agent.two
    pbx.dialplan(a2, 1, "Dial", f"PJSIP/{agent.agent_ext},{pbx.cfg.agent_ring_s:g}")
    pbx.dialplan(a2, 2, "Hangup", str(cause))
    pbx.hangup_request(a2, cause)
    pbx.hangup(a2, cause)
    call.peer = None
    call.vars["DIALSTATUS"] = status
    pbx.dial_ev("DialEnd", call.one, a1, b"DialStatus: " + status.encode() + b"\r\n")
    pbx.hangup(a1, cause)
    pbx.drop_call(agent)
    _agent_dial_failed(pbx, call)


def _agent_dial_failed(pbx: Pbx, call: Call) -> None:
    """No agent reached the person. From `dialer-to-agent` that is an abandoned call, and the message
    follows at once; from `dialer-transfer` the person (who talked to an agent already) waits on hold."""
    one = call.one
    pbx.dialplan(one, 3, "GotoIf", "0?done")
    if one.context == TRANSFER:
        status = call.vars.get("DIALSTATUS", "")
        pbx.dialplan(one, 4, "UserEvent", f"DialerTransferFailed,CallID: {call.call_id},Agent: {one.exten}")
        pbx.user_event(one, "DialerTransferFailed", *_ids(call), ("Agent", one.exten), ("DialStatus", status))
        pbx.dialplan(one, 5, "Wait", f"{pbx.cfg.park_wait_s:.0f}")
        call.move(Phase.PARKED)
        call.timers["wait"] = pbx.sched.later(pbx.cfg.park_wait_s, _wait_over, pbx, call)
        _start_patience(pbx, call)  # a person on hold hangs up after their patience, as when parked
        return
    pbx.dialplan(one, 4, "Goto", "dialer-abandon,s,1")
    _message(pbx, call, "dialer-abandon")


def _agent_picks_up(pbx: Pbx, call: Call, agent: Call) -> None:
    """The agent phone answers the Dial(): bridge, AgentAnswered, and the conversation starts."""
    agent.timers.pop("dial", None)
    one, a1, a2 = call.one, agent.one, agent.two
    pbx.dialplan(a2, 1, "Dial", f"PJSIP/{agent.agent_ext},{pbx.cfg.agent_ring_s:g}")
    pbx.newstate(a2, UP)
    pbx.newstate(a1, UP)
    pbx.dial_ev("DialEnd", one, a1, b"DialStatus: ANSWER\r\n")
    call.vars["DIALSTATUS"] = "ANSWER"
    bridge_ = pbx.new_bridge()
    call.bridge = agent.bridge = bridge_
    pbx.bridge_ev("BridgeCreate", bridge_)
    pbx.bridge_enter(bridge_, a1)
    pbx.bridge_enter(bridge_, one)
    agent.move(Phase.CONNECTED)
    call.move(Phase.CONNECTED)
    _connected(pbx, call, agent.agent_ext)
    agent_answered(pbx, agent)


def agent_answered(pbx: Pbx, agent: Call) -> None:
    """The agent side's `UserEvent(AgentAnswered)`."""
    call_id = agent.peer.call_id if agent.peer is not None else agent.call_id
    pbx.user_event(agent.two, "AgentAnswered", ("Agent", agent.agent_ext), ("CallID", call_id))


def connected(pbx: Pbx, call: Call, ext: str) -> None:
    """The customer talks to `ext` now: record it and start the talk timer."""
    _connected(pbx, call, ext)


def _connected(pbx: Pbx, call: Call, ext: str) -> None:
    record, far = call.record, call.far
    if record is not None:
        record.connected_at = pbx.sched.now()
        record.agent = ext
        if record.outcome is SimOutcome.PENDING:
            record.outcome = SimOutcome.CONNECTED
    if far is not None and far.fate.outcome is DialOutcome.LIVE:
        call.timers["talk"] = pbx.sched.later(far.fate.talk_s, teardown.far_hangup, pbx, call)


def _agentless(pbx: Pbx, call: Call, exten: str) -> None:
    """`dialer-agentless`: the campaign's message to a person (`s`) or, after the beep, a machine."""
    if exten == "machine":
        _message(pbx, call, AGENTLESS, "machine")
        return
    one = call.one
    one.goto(AGENTLESS, "s", 1)
    call.move(Phase.ABANDON)
    sound = call.vars.get("DIALER_MESSAGE") or AGENTLESS_SOUND
    pbx.dialplan(one, 1, "NoOp", f"agentless call {call.call_id}")
    pbx.dialplan(one, 2, "GotoIf", "0?ivr")
    pbx.dialplan(one, 3, "Set", f"DIALER_SOUND={sound}")
    pbx.dialplan(one, 4, "Playback", sound)
    if call.record is not None and call.record.outcome is SimOutcome.PENDING:
        call.record.outcome = SimOutcome.DELIVERED
    seconds = pbx.cfg.agentless_message_s
    far = call.far
    if far is not None and far.fate.outcome is DialOutcome.LIVE and far.fate.talk_s < seconds:
        call.timers["talk"] = pbx.sched.later(far.fate.talk_s, teardown.far_hangup, pbx, call)  # hangs up first
        return
    call.timers["abandon"] = pbx.sched.later(seconds, _agentless_played, pbx, call, sound)


def _agentless_played(pbx: Pbx, call: Call, sound: str) -> None:
    one = call.one
    call.timers.pop("abandon", None)
    pbx.dialplan(one, 7, "UserEvent", f"DialerAgentlessPlayed,CallID: {call.call_id}")
    pbx.user_event(one, "DialerAgentlessPlayed", *_ids(call), ("Message", sound), ("PlaybackStatus", "SUCCESS"))
    if pbx.cfg.optout_digit:
        _read_opt_out(pbx, call, 9)
        return
    pbx.dialplan(one, 8, "Hangup", "16")
    teardown.dialplan_hangup(pbx, call, SimOutcome.HUNG_UP_BY_DIALER)


def _message(pbx: Pbx, call: Call, context: str, exten: str = "s") -> None:
    """`dialer-abandon` (the information message) or `dialer-machine` (a message after the beep)."""
    one = call.one
    one.goto(context, exten, 1)
    call.move(Phase.ABANDON)
    seconds = pbx.cfg.abandon_message_s
    if context == "dialer-abandon":
        pbx.dialplan(one, 2, "Playback", f"custom/dialer-abandon-{call.vars.get('DIALER_CAMPAIGN', '')}")
        if call.record is not None:
            call.record.abandon_at = pbx.sched.now()
            if call.record.outcome is SimOutcome.PENDING:
                call.record.outcome = SimOutcome.ABANDONED
    else:
        pbx.dialplan(one, 1, "WaitForSilence", "1000,1,20")
        greeting = call.timers.pop("greeting", None)  # the machine records now instead of hanging up
        if greeting is not None:
            greeting.cancel()
            seconds += max(0.0, greeting.when - pbx.sched.now())
    call.timers["abandon"] = pbx.sched.later(seconds, _message_played, pbx, call, context)


def _message_played(pbx: Pbx, call: Call, context: str) -> None:
    one = call.one
    call.timers.pop("abandon", None)
    name = "DialerAbandonPlayed" if context == "dialer-abandon" else "DialerMachineMessage"
    pbx.dialplan(one, 7, "UserEvent", f"{name},CallID: {call.call_id}")
    pbx.user_event(one, name, *_ids(call), ("PlaybackStatus", "SUCCESS"))
    if context == "dialer-abandon" and pbx.cfg.optout_digit:
        _read_opt_out(pbx, call, 9)
        return
    pbx.dialplan(one, 10, "Hangup", "16")
    teardown.dialplan_hangup(pbx, call, SimOutcome.HUNG_UP_BY_DIALER)


def _read_opt_out(pbx: Pbx, call: Call, priority: int) -> None:
    """After a message that offers the opt-out key (`optout_digit`): `Read` waits 3 s for it; a person
    whose far end `opts_out` presses it after 1.5 s."""
    pbx.dialplan(call.one, priority, "Read", "DIALER_OPTOUT,,1,,1,3")
    pressed = call.far is not None and call.far.opts_out
    call.timers["abandon"] = pbx.sched.later(1.5 if pressed else 3.0, _read_done, pbx, call, pressed, priority)


def _read_done(pbx: Pbx, call: Call, pressed: bool, priority: int) -> None:
    """The end of the `Read`: the key pressed (a do-not-call request) or the time out."""
    one = call.one
    call.timers.pop("abandon", None)
    if pressed:
        campaign = call.vars.get("DIALER_CAMPAIGN", "")
        pbx.dialplan(one, priority + 3, "UserEvent", f"DialerOptOut,CallID: {call.call_id}")
        pbx.user_event(one, "DialerOptOut", *_ids(call), ("Campaign", campaign))
        if call.record is not None:
            call.record.opted_out = True
    pbx.dialplan(one, priority + (4 if pressed else 2), "Hangup", "16")
    teardown.dialplan_hangup(pbx, call, SimOutcome.HUNG_UP_BY_DIALER)


def redirect_error(ch: Channel) -> str | None:
    """Why the AMI Redirect of `ch` cannot be done, or None (only a customer `;1` leg that answered)."""
    call = ch.call
    if call is not None and call.phase is Phase.HANGING_UP:  # manager.c: ast_check_hangup_locked
        return "Redirect failed, channel not up."
    if call is None or call.kind is not CallKind.CUSTOMER or ch is not call.one or call.phase not in _LEAVABLE:
        return "Redirect failed"
    return None


def redirect(pbx: Pbx, ch: Channel, context: str, exten: str) -> None:
    """The AMI Redirect of a customer `;1` leg (check `redirect_error` first)."""
    call = ch.call
    assert call is not None
    call.cancel(*_MOVED)
    if call.phase is Phase.AGENT_DIAL:
        teardown.cancel_agent_dial(pbx, call, "CANCEL")
    elif call.phase in (Phase.CONNECTED, Phase.BRIDGED):
        teardown.break_bridge(pbx, call)  # ends the Dial() of an agent leg that called this one
    call.caller = None
    enter(pbx, call, context, exten)


def bridge_error(ch1: Channel, ch2: Channel) -> str | None:
    """Why the AMI Bridge of these two cannot be done (one waiting customer and one idle agent leg)."""
    kinds = set()
    for n, ch in ((1, ch1), (2, ch2)):
        call = ch.call
        if call is None or ch is not call.one or ch.state != UP or ch1 is ch2 or call.peer is not None:
            return f"Unable to add Channel{n} to bridge: {ch.name}"
        ok = call.phase in _BRIDGEABLE if call.kind is CallKind.CUSTOMER else call.phase is Phase.APP
        if not ok or call.kind in kinds:
            return f"Unable to add Channel{n} to bridge: {ch.name}"
        kinds.add(call.kind)
    return None


def bridge(pbx: Pbx, ch1: Channel, ch2: Channel) -> None:
    """The AMI Bridge action (check `bridge_error` first): the agent leg takes the customer's Linkedid."""
    calls = [ch.call for ch in (ch1, ch2) if ch.call is not None]
    customer = next(c for c in calls if c.kind is CallKind.CUSTOMER)
    agent = next(c for c in calls if c.kind is CallKind.AGENT)
    customer.cancel(*_MOVED)
    agent.cancel("wait")
    bridge_ = pbx.new_bridge()
    customer.bridge = agent.bridge = bridge_
    customer.peer, agent.peer = agent, customer
    agent.one.set_linkedid(customer.one.linkedid)
    pbx.bridge_ev("BridgeCreate", bridge_)
    for call in calls:
        pbx.bridge_enter(bridge_, call.one)
    customer.move(Phase.BRIDGED)
    agent.move(Phase.BRIDGED)
    _connected(pbx, customer, agent.agent_ext)
