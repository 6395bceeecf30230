"""`dialer-record`: the Gosub that starts MixMonitor on a customer leg of a recording campaign.

Run before an agent is dialed (`dialer-to-agent`, and as the `b()` pre-dial handler of the customer
leg an agent-first call dials). With `DIALER_RECORD=1` and no recorder yet on the leg, it sets
`DIALER_RECORDING=1`, starts `MixMonitor(<DIALER_RECORD_DIR>/<call id>.wav,b)` (Asterisk raises
`MixMonitorStart`) and sends `UserEvent(DialerRecording)` with the file's name. Once per leg: a leg
sent to an agent again keeps its one recorder, as in asterisk_conf/extensions.conf.
"""

from __future__ import annotations

from .model import Call, Channel
from .pbx import Pbx

__all__ = ["start_recording"]

_CONTEXT = "dialer-record"


def start_recording(pbx: Pbx, call: Call, ch: Channel) -> None:
    """Run `dialer-record,s,1` on `ch`, the customer leg of `call` (whose variables it reads and sets)."""
    if call.vars.get("DIALER_RECORD") != "1" or call.vars.get("DIALER_RECORDING") == "1":
        return
    call.vars["DIALER_RECORDING"] = "1"
    file = f"{pbx.cfg.record_dir}/{call.call_id}.wav"
    back = (ch.context, ch.exten, ch.priority)
    ch.goto(_CONTEXT, "s", 1)
    pbx.dialplan(ch, 1, "GotoIf", '$["1" != "1" | "" = "1"]?done')
    pbx.dialplan(ch, 2, "Set", "DIALER_RECORDING=1")
    pbx.varset(ch, "DIALER_RECORDING", "1")
    pbx.dialplan(ch, 3, "MixMonitor", f"{file},b")
    pbx.ev("MixMonitorStart", ch)
    pbx.varset(ch, "MIXMONITOR_FILENAME", file)
    pbx.dialplan(ch, 4, "UserEvent", f"DialerRecording,CallID: {call.call_id},LeadID: {call.lead_id},File: {file}")
    pbx.user_event(ch, "DialerRecording", ("CallID", call.call_id), ("LeadID", call.lead_id), ("File", file))
    pbx.dialplan(ch, 5, "Return", "")
    ch.goto(*back)
    if call.record is not None:
        call.record.recording = file
