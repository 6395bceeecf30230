"""The simulated PBX's core: channel registry, ids, event emission, call records.

The flows (`dialing`, `dialplan`, `teardown`) decide *what* happens; this module knows *how* each
event looks and keeps the books. Every emit first asks the sink whether any session wants the event's
class, so a dialplan event nobody subscribed to costs one comparison and is never rendered.

Ids follow Asterisk: Local channels are `Local/<exten>@<context>-<8 hex>;1|;2` with one shared hex
counter, a generated Uniqueid is `<epoch seconds>.<counter>`, and a Local pair's Linkedid is the
Uniqueid of its `;1` leg, or of the call that dialled it (agent legs of `dialer-to-agent`).
"""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from dialer.clock import Clock
from pacing.traffic import TrafficModel

from .fate import FarEndOptions
from .model import DOWN, RING, Bridge, Call, CallKind, CallRecord, Channel, OriginateRequest, Phase, SimOutcome
from .render import Cat, cause_txt, event, kv, response
from .scheduler import Scheduler

__all__ = ["EventSink", "Pbx", "PbxConfig", "SimStats"]

_CALL = int(Cat.CALL)
_USER = int(Cat.USER)
_DIALPLAN = int(Cat.DIALPLAN)


class EventSink(Protocol):
    """Where events go: the server fans them out to the sessions whose `Events:` mask allows them."""

    def wants(self, cat: int) -> bool: ...

    def emit(self, cat: int, data: bytes) -> None: ...


@dataclass(frozen=True, slots=True)
class PbxConfig:
    """How the simulated world behaves. Seconds are virtual."""

    traffic: TrafficModel
    far: FarEndOptions = field(default_factory=FarEndOptions)
    agent_context: str = "dialer-agent"
    agent_answer_delay_s: float = 0.3
    agent_ring_s: float = 2.0  # Dial() timeout to the agent phone (DIALER_AGENT_RING)
    abandon_message_s: float = 4.0
    optout_digit: str = ""  # DIALER_OPTOUT_DIGIT: after the abandon message, wait 3 s for this key
    agentless_message_s: float = 12.0  # dialer-agentless's Playback of the campaign's message
    park_wait_s: float = 600.0  # dialer-connect's Wait(600)
    transfer_ring_max_s: float = 60.0  # dialer-transfer's backstop Dial() timeout (DIALER_TRANSFER_RING_MAX)
    record_dir: str = "/var/spool/asterisk/monitor/dialer"  # the dialplan's DIALER_RECORD_DIR
    # How long the `h` extension of a parked leg the far end hung up runs before the leg's Hangup. Meanwhile
    # the channel still exists but is hanging up: Asterisk refuses a Redirect with "Redirect failed, channel
    # not up." and a Hangup adds nothing. 0: the hang-up is one burst (DialerLegEnd, then Hangup at once).
    h_extension_s: float = 0.0

    def __post_init__(self) -> None:
        spans = (self.agent_answer_delay_s, self.h_extension_s, self.abandon_message_s, self.agentless_message_s)
        if min(spans) < 0 or min(self.park_wait_s, self.agent_ring_s) <= 0:
            raise ValueError(
                "agent_answer_delay_s, h_extension_s, abandon_message_s and agentless_message_s must be >= 0, "
                "park_wait_s and agent_ring_s > 0"
            )


@dataclass(slots=True)
class SimStats:
    """Counters for tests, benchmarks and the CLI. Plain ints: read them, never write them."""

    originates_received: int = 0
    originates_refused: int = 0  # answered `Response: Error`
    originates_failed_fast: int = 0  # no channel created (unknown technology, bad dial string)
    agent_originates: int = 0
    calls_started: int = 0
    calls_ended: int = 0
    calls_live: int = 0  # customer dials not over yet
    channels_live: int = 0
    actions_received: int = 0
    events_emitted: int = 0  # events rendered (once each, whatever the number of sessions)
    events_sent: int = 0  # events written to sessions (one per receiving session)
    bytes_sent: int = 0
    events_dropped_frozen: int = 0
    sessions_opened: int = 0
    logins_ok: int = 0
    logins_failed: int = 0
    slow_clients_dropped: int = 0
    internal_errors: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


