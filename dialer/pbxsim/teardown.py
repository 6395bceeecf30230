"""How calls end: the hang-up sequences, event by event, for every phase a call can be in.

Who hangs up first decides the order. The orders below are the real transcript's where it has them:
the dialer's `Hangup` of a parked leg (`machine`), of a leg bridged by `Dial()` (`human_redirect`), of
an agent leg bridged by the `Bridge` action (`human_bridge`), the far end hanging up during AMD
(`early_hangup`). The remaining cases are built from the same pieces in the same way:

- a Local pair torn down from `;1`: `SoftHangupRequest ;1`, [the `h` extension], `HangupRequest ;2`,
  `Hangup ;1`, `SoftHangupRequest ;2`, `Hangup ;2`;
- from `;2` (the far end): `SoftHangupRequest ;2`, `HangupRequest ;1`, `Hangup ;2`, then `;1` runs its
  `h` extension and goes;
- a bridge breaks with `BridgeLeave` of each member and `BridgeDestroy`.

An agent-leg-first call (`agentdial`) turns the roles round: the agent's `;1` is the `Dial()` caller and the
customer's `;1` the called leg, which runs no dialplan (no `h` extension, no `DialerLegEnd`). Whatever ends the
customer pair ends the agent's `Dial()`, as app_dial does (Asterisk 22 source):

- the called leg hung up while it rings (the dialer's `Hangup` of it, or of its `;2`): `DialEnd` with the status
  `ast_hangup_cause_to_dial_status` makes of its cause (17 BUSY, 34 CONGESTION, 3 and 20 CHANUNAVAIL, anything
  else NOANSWER), app_dial hangs the leg up, `Dial()` returns 0 and the agent leg runs `Hangup(16)`;
- the called leg hung up while bridged (the far end, or the dialer): it leaves, the bridge dissolves and kicks
  the agent leg out, and `Dial()` returns -1 (no `g` option): the agent leg's dialplan ends there;
- the agent leg hung up while bridged: the `human_redirect` order, the agent leg as the caller.

A channel whose dialplan ends sends `SoftHangupRequest` with Cause 16 whatever the hang-up cause (the PBX loop's
`AST_SOFTHANGUP_APPUNLOAD` flag, which is 16); a leg that runs none (a called `;1`) sends none, and the AMI
`Hangup` action sends none either. (Not yet applied to a predictive dial's ringing `;1` hung up by the dialer,
`_ring_cancel`: it still sends one, and no `DialEnd`, where Asterisk's dial.c sends the `DialEnd` and none.)

The `h` extension of every context a customer leg can be in (`dialer-connect`, `dialer-to-agent`,
`dialer-abandon`, `dialer-machine`, `dialer-agentless`) sends `UserEvent: DialerLegEnd`. When an
agent leg joined by the `Bridge` action loses its customer, the simulator hangs the agent leg up too
(a real PBX would send it back into its old dialplan; the dialer originates a fresh one per call).

A hang-up is one burst of events unless `PbxConfig.h_extension_s` is set: then a parked leg whose far
end left stays HANGING_UP that long between its `DialerLegEnd` and its `Hangup`, and a Redirect meanwhile
gets Asterisk's "Redirect failed, channel not up." (tests use it to make that race happen every time).
"""

from __future__ import annotations

from .model import Call, Phase, SimOutcome
from .pbx import Pbx

__all__ = [
    "agent_hangup",
    "break_bridge",
    "called_pair_gone",
    "cancel_agent_dial",
    "customer_hangup_by_dialer",
    "dial_returned",
    "dial_status",
    "dialplan_hangup",
    "far_hangup",
]

_H_CONTEXTS = frozenset({"dialer-connect", "dialer-to-agent", "dialer-abandon", "dialer-machine", "dialer-agentless"})
_DIAL_STATUS = b"DialStatus: "
_DIAL_STATUS_BY_CAUSE = {17: "BUSY", 34: "CONGESTION", 3: "CHANUNAVAIL", 20: "CHANUNAVAIL"}
_APPUNLOAD = 16  # the Cause of the SoftHangupRequest a channel's PBX loop sends as it ends (a flag, not a cause)
_AGENT_DIAL_HANGUP_PRIORITY = 9  # `Hangup(16)` after the `Dial()` in dialer-agent-dial


