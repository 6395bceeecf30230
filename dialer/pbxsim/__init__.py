"""A PBX simulator that speaks Asterisk 22's AMI on TCP and plays the far end of every call.

The dialer daemon cannot tell it from a real Asterisk running the contract's dialplan
(docs/DIALPLAN_CONTRACT.md): same banner, login, event classes and masks, event names, header order,
ChannelState values, hang-up causes and OriginateResponse reasons as the real transcript in
`tests/fixtures/ami/`. Who answers, how long it rings, what AMD says, how long a person waits or talks all
come from `pacing.traffic.TrafficModel`, drawn per dial from (seed, number, nth dial), so a run replays
exactly. Time is the injected clock's: with `ScaledClock(480)` an 8-hour shift lasts a minute.

Modules: `server` (the TCP server and test hooks), `session` (one AMI connection), `actions` (AMI
actions), `dialing` (Originate to answer or failure), `dialplan` (the contract's contexts), `teardown`
(hang-up sequences), `pbx` (registry and event emission), `render` (byte templates), `model`
(channels, calls, records), `fate` (the far end of a dial), `scheduler` (one timer heap).
"""

from .fate import FarEnd, FarEndOptions, draw_far_end
from .model import CallRecord, Phase, SimOutcome
from .pbx import SimStats
from .server import DEFAULT_SECRET, DEFAULT_USERNAME, PbxSimulator, run_pbxsim

__all__ = [
    "DEFAULT_SECRET",
    "DEFAULT_USERNAME",
    "CallRecord",
    "FarEnd",
    "FarEndOptions",
    "PbxSimulator",
    "Phase",
    "SimOutcome",
    "SimStats",
    "draw_far_end",
    "run_pbxsim",
]