class Pbx:
    """Registry and emitter shared by the flow modules."""

    def __init__(
        self,
        *,
        clock: Clock,
        scheduler: Scheduler,
        sink: EventSink,
        config: PbxConfig,
        seed: int,
        stats: SimStats,
        keep_calls: int,
    ) -> None:
        self.clock = clock
        self.sched = scheduler
        self.sink = sink
        self.cfg = config
        self.stats = stats
        self.seed = seed
        self.keep_calls = keep_calls
        self.shift_start = clock.now()
        self.channels: dict[str, Channel] = {}
        self.by_uid: dict[str, Channel] = {}
        self.calls: dict[str, CallRecord] = {}
        self._nth: dict[str, int] = {}
        self._local_seq = itertools.count(0x1B)
        self._uid_seq = itertools.count(60)
        self._orig_seq = itertools.count(1)
        self._rng = random.Random(seed)
        self._waiters: dict[str, list[asyncio.Future[CallRecord]]] = {}
        # How each agent phone answers a Dial(): "answer" (the default), "noanswer", "busy", "unavailable".
        self.phones: dict[str, str] = {}
        # Asterisk's database as astdb stores it: "/<family>/<key>" -> value (the dialplan's answer marks)
        self.astdb: dict[str, str] = {}

    # -- ids and registry -------------------------------------------------------------------------------

    def new_uniqueid(self) -> str:
        return f"{int(self.clock.now())}.{next(self._uid_seq)}"

    def next_dial(self, number: str) -> int:
        """1-based count of dials of `number` so far, this one included."""
        n = self._nth.get(number, 0) + 1
        self._nth[number] = n
        return n

    def fallback_call_id(self) -> str:
        return f"pbxsim-orig-{next(self._orig_seq)}"

    def uid_in_use(self, uid: str) -> bool:
        return uid in self.by_uid

    def new_pair(
        self, kind: CallKind, exten: str, context: str, uid1: str, uid2: str, vars_: dict[str, str], linkedid: str = ""
    ) -> Call:
        """Create a Local pair (Down `;1`, Ring `;2`) and register both channels."""
        now = self.sched.now()
        base = f"Local/{exten}@{context}-{next(self._local_seq):08x}"
        one = Channel(base + ";1", uid1, linkedid or uid1, DOWN, context, exten, now)
        two = Channel(base + ";2", uid2, linkedid or uid1, RING, context, exten, now)
        for ch in (one, two):
            self.channels[ch.name] = ch
            self.by_uid[ch.uniqueid] = ch
        self.stats.channels_live += 2
        return Call(kind, one, two, vars_)

    def find(self, name: str) -> Channel | None:
        """A live channel by exact name, else by Uniqueid (as `ast_channel_get_by_name` does)."""
        return self.channels.get(name) or self.by_uid.get(name)

    def find_prefix(self, prefix: str) -> Channel | None:
        """`ast_channel_get_by_name_prefix` (the Bridge action): exact name, Uniqueid, then a prefix."""
        got = self.find(prefix)
        if got is None and prefix:
            got = next((ch for name, ch in self.channels.items() if name.startswith(prefix)), None)
        return got

    def forget(self, ch: Channel) -> None:
        if self.channels.pop(ch.name, None) is not None:
            self.stats.channels_live -= 1
        self.by_uid.pop(ch.uniqueid, None)

    def new_bridge(self) -> Bridge:
        return Bridge(str(uuid.UUID(int=self._rng.getrandbits(128), version=4)))

    # -- records ----------------------------------------------------------------------------------------

    def add_record(self, record: CallRecord) -> None:
        self.calls[record.call_id] = record
        if len(self.calls) > self.keep_calls:
            # Evict the oldest finished records; live ones stay whatever the cap.
            for key in [k for k, r in itertools.islice(self.calls.items(), len(self.calls) // 10) if r.done]:
                del self.calls[key]

    def finish(self, record: CallRecord, outcome: SimOutcome | None, ended_by: str, cause: int | None) -> None:
        """Close a record once (later calls only fill in what is still missing)."""
        if record.done:
            return
        if outcome is not None and record.outcome is SimOutcome.PENDING:
            record.outcome = outcome
        record.ended_by = ended_by
        record.hangup_cause = cause
        record.ended_at = self.sched.now()
        self.stats.calls_ended += 1
        self.stats.calls_live -= 1
        self.stats.outcomes[record.outcome.value] += 1
        for fut in self._waiters.pop(record.call_id, ()):
            if not fut.done():
                fut.set_result(record)

    async def wait_ended(self, call_id: str) -> CallRecord:
        record = self.calls.get(call_id)
        if record is not None and record.done:
            return record
        fut: asyncio.Future[CallRecord] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(call_id, []).append(fut)
        return await fut

    # -- emission ---------------------------------------------------------------------------------------

    def ts(self) -> bytes:
        return f"{self.sched.now():.6f}".encode()

    def _emit(self, name: str, cat: int, *parts: bytes) -> None:
        self.stats.events_emitted += 1
        self.sink.emit(cat, event(name, cat, self.ts(), *parts))

    def ev(self, name: str, ch: Channel, *extra: bytes) -> None:
        """A call-class event about one channel: its snapshot then `extra` lines."""
        if self.sink.wants(_CALL):
            self._emit(name, _CALL, ch.block(), *extra)

    def newstate(self, ch: Channel, state: int) -> None:
        ch.set_state(state)
        self.ev("Newstate", ch)

    def dial_ev(self, name: str, caller: Channel | None, dest: Channel, *extra: bytes) -> None:
        """DialBegin/DialState/DialEnd: the caller's snapshot (none for an Originate), then `Dest...`."""
        if self.sink.wants(_CALL):
            head = caller.block() if caller is not None else b""
            self._emit(name, _CALL, head, dest.block("Dest"), *extra)

    def hangup_request(self, ch: Channel, cause: int) -> None:
        self.ev("HangupRequest", ch, kv("Cause", cause))

    def soft_hangup(self, ch: Channel, cause: int) -> None:
        self.ev("SoftHangupRequest", ch, kv("Cause", cause))

    def hangup(self, ch: Channel, cause: int) -> None:
        """The Hangup event; the channel is gone afterwards."""
        if ch.name not in self.channels:
            return
        self.ev("Hangup", ch, kv("Cause", cause), kv("Cause-txt", cause_txt(cause)))
        self.forget(ch)

    def user_event(self, ch: Channel, name: str, *headers: tuple[str, str]) -> None:
        if self.sink.wants(_USER):
            self._emit("UserEvent", _USER, ch.block(), kv("UserEvent", name), *(kv(k, v) for k, v in headers))

    def dialplan(self, ch: Channel, priority: int, app: str, data: str) -> None:
        """Run one dialplan priority: a Newexten event (dialplan class), and the channel moves on."""
        ch.set_priority(priority)
        ch.set_app(app, data)
        if self.sink.wants(_DIALPLAN):
            self._emit(
                "Newexten",
                _DIALPLAN,
                ch.block(),
                kv("Extension", ch.exten),
                kv("Application", app),
                kv("AppData", data),
            )

    def varset(self, ch: Channel, name: str, value: str) -> None:
        if self.sink.wants(_DIALPLAN):
            self._emit("VarSet", _DIALPLAN, ch.block(), kv("Variable", name), kv("Value", value))

    def local_bridge(self, call: Call) -> None:
        if self.sink.wants(_CALL):
            one = call.one
            self._emit(
                "LocalBridge",
                _CALL,
                one.block("LocalOne"),
                call.two.block("LocalTwo"),
                kv("Context", one.context),
                kv("Exten", one.exten),
                b"LocalOptimization: Yes\r\n",
            )

    def bridge_ev(self, name: str, bridge: Bridge, ch: Channel | None = None) -> None:
        if self.sink.wants(_CALL):
            self._emit(name, _CALL, bridge.block(), ch.block() if ch is not None else b"")

    def bridge_enter(self, bridge: Bridge, ch: Channel) -> None:
        bridge.members.append(ch)
        self.bridge_ev("BridgeEnter", bridge, ch)

    def bridge_leave(self, bridge: Bridge, ch: Channel) -> None:
        if ch in bridge.members:
            bridge.members.remove(ch)
            self.bridge_ev("BridgeLeave", bridge, ch)

    def originate_response(self, req: OriginateRequest, call: Call | None, reason: int) -> None:
        """Tell the dialer how its Originate ended: the async event, or the deferred sync response."""
        if call is not None:
            call.orig = None
        success = reason == 4 and call is not None
        if not req.is_async:
            if req.session is not None:
                msg = "Originate successfully queued" if success else "Originate failed"
                req.session.send(response("Success" if success else "Error", req.action_id, msg))
            return
        if not self.sink.wants(_CALL):
            return
        chan = call.one.name if success and call is not None else f"{req.tech}/{req.data}"
        uid = call.one.uniqueid if success and call is not None else (req.channel_id or "<unknown>")
        where = (
            (kv("Application", req.app), kv("Data", req.appdata))
            if req.app
            else (kv("Context", req.context), kv("Exten", req.exten))
        )
        self._emit(
            "OriginateResponse",
            _CALL,
            kv("ActionID", req.action_id) if req.action_id else b"",
            kv("Response", "Success" if success else "Failure"),
            kv("Channel", chan),
            *where,
            kv("Reason", reason),
            kv("Uniqueid", uid),
            kv("CallerIDNum", req.cid_num or "<unknown>"),
            kv("CallerIDName", req.cid_name or "<unknown>"),
        )

    # -- call end ---------------------------------------------------------------------------------------

    def drop_call(self, call: Call) -> None:
        """Forget a call whose channels are all hung up."""
        call.cancel()
        if call.phase is not Phase.ENDED:
            call.move(Phase.ENDED)
        self.forget(call.one)
        self.forget(call.two)
        call.peer = None
        call.bridge = None