def dial_status(cause: int) -> bytes:
    """The `DialStatus` line app_dial gives a called leg that hung up with `cause` (ast_hangup_cause_to_dial_status)."""
    return _DIAL_STATUS + _DIAL_STATUS_BY_CAUSE.get(cause, "NOANSWER").encode() + b"\r\n"


def called_pair_gone(pbx: Pbx, call: Call, cause: int) -> None:
    """app_dial hangs up the `;1` it called (`ast_hangup`): the Local driver passes the hang-up to `;2`, whose
    dialplan (dialer-outbound's carrier `Dial()`) then ends."""
    pbx.hangup_request(call.two, cause)
    pbx.hangup(call.one, cause)
    pbx.soft_hangup(call.two, _APPUNLOAD)
    pbx.hangup(call.two, cause)


def dial_returned(pbx: Pbx, agent: Call, cause: int, *, hangup_app: bool) -> None:
    """The agent leg's `Dial()` in dialer-agent-dial returned: its dialplan ends and the agent's pair goes.

    Unanswered, `Dial()` returns 0 and the next priority, `Hangup(16)`, runs (`hangup_app`); after a bridge, the
    called leg's hang-up makes it return -1, so the dialplan stops there, with the cause the bridge left.
    """
    a1, a2 = agent.one, agent.two
    agent.cancel()
    agent.peer = agent.bridge = None
    if hangup_app:
        pbx.dialplan(a1, _AGENT_DIAL_HANGUP_PRIORITY, "Hangup", "16")
        cause = 16
    pbx.soft_hangup(a1, _APPUNLOAD)
    pbx.hangup_request(a2, cause)
    pbx.hangup(a1, cause)
    pbx.soft_hangup(a2, _APPUNLOAD)
    pbx.hangup(a2, cause)
    pbx.drop_call(agent)


def _leg_end(pbx: Pbx, call: Call, cause: int) -> None:
    """The `h` extension of the customer leg's context: UserEvent DialerLegEnd."""
    one = call.one
    ctx = one.context
    if ctx not in _H_CONTEXTS:
        return
    one.goto(ctx, "h", 1)
    pbx.dialplan(one, 1, "GotoIf", "0?skip")
    pbx.dialplan(one, 2, "UserEvent", f"DialerLegEnd,CallID: {call.call_id},HangupCause: {cause}")
    pbx.user_event(
        one,
        "DialerLegEnd",
        ("CallID", call.call_id),
        ("LeadID", call.lead_id),
        ("Where", ctx),
        ("AMDStatus", call.vars.get("AMDSTATUS") or call.vars.get("DIALER_AMD_STATUS", "")),
        ("DialStatus", call.vars.get("DIALSTATUS", "")),
        ("HangupCause", str(cause)),
    )
    pbx.dialplan(one, 3, "NoOp", "")
    one.set_priority(4)


def _agent_gone(pbx: Pbx, agent: Call, cause: int = 16) -> None:
    """An agent pair whose `;1` is hung up from outside (bridge broken, customer gone)."""
    a1, a2 = agent.one, agent.two
    pbx.hangup_request(a2, cause)
    pbx.hangup(a1, cause)
    pbx.soft_hangup(a2, cause)
    pbx.hangup(a2, cause)
    pbx.drop_call(agent)


def _close(pbx: Pbx, call: Call, outcome: SimOutcome, ended_by: str, cause: int) -> None:
    if call.record is not None:
        pbx.finish(call.record, outcome, ended_by, cause)
    pbx.drop_call(call)


def _ring_cancel(pbx: Pbx, call: Call, cause: int) -> None:
    """Hang-up of `;1` while it still rings: the Originate fails with Reason 1."""
    one, two = call.one, call.two
    pbx.soft_hangup(one, cause)
    pbx.hangup_request(two, cause)
    if call.orig is not None:
        pbx.originate_response(call.orig, call, 1)
    if call.record is not None:
        call.record.originate_reason = 1
    pbx.hangup(one, cause)
    pbx.soft_hangup(two, 16)
    pbx.hangup(two, cause)


def cancel_agent_dial(pbx: Pbx, call: Call, status: str) -> None:
    """`Dial()` to the agent gives up while the agent leg rings."""
    agent = call.peer
    call.peer = None
    call.vars["DIALSTATUS"] = status
    if agent is None:
        return
    pbx.dial_ev("DialEnd", call.one, agent.one, _DIAL_STATUS + status.encode() + b"\r\n")
    _agent_gone(pbx, agent)


