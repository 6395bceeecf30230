"""Agent-leg-first calls (preview and manual dialing): `dialer-agent-dial,<digits>` of the contract.

The dialer originates the agent's phone (`Local/<ext>@dialer-agent/n`, Context `dialer-agent-dial`, Exten
the customer's digits). When the agent's auto-answer phone picks up, that `;1` leg runs the context:
`UserEvent(DialerAgentDial)`, then `Dial(Local/<digits>@dialer-outbound/n,${DIALER_RING_S},b(dialer-record^s^1))`
(the pre-dial handler starts MixMonitor on the customer leg when the campaign records). The customer
pair is a Local pair like an Originate's, with the agent leg as the `Dial()` caller, so its `DialBegin`,
`DialState` and `DialEnd` carry the agent leg as `Channel` and the customer `;1` as `DestChannel`, and
its far end is drawn from the same traffic model (without AMD: the agent hears the greeting).

- Answer: `DialEnd ANSWER`, a bridge of the agent `;1` and the customer `;1` (as `Dial()` makes), the
  talk runs; whoever hangs up first ends both. The customer leaving (the far end, or the dialer's `Hangup`
  of the customer `;1`) dissolves the bridge and `Dial()` returns -1: the agent leg's dialplan ends there.
- Busy, congestion, invalid, no answer (the far end stops ringing, or `DIALER_RING_S` runs out):
  the customer pair goes as for an Originate, then `Dial()` returns and the agent leg runs `Hangup(16)`.
- The customer leg hung up while it rings (the dialer's `Hangup` of its `;1`, as the daemon does once it
  has rung the ring timeout since its first ring, or of its `;2`): `DialEnd` with the status app_dial
  makes of the cause (19 and 16: `NOANSWER`), the customer pair goes, `Dial()` returns, `Hangup(16)`.
- The agent leg hung up while the customer rings: the customer dial is cancelled (`DialEnd CANCEL`).
- A Redirect of the customer `;1` (blind transfer) breaks the bridge; the agent leg's `Dial()` returns
  and it hangs up, and the customer goes where it was sent (`dialer-to-agent`).

The orders are in `teardown` (the customer pair keeps `caller` = the agent leg as long as that `Dial()` runs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import teardown
from .fate import draw_far_end
from .model import Call, CallKind, CallRecord, Phase, SimOutcome
from .recording import start_recording
from .render import kv

if TYPE_CHECKING:
    from .pbx import Pbx

__all__ = ["CONTEXT", "customer_answered", "dial_customer"]

CONTEXT = "dialer-agent-dial"
OUTBOUND = "dialer-outbound"


def dial_customer(pbx: Pbx, agent: Call, digits: str) -> None:
    """The answered agent leg runs `dialer-agent-dial,<digits>`: dial the customer."""
    from .dialing import begin_ringing

    a1 = agent.one
    now = pbx.sched.now()
    call_id = agent.call_id
    pbx.dialplan(a1, 1, "NoOp", f"agent-first call {call_id} lead {agent.lead_id}")
    for name in ("DIALER_CALL_ID", "DIALER_CAMPAIGN", "DIALER_LEAD"):
        pbx.varset(a1, f"__{name}", agent.vars.get(name, ""))
    pbx.varset(a1, "__DIALER_AMD_STATUS", "SKIPPED")
    pbx.varset(a1, "__DIALER_RECORD", agent.vars.get("DIALER_RECORD", ""))
    pbx.dialplan(a1, 7, "UserEvent", f"DialerAgentDial,CallID: {call_id},Agent: {agent.agent_ext}")
    pbx.user_event(a1, "DialerAgentDial", ("CallID", call_id), ("LeadID", agent.lead_id),
                   ("Agent", agent.vars.get("DIALER_AGENT", agent.agent_ext)))
    try:
        ring_s = float(agent.vars.get("DIALER_RING_S", "20"))
    except ValueError:
        ring_s = 20.0
    pbx.dialplan(a1, 8, "Dial", f"Local/{digits}@{OUTBOUND}/n,{ring_s:g},b(dialer-record^s^1)")
    vars_ = {**agent.vars, "DIALER_AMD_STATUS": "SKIPPED"}
    cust = pbx.new_pair(CallKind.CUSTOMER, digits, OUTBOUND, pbx.new_uniqueid(), pbx.new_uniqueid(), vars_,
                        linkedid=a1.linkedid)
    cust.caller = agent
    agent.peer = cust
    nth = pbx.next_dial(digits)
    cust.far = draw_far_end(pbx.cfg.traffic, pbx.cfg.far, seed=pbx.seed, number=digits, nth=nth,
                            shift_t=now - pbx.shift_start, amd_on=False)
    cust.record = CallRecord(call_id=call_id, action_id=None, number=digits, nth=nth, fate=cust.far.fate,
                             amd_enabled=False, lead_id=cust.lead_id, campaign=vars_.get("DIALER_CAMPAIGN", ""),
                             originated_at=now, agent=agent.agent_ext)
    cust.record.phases.append(Phase.DIALING.value)
    pbx.add_record(cust.record)
    pbx.stats.calls_started += 1
    pbx.stats.calls_live += 1
    one, two = cust.one, cust.two
    pbx.ev("Newchannel", one)
    pbx.ev("Newchannel", two)
    cid = (a1.cid_num, a1.cid_name)
    one.set_ids(cid, cid)
    two.set_ids(cid, cid)
    pbx.local_bridge(cust)
    start_recording(pbx, cust, one)  # Dial()'s b() pre-dial handler, on the new customer leg
    pbx.dial_ev("DialBegin", a1, one, kv("DialString", f"{digits}@{OUTBOUND}/n"))
    begin_ringing(pbx, cust, now + ring_s, _dial_timeout)


def _dial_timeout(pbx: Pbx, cust: Call) -> None:
    """`Dial(...,${DIALER_RING_S})` gives up on a customer who is still ringing."""
    from .dialing import end

    one, two = cust.one, cust.two
    if cust.caller is not None:
        pbx.dial_ev("DialEnd", cust.caller.one, one, b"DialStatus: NOANSWER\r\n")
    pbx.soft_hangup(one, 16)
    pbx.hangup_request(two, 16)
    pbx.hangup(one, 16)
    pbx.soft_hangup(two, 16)
    pbx.hangup(two, 16)
    end(pbx, cust, SimOutcome.NO_ANSWER_TIMEOUT, "timeout", 19)


def customer_answered(pbx: Pbx, cust: Call, agent: Call) -> None:
    """The customer answered the agent leg's `Dial()`: bridge them (the `DialEnd ANSWER` is already out)."""
    from .dialplan import connected

    cust.peer, agent.peer = agent, cust  # `caller` stays: the agent leg's Dial() runs on while they are bridged
    bridge = pbx.new_bridge()
    cust.bridge = agent.bridge = bridge
    pbx.bridge_ev("BridgeCreate", bridge)
    pbx.bridge_enter(bridge, agent.one)
    pbx.bridge_enter(bridge, cust.one)
    agent.move(Phase.BRIDGED)
    cust.move(Phase.CONNECTED)
    connected(pbx, cust, agent.agent_ext)


def cancel_customer(pbx: Pbx, agent: Call, cause: int) -> None:
    """The agent leg is hung up while its `Dial()` still rings the customer: the dial is cancelled."""
    cust = agent.peer
    if cust is None or cust.caller is not agent or cust.phase is not Phase.DIALING:
        return
    cust.cancel()
    cust.caller = None
    agent.peer = None
    pbx.dial_ev("DialEnd", agent.one, cust.one, b"DialStatus: CANCEL\r\n")
    teardown.called_pair_gone(pbx, cust, cause)  # app_dial hangs up what it rang with the caller's cause
    if cust.record is not None:
        pbx.finish(cust.record, SimOutcome.CANCELLED, "dialer", cause)
    pbx.drop_call(cust)
