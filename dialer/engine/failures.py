"""Why a dial failed, as a call outcome: busy, no answer, congestion, an invalid number, or failed.

The carrier's verdict reaches us in `UserEvent: DialerTrunkResult` (docs/DIALPLAN_CONTRACT.md), which
`dialer-outbound` sends with the `DIALSTATUS` and `HANGUPCAUSE` of its `Dial()` before it fails the
Local channel. Of the two, the cause is the better witness. app_dial's `handle_cause` folds every cause
other than 16, 17, 19 and 34 into CHANUNAVAIL, so an unallocated number (1), an invalid number format
(28) and a phone nobody answers (18) all read CHANUNAVAIL. The Local channel loses more on the way to
the Originate: a `;2` leg that hangs up with cause 1 gives `DialEnd NOANSWER` and `Reason: 0`
(`ast_hangup_cause_to_dial_status` and `pbx_dial_reason` in Asterisk 22). So the cause decides, and the
status only speaks when the cause says nothing we act on (a congestion indication with cause 0, a
NOANSWER after cause 16).

INVALID makes the contact policy mark the number dead for good, so only causes that say the number
itself does not exist give it. Cause 3 (no route to destination) is deliberately not one of them:
chan_pjsip reports it for failures on our own side too (the trunk endpoint missing, no reachable
contact), and a trunk outage must not kill a whole list. Such failures end FAILED and are retried.

Pure: no I/O, used by `core` (predictive calls) and `agentcalls` (agent-leg-first calls).
"""

from __future__ import annotations

from dialer.ami.events import DialStatus, HangupCause
from dialer.engine.calls import CallOutcome

__all__ = ["BY_CAUSE", "trunk_outcome"]

_H = HangupCause
BY_CAUSE: dict[int, CallOutcome] = {
    _H.USER_BUSY: CallOutcome.BUSY,
    _H.NO_USER_RESPONSE: CallOutcome.NO_ANSWER,  # SIP 408: the phone exists, nobody took the call
    _H.NO_ANSWER: CallOutcome.NO_ANSWER,  # SIP 480, or rang until the carrier gave up
    _H.NORMAL_CIRCUIT_CONGESTION: CallOutcome.CONGESTION,  # SIP 503
    _H.NETWORK_OUT_OF_ORDER: CallOutcome.CONGESTION,  # SIP 500
    _H.SWITCH_CONGESTION: CallOutcome.CONGESTION,
    _H.UNALLOCATED: CallOutcome.INVALID,  # SIP 404, 485, 604
    _H.INVALID_NUMBER_FORMAT: CallOutcome.INVALID,  # SIP 484
}
"""Hangup causes that say how a dial ended; any other cause is a failure to retry (FAILED)."""

_BY_STATUS: dict[str, CallOutcome] = {
    DialStatus.BUSY: CallOutcome.BUSY,
    DialStatus.CONGESTION: CallOutcome.CONGESTION,
    DialStatus.NOANSWER: CallOutcome.NO_ANSWER,
}


def trunk_outcome(dial_status: str, hangup_cause: int) -> CallOutcome:
    """The outcome of a dial whose trunk leg failed with `dial_status` and `hangup_cause`."""
    by_cause = BY_CAUSE.get(hangup_cause)
    if by_cause is not None:
        return by_cause
    return _BY_STATUS.get(dial_status, CallOutcome.FAILED)