def break_bridge(pbx: Pbx, call: Call) -> None:
    """The customer leaves its agent bridge alive (a Redirect): the agent legs go (an agent leg whose `Dial()`
    called the customer sees it return, and its dialplan ends)."""
    agent, bridge, dialed_by = call.peer, call.bridge, call.caller
    call.peer = call.bridge = call.caller = None
    if bridge is not None:
        pbx.bridge_leave(bridge, call.one)
        if agent is not None:
            pbx.bridge_leave(bridge, agent.one)
        pbx.bridge_ev("BridgeDestroy", bridge)
    if agent is not None and agent is dialed_by:
        dial_returned(pbx, agent, 16, hangup_app=False)
    elif agent is not None:
        agent.bridge = agent.peer = None
        _agent_gone(pbx, agent)


def customer_hangup_by_dialer(pbx: Pbx, call: Call, cause: int) -> None:
    """The dialer hangs up the customer `;1` leg (AMI Hangup)."""
    one, two, phase = call.one, call.two, call.phase
    call.cancel()
    if call.caller is not None:
        _called_leg_hung_up(pbx, call, cause)
        return
    if phase is Phase.DIALING:
        _ring_cancel(pbx, call, cause)
        _close(pbx, call, SimOutcome.CANCELLED, "dialer", cause)
        return
    agent, bridge = call.peer, call.bridge
    if phase in (Phase.CONNECTED, Phase.BRIDGED) and agent is not None and bridge is not None:
        pbx.bridge_leave(bridge, one)
        pbx.bridge_leave(bridge, agent.one)
        if phase is Phase.CONNECTED:  # human_redirect
            pbx.hangup_request(agent.two, 16)
            pbx.hangup(agent.one, 16)
        pbx.bridge_ev("BridgeDestroy", bridge)
    if phase is Phase.AMD:
        call.vars["AMDSTATUS"] = "HANGUP"
    pbx.soft_hangup(one, cause)
    if phase is Phase.AGENT_DIAL:
        cancel_agent_dial(pbx, call, "CANCEL")
    _leg_end(pbx, call, cause)
    pbx.hangup_request(two, cause)
    pbx.hangup(one, cause)
    if phase is Phase.CONNECTED and agent is not None:
        pbx.soft_hangup(agent.two, 16)
        pbx.hangup(agent.two, 16)
        pbx.drop_call(agent)
    pbx.soft_hangup(two, cause)
    pbx.hangup(two, cause)
    if phase is Phase.BRIDGED and agent is not None:
        _agent_gone(pbx, agent)
    _close(pbx, call, SimOutcome.HUNG_UP_BY_DIALER, "dialer", cause)


def far_hangup(pbx: Pbx, call: Call, cause: int = 16, ended_by: str = "far_end") -> None:
    """The far end (`;2`) hangs up: patience ran out, talk is over, a machine's greeting ended."""
    one, two, phase = call.one, call.two, call.phase
    if phase is Phase.ENDED:
        return
    call.cancel()
    if call.caller is not None:
        _called_far_end_gone(pbx, call, cause, ended_by)
        return
    if phase is Phase.DIALING:  # only by a Hangup action on `;2` while it rings
        pbx.soft_hangup(two, 16)
        pbx.hangup_request(one, cause)
        pbx.hangup(two, cause)
        pbx.dial_ev("DialEnd", None, one, dial_status(cause))
        pbx.hangup(one, cause)
        if call.orig is not None:
            pbx.originate_response(call.orig, call, 0)
        if call.record is not None:
            call.record.originate_reason = 0
        _close(pbx, call, SimOutcome.CANCELLED, ended_by, cause)
        return
    pbx.soft_hangup(two, 16)
    pbx.hangup_request(one, cause)
    pbx.hangup(two, cause)
    agent, bridge = call.peer, call.bridge
    if phase is Phase.AMD:
        call.vars["AMDSTATUS"] = "HANGUP"
        pbx.varset(one, "AMDSTATUS", "HANGUP")
        pbx.varset(one, "AMDCAUSE", "")
    elif phase is Phase.AGENT_DIAL:
        cancel_agent_dial(pbx, call, "CANCEL")
    elif phase in (Phase.CONNECTED, Phase.BRIDGED) and agent is not None and bridge is not None:
        pbx.bridge_leave(bridge, one)
        pbx.bridge_leave(bridge, agent.one)
        if phase is Phase.CONNECTED:
            pbx.hangup_request(agent.two, 16)
            pbx.hangup(agent.one, 16)
        pbx.bridge_ev("BridgeDestroy", bridge)
    pbx.soft_hangup(one, cause)
    _leg_end(pbx, call, cause)
    if phase is Phase.PARKED and pbx.cfg.h_extension_s > 0:
        call.move(Phase.HANGING_UP)
        call.timers["h"] = pbx.sched.later(pbx.cfg.h_extension_s, _parked_leg_gone, pbx, call, cause, ended_by)
        return
    pbx.hangup(one, cause)
    if agent is not None and phase is Phase.CONNECTED:
        pbx.soft_hangup(agent.two, 16)
        pbx.hangup(agent.two, 16)
        pbx.drop_call(agent)
    elif agent is not None and phase is Phase.BRIDGED:
        _agent_gone(pbx, agent)
    outcome = SimOutcome.EARLY_HANGUP if phase is Phase.AMD else SimOutcome.FAR_HANGUP_WAITING
    _close(pbx, call, outcome, ended_by, cause)


def _parked_leg_gone(pbx: Pbx, call: Call, cause: int, ended_by: str) -> None:
    """The end of a parked leg's `h` extension (`PbxConfig.h_extension_s` after the far end left)."""
    pbx.hangup(call.one, cause)
    _close(pbx, call, SimOutcome.FAR_HANGUP_WAITING, ended_by, cause)


def dialplan_hangup(pbx: Pbx, call: Call, outcome: SimOutcome, cause: int = 16) -> None:
    """The customer leg's dialplan ends (message played, Dial() over, Wait() expired, bad extension)."""
    one, two = call.one, call.two
    call.cancel()
    pbx.soft_hangup(one, cause)
    _leg_end(pbx, call, cause)
    pbx.hangup_request(two, cause)
    pbx.hangup(one, cause)
    pbx.soft_hangup(two, cause)
    pbx.hangup(two, cause)
    _close(pbx, call, outcome, "dialplan", cause)


def _called_leg_hung_up(pbx: Pbx, call: Call, cause: int) -> None:
    """The dialer hangs up the customer `;1` that an agent leg's `Dial()` called (agent-leg-first)."""
    agent, bridge = call.caller, call.bridge
    assert agent is not None
    call.caller = call.peer = call.bridge = None
    if call.phase is Phase.DIALING:  # app_dial reads the hang-up of the leg it rings
        pbx.dial_ev("DialEnd", agent.one, call.one, dial_status(cause))
        called_pair_gone(pbx, call, cause)
        _close(pbx, call, SimOutcome.CANCELLED, "dialer", cause)
        dial_returned(pbx, agent, cause, hangup_app=True)
        return
    if bridge is not None:  # it leaves the bridge, which dissolves: the agent leg is kicked out
        pbx.bridge_leave(bridge, call.one)
        pbx.bridge_leave(bridge, agent.one)
    pbx.hangup_request(call.two, cause)
    pbx.hangup(call.one, cause)
    if bridge is not None:
        pbx.bridge_ev("BridgeDestroy", bridge)
    pbx.soft_hangup(call.two, _APPUNLOAD)
    pbx.hangup(call.two, cause)
    _close(pbx, call, SimOutcome.HUNG_UP_BY_DIALER, "dialer", cause)
    dial_returned(pbx, agent, cause, hangup_app=False)


def _called_far_end_gone(pbx: Pbx, call: Call, cause: int, ended_by: str) -> None:
    """The far end (`;2`) of the customer pair an agent leg's `Dial()` called hangs up (agent-leg-first)."""
    agent, bridge = call.caller, call.bridge
    assert agent is not None
    call.caller = call.peer = call.bridge = None
    one, two, ringing = call.one, call.two, call.phase is Phase.DIALING
    pbx.soft_hangup(two, _APPUNLOAD)
    pbx.hangup_request(one, cause)
    pbx.hangup(two, cause)
    if ringing:
        pbx.dial_ev("DialEnd", agent.one, one, dial_status(cause))
    elif bridge is not None:
        pbx.bridge_leave(bridge, one)
        pbx.bridge_leave(bridge, agent.one)
    pbx.hangup(one, cause)  # by app_dial, or by the bridge once the leg left it; its `;2` is gone already
    if bridge is not None and not ringing:
        pbx.bridge_ev("BridgeDestroy", bridge)
    _close(pbx, call, SimOutcome.CANCELLED if ringing else SimOutcome.FAR_HANGUP_WAITING, ended_by, cause)
    dial_returned(pbx, agent, cause, hangup_app=ringing)


def _calling_agent_hung_up(pbx: Pbx, agent: Call, customer: Call, cause: int) -> None:
    """The dialer hangs up an agent leg bridged by its own `Dial()` to the customer: `human_redirect`'s order,
    the agent leg as the caller (it leaves, the called customer leg is hung up, then the agent's dialplan ends)."""
    bridge = agent.bridge
    customer.cancel()
    customer.caller = customer.peer = customer.bridge = None
    a1, a2, one, two = agent.one, agent.two, customer.one, customer.two
    if bridge is not None:
        pbx.bridge_leave(bridge, a1)
        pbx.bridge_leave(bridge, one)
    pbx.hangup_request(two, cause)
    pbx.hangup(one, cause)
    if bridge is not None:
        pbx.bridge_ev("BridgeDestroy", bridge)
    agent.peer = agent.bridge = None
    pbx.soft_hangup(a1, _APPUNLOAD)
    pbx.hangup_request(a2, cause)
    pbx.hangup(a1, cause)
    pbx.soft_hangup(two, _APPUNLOAD)
    pbx.hangup(two, cause)
    pbx.soft_hangup(a2, _APPUNLOAD)
    pbx.hangup(a2, cause)
    pbx.drop_call(agent)
    _close(pbx, customer, SimOutcome.CONNECTED, "agent", cause)


def agent_hangup(pbx: Pbx, agent: Call, cause: int) -> None:
    """The dialer hangs up an agent leg (wrap-up, or an idle leg it no longer needs).

    When the leg was still ringing inside the customer's `Dial()`, only the agent side ends here: the
    caller (`dialplan.hangup_action`) then puts the customer on hold, as `dialer-to-agent` does.
    """
    a1, a2, phase = agent.one, agent.two, agent.phase
    customer, bridge = agent.peer, agent.bridge
    agent.cancel()
    if phase is Phase.DIALING:
        pbx.soft_hangup(a1, cause)
        pbx.hangup_request(a2, cause)
        if agent.orig is not None:
            pbx.originate_response(agent.orig, agent, 1)
        pbx.hangup(a1, cause)
        if customer is not None:  # Dial() from dialer-to-agent gives up on this agent
            pbx.dial_ev("DialEnd", customer.one, a1, b"DialStatus: NOANSWER\r\n")
            customer.peer = None
            customer.vars["DIALSTATUS"] = "NOANSWER"
        pbx.soft_hangup(a2, 16)
        pbx.hangup(a2, cause)
        pbx.drop_call(agent)
        return
    if customer is None or bridge is None:  # idle leg
        pbx.soft_hangup(a1, cause)
        pbx.hangup_request(a2, cause)
        pbx.hangup(a1, cause)
        pbx.soft_hangup(a2, cause)
        pbx.hangup(a2, cause)
        pbx.drop_call(agent)
        return
    if customer.caller is agent:
        _calling_agent_hung_up(pbx, agent, customer, cause)
        return
    one, two = customer.one, customer.two
    customer.cancel()
    pbx.bridge_leave(bridge, a1)
    pbx.hangup_request(a2, cause)
    pbx.hangup(a1, cause)
    pbx.bridge_leave(bridge, one)
    pbx.bridge_ev("BridgeDestroy", bridge)
    if phase is Phase.BRIDGED and one.context == "dialer-connect":  # human_bridge: back to its dialplan
        pbx.dialplan(one, one.priority + 1, "UserEvent", f"DialerParkEnd,CallID: {customer.call_id}")
        pbx.user_event(one, "DialerParkEnd", ("CallID", customer.call_id), ("LeadID", customer.lead_id))
        pbx.dialplan(one, one.priority + 1, "Hangup", "16")
    pbx.soft_hangup(one, 16)
    _leg_end(pbx, customer, 16)
    pbx.hangup_request(two, 16)
    pbx.hangup(one, 16)
    pbx.soft_hangup(a2, 16)
    pbx.hangup(a2, 16)
    pbx.soft_hangup(two, 16)
    pbx.hangup(two, 16)
    pbx.drop_call(agent)
    _close(pbx, customer, SimOutcome.CONNECTED, "agent", 16)
