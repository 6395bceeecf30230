"""The daemon: I/O around the engine. One TaskGroup, named tasks, nothing left running on exit.

    AMI events ──► engine.on_ami ──┐
    agent commands (MQTT) ──► engine.on_agent ──┼──► commands ──► AMI actions / MQTT / Redis / hopper
    pacing loop per campaign ──► engine.decide + hopper.take + engine.launch ──┘
    timer loop ──► engine.tick (abandon holds, wrap-up timeouts, stuck calls)

On start it reads back what supervisors changed before the restart (`dialer.daemon_overrides`: nothing
dials until that is done) and each campaign's compliance ledger (`dialer.daemon_compliance`).
It says whether Redis keeps its data on disk (`[redis] require_persistence` refuses to start when it does
not), and watches Redis's data-epoch marker (`dialer.store.DataEpoch`): when Redis comes back empty, every
campaign stops dialing, what the daemon holds in memory is written back (ledgers, supervisor changes,
agents), and the hold stays until a supervisor acknowledges the loss (`acknowledge_store_loss`).
On stop (SIGTERM, or the demo's end) it stops dialing (the leads on preview screens go back to their
sources; Dial and manual dials are refused), lets live calls finish for up to
`shutdown_grace_s`, then hangs up what is left, writes every remaining call record, flushes Redis and
returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any, Protocol, assert_never

import uvicorn
from pydantic import ValidationError

from agents.commands import (
    AgentCommand,
    Disposition,
    Login,
    Logout,
    Pause,
    PreviewDial,
    PreviewSkip,
    RecentCommands,
    parse_agent_command,
)
from agents.dispositions import DispositionRejected, callback_time
from agents.screenpop import ScreenPopRenderer
from agents.state import Agent, AgentState
from dialer import dead_calls
from dialer.agentfeed import AgentFeed
from dialer.amd_audit import AmdAudit
from dialer.ami import actions
from dialer.ami import events as ev
from dialer.ami.client import AmiResponse
from dialer.ami.marks import answer_marks
from dialer.bus import BusPort
from dialer.clock import Clock
from dialer.config import CampaignSettings, DialerSettings
from dialer.daemon_agentcalls import AgentCalls
from dialer.daemon_compliance import Compliance, OrphanClaim
from dialer.daemon_overrides import OVERRIDES_HOLD, Overrides
from dialer.engine import link
from dialer.engine.agentless import AgentlessPlan
from dialer.engine.agentside import NO_DISPOSITION
from dialer.engine.calls import CallState
from dialer.engine.commands import (
    AgentNotice,
    AutoDialPreview,
    CheckChannels,
    Command,
    DispositionMade,
    ForgetUndisposed,
    HangupChannel,
    KeepUndisposed,
    Originate,
    OriginateAgentFirst,
    RecordLedger,
    RecordOptOut,
    Redirect,
    ReturnLead,
    ScreenPop,
    WriteCallRecord,
)
from dialer.engine.core import CampaignRuntime, DialRequest, Engine
from dialer.engine.records import Undisposed, mask_number
from dialer.engine.unsure import ActionFailure, Refused, Unanswered
from dialer.errors import AmiConnectionError, AmiError, ConfigError, DialerError, IllegalTransition, StateStoreError
from dialer.hopper.hopper import DeadDial
from dialer.hopper.store import LeadStore
from dialer.leadsource import CallbackCheck, DeadTakeSource, LeadSource, PreviewSource, ReturnSource, put_back
from dialer.ledger_store import LedgerStore
from dialer.metrics import Metrics, dial_level
from dialer.signals_feed import SignalsFeed
from dialer.store import DataEpoch, EpochSeen, Persistence, RedisStore, StoreLoss, end_if_cancelled, until_stored
from dialer.undisposed_store import UndisposedStore
from pacing import Jurisdiction, Mode, Pacer, PacingKnobs, Reason
from pacing.ledger import UK_WINDOW_S

__all__ = ["DEAD_TAKES_HOLD", "LEDGER_HOLD", "OVERRIDES_HOLD", "RESTART_REASON", "STORE_LOST_HOLD", "AmiPort", "Daemon",
           "audit_from_settings", "persistence_checked", "runtime_from_settings"]

RESTART_REASON = "dialer_restarted"  # the pause of the agents a restarted daemon logs back in


def runtime_from_settings(cs: CampaignSettings) -> CampaignRuntime:
    """A campaign as the engine runs it, from its settings."""
    return CampaignRuntime(
        campaign_id=cs.id,
        pacer=Pacer(cs.pacing.knobs()),
        amd=cs.amd,
        ring_timeout_s=cs.ring_timeout_s,
        caller_id_name=cs.caller_id_name or cs.PLACEHOLDER_CALLER_ID["caller_id_name"],
        caller_id_number=cs.caller_id_number or cs.PLACEHOLDER_CALLER_ID["caller_id_number"],
        wrapup_timeout_s=cs.wrapup_timeout_s,
        after_wrapup_timeout=cs.after_wrapup_timeout,
        late_disposition_s=cs.late_disposition_s,
        preview_auto_dial_s=cs.preview_auto_dial_s,
        record_calls=cs.record_calls,
        amd_audit_share=cs.pacing.amd_audit_share,
        agentless=AgentlessPlan(context=cs.agentless_context, exten=cs.agentless_exten, message=cs.agentless_message,
                                on_machine=cs.agentless_on_machine),
    )


def audit_from_settings(cs: CampaignSettings) -> AmdAudit:
    """A campaign's AMD audit (nothing counted yet), from its settings."""
    p = cs.pacing
    return AmdAudit(configured=p.amd_false_positive, min_samples=p.amd_audit_min_samples, share=p.amd_audit_share,
                    prior_audits=p.amd_audit_prior_audits)

log = logging.getLogger(__name__)

LEDGER_HOLD = (
    "compliance ledger not read back from Redis yet: predictive and power dial progressively until it is"
)

DEAD_TAKES_HOLD = (
    "AMI connected: ending the calls an earlier daemon process placed that are gone from Asterisk by what the "
    "dialplan marked of their answers, before dialing (abandons found count in the ledger first)"
)

STORE_LOST_HOLD = (
    "Redis lost the dialer's data (do-not-call lists, 72-hour abandon locks, callbacks, suppressions, leads): no "
    "dials until a supervisor restores them and acknowledges (POST /api/state-store/acknowledge-loss, or "
    "`dialer store acknowledge-loss`)"
)


class AmiPort(Protocol):
    """What the daemon needs from an AMI client (`dialer.ami.client.AmiClient` in production)."""

    def events(self) -> AsyncIterator[ev.AmiEvent]: ...

    def submit_originate(self, action: actions.OriginateAction) -> None: ...

    async def send(self, action: actions.AmiAction, timeout: float = ..., *, check: bool = ...) -> AmiResponse: ...

    async def core_show_channels(self, timeout: float = ...) -> list[ev.ChannelRow]: ...


class _Stopped(Exception):
    """Raised inside the TaskGroup once shutdown is complete, to end its sibling tasks."""


class Daemon(AgentCalls, Compliance, Overrides):
    def __init__(
        self,
        settings: DialerSettings,
        *,
        clock: Clock,
        engine: Engine,
        ami: AmiPort,
        store: RedisStore,
        bus: BusPort,
        leads: Mapping[str, LeadSource],
        metrics: Metrics,
        feed: AgentFeed | None = None,
        leads_factory: Callable[[CampaignSettings, Any], Awaitable[LeadSource]] | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.engine = engine
        self.ami = ami
        self.store = store
        self.bus = bus
        self.leads: dict[str, LeadSource] = dict(leads)
        self._leads_factory = leads_factory
        self.metrics = metrics
        self.feed = feed or AgentFeed(bus)
        self.dialing = True
        self._dirty = {cid: asyncio.Event() for cid in engine.campaigns}
        self._timer_wake = asyncio.Event()
        self._calls_changed = asyncio.Event()
        self._actions: asyncio.TaskGroup | None = None
        self._pending: set[asyncio.Task[Any]] = set()  # what `_later` started and has not finished
        self._closed_to_agents = False  # the shutdown has closed every call and wrap-up
        self._recent_commands = RecentCommands()  # agents' command ids seen (a repeat is dropped)
        self._agent_pause_codes = frozenset(r.code for r in settings.desk.pause_reasons)  # what agents may choose
        self._stored_agents: dict[str, dict[str, str]] = {}  # what each agent's hash was last set to
        self.ready = asyncio.Event()
        self.agents_restored = asyncio.Event()  # `_restore_agents` is done
        # connected to AMI and resynced (the calls an earlier process left taken over): dialing is not held for it
        self.ami_ready = asyncio.Event()
        self.http_server: uvicorn.Server | None = None
        self.action_failures = 0
        self.leads_returned = 0  # dials never placed (no AMI connection, a stop during the take): leads given back
        self.pacing_crashes = 0
        self.task_failures = 0  # `_later` tasks that raised a DialerError (logged, the daemon went on)
        self.task_crashes = 0  # `_later` tasks that raised anything else: a bug (logged with the traceback)
        self.ledgers = LedgerStore(store)
        self.undisposed = UndisposedStore(store)  # the calls agents may still dispose late, across restarts
        self.signals = SignalsFeed(bus.signals(), LeadStore.of(store), clock.now, metrics)
        self.late_pops: dict[str, Mapping[str, Any]] = {}  # call id -> the screen-pop of such a call read back
        self._own_callbacks_looked: dict[str, tuple[float, frozenset[str]]] = {}  # see `offer_own_callbacks`
        self._callbacks_reminded_at: dict[str, float] = {}  # campaign -> last look (`_remind_due_callbacks`)
        self._callbacks_reminded: dict[str, set[str]] = {}  # agent -> due callbacks (lead ids) they were told of
        self._unrecorded_warned: set[str] = set()  # campaigns warned that Asterisk records none of their calls
        self.ledger_warn_after_s = 5.0  # real seconds a ledger read may wait before the log says so
        self.ledger_retry_s = 30.0  # real seconds between reads of a ledger Redis holds in a form we cannot read
        # real seconds before a do-not-call request is written again while Redis is away, doubling up to the max
        self.store_retry_s, self.store_max_retry_s = 1.0, 30.0
        self.ledger_ready: dict[str, asyncio.Event] = {}  # set once a campaign's ledger is read back
        self.persistence: Persistence | None = None  # what Redis said of keeping its data (`persistence_checked`)
        self.store_epoch: DataEpoch | None = None  # the data epoch of Redis this daemon works in (`_watch_store`)
        self.store_loss: StoreLoss | None = None  # Redis lost its data and no supervisor acknowledged it: no dials
        self.store_epoch_ready = asyncio.Event()  # the marker is claimed (and an unacknowledged loss read back)
        self.epoch_check_s = 5.0  # real seconds between looks at the marker (and at once after a reconnect)
        self._epoch_lock = asyncio.Lock()
        self.audits: dict[str, AmdAudit] = {}  # each campaign's AMD audit sample (`dialer.amd_audit`)
        self._init_overrides()  # the supervisor's changes kept across restarts (`dialer.daemon_overrides`)
        configured = {cs.id: cs for cs in settings.campaigns}
        for cid, camp in engine.campaigns.items():
            camp.pacer.ledger.hold(LEDGER_HOLD)
            self.ledger_ready[cid] = asyncio.Event()
            cs = configured.get(cid)
            self.audits[cid] = audit_from_settings(cs) if cs is not None else AmdAudit(
                configured=camp.pacer.knobs.amd_false_positive, share=camp.amd_audit_share)
            self._export_audit(cid)

    # ------------------------------------------------------------------ lifecycle
    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set, then shut down gracefully."""
        if self.persistence is None and self.settings.redis.require_persistence:  # refused before anything runs
            self.persistence = await persistence_checked(self.store, self.metrics, required=True)
        renderer = self.engine.screenpop
        if isinstance(renderer, ScreenPopRenderer):
            # the earlier contacts the screen-pops show, read back before an agent is logged back in or handed a
            # call (a Redis that does not answer in time is logged, and the daemon starts without them)
            await renderer.history.warm(self.store, timeout_s=2 * self.store.timeout_s)
        try:
            async with asyncio.TaskGroup() as tg:
                self._actions = tg
                # First of all, read back what supervisors changed before the restart: until then nothing
                # dials (a stop must hold), and this read is the first in the outbox, ahead of the ledgers'.
                self.overrides_hold = OVERRIDES_HOLD
                tg.create_task(self._restore_overrides(), name="overrides")
                tg.create_task(self._restore_agents(), name="agents")
                tg.create_task(self._ami_loop(), name="ami-events")
                tg.create_task(self._agent_loop(), name="agent-commands")
                tg.create_task(self._timer_loop(), name="timers")
                tg.create_task(self.store.run_outbox(), name="redis-outbox")
                tg.create_task(self._watch_store(), name="redis-epoch")
                if self.persistence is None:  # only said: in a task of its own, not to hold up the start
                    tg.create_task(self._say_persistence(), name="redis-persistence")
                tg.create_task(self.bus.run(), name="mqtt")
                tg.create_task(self.signals.run(), name="suppression-signals")
                for cid in self.engine.campaigns:
                    tg.create_task(self._restore_ledger(cid), name=f"ledger-{cid}")
                    tg.create_task(self._pacing_loop(cid), name=f"pacing-{cid}")
                if self.settings.http.enabled:
                    tg.create_task(self._serve_http(), name="http")
                tg.create_task(self._shutdown_when(stop), name="shutdown")
                self.ready.set()
        except* _Stopped:
            pass
        finally:
            self._actions = None

    async def run_ami_only(self) -> None:
        """Only the AMI side (events in, actions out) until cancelled: for harnesses that drive agents,
        dialing and preview offers themselves (`agents.desk.harness` with the PBX simulator)."""
        try:
            async with asyncio.TaskGroup() as tg:
                self._actions = tg
                await self._ami_loop()
        finally:
            self._actions = None

    async def _serve_http(self) -> None:
        from dialer.http import EmbeddedServer, build_app

        cfg = uvicorn.Config(
            build_app(self),
            host=self.settings.http.host,
            port=self.settings.http.port,
            log_level="warning",
            lifespan="on",
            access_log=False,
            timeout_graceful_shutdown=3,
        )
        self.http_server = EmbeddedServer(cfg)
        await self.http_server.serve()

    async def _shutdown_when(self, stop: asyncio.Event) -> None:
        await stop.wait()
        log.info("stopping: no new dials; letting live calls finish and agents give their dispositions")
        self.dialing = False
        for cid in self.engine.campaigns:  # a preview is a dial to come: back to its source (`_settle_later`)
            self._withdraw_previews(cid, self._held_since_decision(cid))
        for d in self._dirty.values():
            d.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.clock.to_real(self.settings.shutdown_grace_s)):
                while self._live_calls() or self.engine.wrapups():
                    self._calls_changed.clear()
                    await self._calls_changed.wait()
        now = self.clock.now()
        left = self._live_calls()
        if left:
            log.warning(f"shutdown grace over: hanging up the {left} call(s) still up; those still ringing are "
                        "recorded no_answer, those answered and not yet with an agent abandoned")
        self.execute(self.engine.close_all(now), now)
        undisposed = self.engine.wrapups()
        if undisposed:
            log.warning(f"shutdown: {undisposed} wrap-up(s) end without the agent's disposition; their calls are "
                        f"disposed {NO_DISPOSITION} and their leads recorded as contacts; where the campaign's "
                        "late_disposition_s allows, each agent can still save the disposition after the restart")
        self.execute(self.engine.end_wrapups(now), now)
        self._closed_to_agents = True
        await self._settle_later()
        await self.store.flush()
        await self.bus.drain()
        if self.http_server is not None:
            self.http_server.should_exit = True
        log.info("stopped: every call record written")
        raise _Stopped

    def _live_calls(self) -> int:
        return sum(len(c.active) for c in self.engine.campaigns.values())

    # ------------------------------------------------------------------ AMI
    async def _ami_loop(self) -> None:
        async for event in self.ami.events():
            self.metrics.ami_events.inc()
            now = self.clock.now()
            if isinstance(event, ev.AmiConnected | ev.AmiDisconnected):
                await self._link_changed(event, now)
                continue
            if isinstance(event, ev.MalformedEvent):
                self.metrics.ami_bad_events.inc()
                log.warning("unreadable AMI event skipped", extra={"event": event.name, "error": event.problem})
                continue
            if isinstance(event, ev.OriginateFailed) and event.may_exist:
                # Asterisk is slow to answer Originates (overloaded, or a stalled connection): the call is
                # ended by its own events if they come, else by the stuck-call sweep as `lost`
                log.warning("Originate unanswered in time; the call waits for its events",
                            extra={"call_id": event.call_id, "error": event.error})
            cmds = self.engine.on_ami(event, now)
            if cmds:
                self.execute(cmds, now)

    async def _link_changed(self, event: ev.AmiConnected | ev.AmiDisconnected, now: float) -> None:
        """The engine holds dialing from the loss (and from the first connect) until the resync is done
        (`dialer.engine.link`); the events are not read meanwhile, so the resync sees the calls as they were
        at the connect, and the calls an earlier process left are taken over before their events are read."""
        up = isinstance(event, ev.AmiConnected)
        self.metrics.ami_connected.set(1 if up else 0)
        self.execute(self.engine.on_ami(event, now), now)
        if isinstance(event, ev.AmiDisconnected):
            self.ami_ready.clear()
            log.warning("AMI connection lost; no new dials, and calls in progress will be resynced",
                        extra={"error": event.reason})
        else:
            await self._resync()
            self.ami_ready.set()
        for dirty in self._dirty.values():  # dial again at once, or record the hold's decision
            dirty.set()

    async def _resync(self) -> None:
        asked_at = self.clock.now()
        try:
            rows = await self.ami.core_show_channels()
        except AmiError as exc:
            log.error("resync after connecting to AMI failed; dialing again, stuck calls will time out, and calls "
                      "an earlier process left are taken over at the next look", extra={"error": repr(exc)})
            now = self.clock.now()
            self.execute(self.engine.resync_failed(now), now)
            return
        claims = await self._claim_orphans(rows)  # still held: nothing dials, no event is read meanwhile
        # how the calls gone unseen were answered, if they were: the dialplan's marks (`dialer.ami.marks`)
        wanted = link.marks_wanted(self.engine, rows, self.clock.now())
        self.engine.ami_link.marks = await answer_marks(self.ami, wanted)
        now = self.clock.now()
        self.execute(self.engine.resync(rows, now, asked_at), now)
        self._adopt_orphans(claims, now)
        if self._actions is not None and any(isinstance(s, DeadTakeSource) for s in self.leads.values()):
            # no dial until the abandons among the dead process's calls are counted (`_release_dead_takes`)
            self.engine.ami_link.hold = DEAD_TAKES_HOLD
        self._later(self._release_dead_takes(rows, claims), "release-dead-takes")

    async def _release_dead_takes(self, rows: list[ev.ChannelRow], claims: list[OrphanClaim]) -> None:
        """After the resync took over the calls an earlier process left: the leads that process took (a crash, a
        kill -9) whose calls are not up in Asterisk are released now by their sources (`DeadTakeSource`: a preview
        or a lead never dialed back with no attempt counted, a callback back to its agent, a dial that may have
        gone out recorded lost), not an hour later as lost dials; a dial whose call id its take kept is first
        ended by what Asterisk kept of its answer (`_settle_dead_dials`). The leads of calls up are left to them:
        those taken over or claimed (and every call the engine has), and, by number, those whose lead was not
        read. Dialing waits for it (`DEAD_TAKES_HOLD`, set by `_resync`): the abandons it finds count in the
        ledger's budget before the next decision."""
        up = {o.number for o in self.engine.find_orphans(rows, self.settings.ami.outbound_context)}
        up |= {c.orphan.number for c in claims}
        up.discard("")

        async def release(cid: str, source: DeadTakeSource) -> None:
            keep = {c.request.lead_id for c in claims if c.campaign_id == cid}
            keep |= {c.lead_id for c in self.engine.calls.values() if c.campaign_id == cid}

            async def settle(dials: Sequence[DeadDial]) -> set[str]:
                return await self._settle_dead_dials(cid, dials)

            try:
                await source.release_dead_takes(self.clock.now(), keep_leads=keep, keep_numbers=up, settle=settle)
            except DialerError as exc:
                log.warning("the leads an earlier daemon process took were not all released; the rest are released "
                            "at the next AMI connect, or else recovered as lost dials after the campaign's "
                            "inflight_timeout_s (twice that for a dial whose call was placed)",
                            extra={"campaign_id": cid, "error": repr(exc)})

        try:
            await asyncio.gather(*(release(cid, source) for cid, source in list(self.leads.items())
                                   if cid in self.engine.campaigns and isinstance(source, DeadTakeSource)))
        finally:
            if self.engine.ami_link.hold == DEAD_TAKES_HOLD:  # not a loss of the link meanwhile: that one stays
                self.engine.ami_link.hold = ""
                for dirty in self._dirty.values():
                    dirty.set()

    async def _settle_dead_dials(self, campaign_id: str, dials: Sequence[DeadDial]) -> set[str]:
        """End the dead process's dials of `campaign_id` that Asterisk's answer marks, or the record that process
        wrote, can end (`dialer.dead_calls`); the call ids ended, the others for the hopper to record lost. A record
        written: the lead's result from it, nothing counted again. A mark: the record written, the lead's result
        with it (an abandon locks the number 72 hours) and, for an abandon, the ledger's entry at the answer's
        time, as every call's record and entry are (`execute`)."""
        camp = self.engine.campaigns[campaign_id]
        now = self.clock.now()
        message = camp.agentless.label if camp.pacer.knobs.mode is Mode.AGENTLESS else None
        ends = await dead_calls.settle(dials, campaign_id, records=self.store, ami=self.ami, now=now,
                                       agentless_message=message)
        source = self.leads[campaign_id]
        abandons = 0
        for end in ends:
            if isinstance(end, dead_calls.Written):
                self._later(source.record_result(end.record, end.dial.target, now), "record-result",
                            about={"call_id": end.dial.call_id, "campaign_id": campaign_id})
                continue
            cmds: list[Command] = [WriteCallRecord(end.record, end.dial.target)]
            if end.abandon is not None:
                abandons += 1
                if now - end.abandon.at < UK_WINDOW_S:  # older: past every window but the US period, and the
                    camp.pacer.ledger.apply(end.abandon)  # ledger's minute ring would take it for a recent minute
                cmds.insert(0, RecordLedger(campaign_id, end.abandon, end.dial.call_id))
            self.execute(cmds, now)
        if abandons:
            log.warning(f"campaign {campaign_id}: {abandons} person(s) answered a call an earlier daemon process "
                        "placed, while no daemon ran, and hung up unserved: counted abandoned at their answer (the "
                        "compliance ledger), their numbers locked 72 hours", extra={"campaign_id": campaign_id})
        return {end.dial.call_id for end in ends}

    # ------------------------------------------------------------------ agents
    async def _agent_loop(self) -> None:
        async for agent_id, raw in self.bus.agent_commands():
            if self._closed_to_agents:
                # every call and wrap-up is closed: a disposition now would only be refused as late
                log.info("agent command after the shutdown closed the wrap-ups; ignored", extra={"agent_id": agent_id})
                continue
            cmd: object = None
            try:
                cmd, command_id = parse_agent_command(agent_id, raw)
                if isinstance(cmd, Login) and (refused := self._mqtt_login_refused(cmd)):
                    log.warning(f"agent login over MQTT refused: {refused}", extra={"agent_id": agent_id})
                    self.feed.publish(agent_id, "error", {"error": refused, "field": "extension"})
                    continue
                if isinstance(cmd, Pause) and cmd.reason not in self._agent_pause_codes:
                    # the desk offers only these; reports and the wallboard group pauses by them
                    self.feed.publish(agent_id, "error", {
                        "error": f"pause reason {cmd.reason!r} is not one of "
                                 f"{', '.join(sorted(self._agent_pause_codes))} ([desk] pause_reasons)",
                        "field": "reason"})
                    continue
                if isinstance(cmd, PreviewDial | PreviewSkip):  # they read Redis: in a task of their own
                    if not self._recent_commands.repeated(agent_id, command_id):
                        self._later(self._preview_command(cmd, command_id), "preview-command",
                                    about={"agent_id": agent_id})
                    continue
                self.agent_command(cmd, command_id=command_id)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "payload"
                self.feed.publish(agent_id, "error", {"error": f"bad command: {where}: {first['msg']}"})
            except DispositionRejected as exc:  # the field and the call, so that a client can fix that field
                self.feed.publish(agent_id, "error", {"error": str(exc), "field": exc.field,
                                                      "call_id": getattr(cmd, "call_id", None)})
            except IllegalTransition as exc:
                self.feed.publish(agent_id, "error", {"error": str(exc)})

    def _mqtt_login_refused(self, cmd: Login) -> str:
        """Why a login over MQTT is refused ("" if it is not). MQTT carries no password: where agent accounts
        are configured, a login must name one and its own phone (and campaign, if the account is tied to
        one), or any client could have another agent's calls ring its phone. Without accounts (a simulated
        shift) any login goes, as before."""
        if not self.settings.agents:
            return ""
        account = next((a for a in self.settings.agents if a.id == cmd.agent_id), None)
        if account is None:
            return f"{cmd.agent_id} is not a configured agent: add their account ([[agents]]) to log them in"
        if cmd.extension != account.extension:
            return (f"extension {cmd.extension} is not {cmd.agent_id}'s phone ({account.extension}): their calls "
                    "would ring someone else's; log in with their own extension")
        if account.campaign and cmd.campaign_id != account.campaign:
            return f"{cmd.agent_id} works campaign {account.campaign}, not {cmd.campaign_id}"
        return ""

    # ------------------------------------------------------------------ control surface (HTTP, CLI)
    def agent_command(self, cmd: AgentCommand, *, command_id: str | None = None) -> bool:
        """Apply an agent's command now (MQTT or HTTP). Raises IllegalTransition or
        DispositionRejected, changing nothing. A command whose `command_id` the agent already sent is
        dropped (False): its client sent it again (`RecentCommands`)."""
        if self._recent_commands.repeated(cmd.agent_id, command_id):
            log.info("agent command sent again with the same id; dropped",
                     extra={"agent_id": cmd.agent_id, "command_id": command_id})
            return False
        try:
            self._apply_agent_command(cmd)
        except DialerError:
            self._recent_commands.forget(cmd.agent_id, command_id)
            raise
        return True

    def _apply_agent_command(self, cmd: AgentCommand) -> None:
        now = self.clock.now()
        renderer = self.engine.screenpop
        if isinstance(cmd, Pause | Logout):
            self._drop_preview(cmd.agent_id, now)
        late = self.late_disposed(cmd) if isinstance(cmd, Disposition) else None
        if isinstance(cmd, Disposition) and isinstance(renderer, ScreenPopRenderer):
            # against the codes of the disposed call's campaign: a late disposition's agent may have logged in
            # to another campaign since (its screen-pop still offers the first one's codes)
            agent = self.engine.roster.get(cmd.agent_id)
            campaign_id = late.campaign_id if late is not None else (agent.campaign_id or "") if agent else ""
            cmd = renderer.validate_disposition(cmd, campaign_id, now)
        if isinstance(cmd, Disposition) and (cmd.fields.get("callback_epoch") or cmd.fields.get("callback_at")):
            self._check_callback_time(cmd, now)
        self.execute(self.engine.on_agent(cmd, now), now)
        if isinstance(cmd, Disposition) and isinstance(renderer, ScreenPopRenderer):
            renderer.note_disposition(cmd)
        self._agent_changed(cmd.agent_id)

    def late_disposed(self, cmd: Disposition) -> Undisposed | None:
        """What the engine kept of the call a disposition disposes late (its wrap-up ended without one), or
        None for a disposition in the wrap-up (`agentside.dispose` tells them apart the same way)."""
        agent = self.engine.roster.get(cmd.agent_id)
        if agent is not None and agent.state is AgentState.WRAPUP and agent.call_id == cmd.call_id:
            return None
        late = self.engine.undisposed.get(cmd.agent_id)
        return late if late is not None and late.call_id == cmd.call_id else None

    def _check_callback_time(self, cmd: Disposition, now: float) -> None:
        """A callback's time against the person's calling hours, before the disposition is taken: a refusal
        names the field and the next allowed time, so the agent picks another (the customer's promise is
        not dropped later, when the result is written)."""
        call = self.engine.calls.get(cmd.call_id)
        late = self.engine.undisposed.get(cmd.agent_id)
        of = call if call is not None else late if late is not None and late.call_id == cmd.call_id else None
        if of is None:
            return
        source = self.leads.get(of.campaign_id)
        if isinstance(source, CallbackCheck):
            # the renderer's validation gives the epoch; without it (no screen-pop renderer) read the time given
            at = cmd.fields.get("callback_epoch") or cmd.fields["callback_at"]
            why = source.callback_refusal(of.target, callback_time(at, now, min_s=0.0, max_days=366), now)
            if why is not None:
                raise DispositionRejected("fields.callback_at", why)

    def _agent_changed(self, agent_id: str) -> None:
        agent = self.engine.roster.get(agent_id)
        if agent is not None and agent.campaign_id in self._dirty:
            self._dirty[agent.campaign_id].set()
        if agent is not None:
            self._store_agent(agent)

    def _store_agent(self, agent: Agent) -> None:
        """The agent's hash: what a restarted daemon logs them back in with (`_restore_agents`). Written
        when it changed: both a command and the state notice it caused ask for it."""
        fields = {"state": agent.state.value, "since": str(agent.since), "campaign": agent.campaign_id or "",
                  "extension": agent.extension}
        before = self._stored_agents.get(agent.agent_id)
        if agent.pending_logout:  # asked for during a call: a restart after a crash completes it (`_restore_agents`)
            fields["pending_logout"] = "1"
        elif before is not None and before.get("pending_logout") == "1":
            fields["pending_logout"] = ""  # taken back: the hash's earlier "1" must not outlive it
        if before == fields:
            return
        self._stored_agents[agent.agent_id] = fields
        self.store.set_agent(agent.agent_id, fields)

    async def _restore_agents(self) -> None:
        """Agents logged in when the daemon last stopped come back logged in to the same campaign, paused
        (reason `RESTART_REASON`): their desktops' sessions outlive a restart, so they carry on with one
        click on Ready instead of logging in again, and no call goes to a chair that may be empty."""
        accounts = {a.id: a for a in self.settings.agents}
        got = await self.store.read_agents()
        now = self.clock.now()
        back: list[str] = []
        for agent_id, h in sorted(got.items()):
            campaign = h.get("campaign", "")
            account = accounts.get(agent_id)
            extension = account.extension if account is not None else h.get("extension", "")
            if h.get("state", "") in ("", AgentState.LOGGED_OUT.value) or not extension:
                continue
            if h.get("pending_logout") == "1":
                # they asked to log out after their call, and the daemon died before carrying it out (a
                # graceful stop ends the wrap-up and logs them out itself): the call is over for the dialer,
                # so the logout is done; a late disposition kept for them is still theirs once they log in
                log.info("agent not logged back in: they had asked to log out after their call",
                         extra={"agent_id": agent_id})
                self.store.set_agent(agent_id, {"state": AgentState.LOGGED_OUT.value, "pending_logout": ""})
                continue
            if campaign not in self.engine.campaigns:
                log.warning("agent not logged back in: their campaign is no longer configured",
                            extra={"agent_id": agent_id, "campaign_id": campaign})
                continue
            known = self.engine.roster.get(agent_id)
            if known is not None and known.state is not AgentState.LOGGED_OUT:
                continue  # logged in again already
            try:
                self.execute(self.engine.on_agent(Login(agent_id, extension, campaign), now), now)
                self.execute(self.engine.on_agent(Pause(agent_id, RESTART_REASON), now), now)
            except IllegalTransition as exc:
                log.warning("agent not logged back in", extra={"agent_id": agent_id, "error": str(exc)})
                continue
            self._agent_changed(agent_id)
            back.append(agent_id)
        if back:
            log.info(f"{len(back)} agent(s) logged back in after the restart, paused until they are ready",
                     extra={"action": ", ".join(back[:20])})
        await self._restore_undisposed(now)
        self.agents_restored.set()

    async def _restore_undisposed(self, now: float) -> None:
        """The calls agents could still dispose late when the daemon stopped (a shutdown ends every open
        wrap-up so): each comes back to its agent for the rest of its time (`read` drops the expired ones),
        whether they were logged back in or not: one who had asked to log out after their call, or who
        logged out since, disposes it once they log in again, to any campaign, as without the restart.
        Only a chance whose campaign is no longer configured is dropped."""
        for agent_id, got in (await self.undisposed.read(now)).items():
            if got.late.campaign_id not in self.engine.campaigns:
                log.warning("late disposition dropped: its campaign is no longer configured",
                            extra={"agent_id": agent_id, "call_id": got.late.call_id,
                                   "campaign_id": got.late.campaign_id})
                self.undisposed.forget(agent_id)
                continue
            if agent_id in self.engine.undisposed:
                continue  # a newer one since the start
            self.engine.undisposed[agent_id] = got.late
            if got.pop is not None:
                self.late_pops[got.late.call_id] = got.pop
            log.info("late disposition open again after the restart",
                     extra={"agent_id": agent_id, "call_id": got.late.call_id})

    def sent_pop(self, agent_id: str, call_id: str) -> Mapping[str, Any] | None:
        """The screen-pop of `call_id` the agent was sent: from the feed, or read back after a restart."""
        return self.feed.last_pop(agent_id, call_id) or self.late_pops.get(call_id)

    def set_knobs(self, campaign_id: str, knobs: PacingKnobs) -> None:
        """Change a campaign's pacing; the next decision uses it.

        The AMD false-positive share is always the campaign's effective one (`AmdAudit.effective`: the
        configured share, or the audit's estimate when that is larger), whatever `knobs` carries.
        """
        camp = self.engine.campaigns[campaign_id]
        audit = self.audits.get(campaign_id)
        before = camp.pacer.knobs.amd_false_positive
        if audit is not None:
            knobs = dataclasses.replace(knobs, amd_false_positive=audit.effective())
            blocks = knobs.jurisdiction is Jurisdiction.UK and knobs.amd_false_positive >= knobs.abandon_cap
            camp.amd_fp_note = audit.explain(knobs.abandon_cap) if blocks else ""
            if knobs.amd_false_positive != before:
                log.log(logging.WARNING if blocks else logging.INFO,
                        f"AMD false-positive share {before:.2%} -> {knobs.amd_false_positive:.2%}: "
                        f"{audit.explain(knobs.abandon_cap)}", extra={"campaign_id": campaign_id})
        camp.pacer.set_knobs(knobs)
        self._dirty[campaign_id].set()
        self._export_audit(campaign_id)

    @property
    def can_add_campaigns(self) -> bool:
        """Whether `add_campaign` can open lead sources (the daemon was given a lead-source factory)."""
        return self._leads_factory is not None

    async def add_campaign(self, settings: CampaignSettings) -> None:
        """Add a campaign while running, paused (no dial until it is started). Raises ConfigError and
        changes nothing when the id exists or its lead source cannot be opened."""
        if settings.id in self.engine.campaigns:
            raise ConfigError(f"campaign {settings.id} already exists; edit it instead")
        if self._actions is None or self._leads_factory is None:
            raise ConfigError("this daemon cannot add campaigns while running (no lead source factory)")
        source = await self._leads_factory(settings, self.store.r)
        runtime = runtime_from_settings(settings)
        runtime.paused = True
        runtime.pacer.ledger.hold(LEDGER_HOLD)
        self.ledger_ready[settings.id] = asyncio.Event()
        self.audits[settings.id] = audit_from_settings(settings)
        self.engine.add_campaign(runtime)
        self.leads[settings.id] = source
        self._dirty[settings.id] = asyncio.Event()
        self._actions.create_task(self._restore_ledger(settings.id), name=f"ledger-{settings.id}")
        self._actions.create_task(self._pacing_loop(settings.id), name=f"pacing-{settings.id}")

    def set_paused(self, campaign_id: str, paused: bool) -> None:
        """Pause (no new dials; live calls go on) or resume a campaign. A pause also withdraws the leads on
        its agents' preview screens (`_withdraw_previews`): not dialed yet, each is a dial to come."""
        self.engine.campaigns[campaign_id].paused = paused
        if paused:
            self._withdraw_previews(campaign_id, self._held_since_decision(campaign_id))
        self._dirty[campaign_id].set()

    # ------------------------------------------------------------------ pacing
    async def _pacing_loop(self, campaign_id: str) -> None:
        dirty = self._dirty[campaign_id]
        source = self.leads[campaign_id]
        interval_real = max(0.02, self.clock.to_real(1.0))
        # A decision walks every agent and call of the campaign (a few ms at 2,000 agents), so decisions
        # are at most one per `gap`: changes arriving meanwhile are folded into the next one.
        gap = min(0.05, self.clock.to_real(0.25))
        while self.dialing:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval_real):
                    await dirty.wait()
            dirty.clear()
            if not self.dialing:
                break
            try:
                await self._pace_once(campaign_id, source)
            except DialerError as exc:
                log.error("pacing step failed; retrying", extra={"campaign_id": campaign_id, "error": repr(exc)})
            except Exception:  # a bug in one decision must not stop the daemon's calls already up
                log.exception("pacing step crashed; retrying", extra={"campaign_id": campaign_id})
                self.pacing_crashes += 1
            await asyncio.sleep(gap)

    async def _pace_once(self, campaign_id: str, source: LeadSource) -> None:
        camp = self.engine.campaigns[campaign_id]
        # a preview dialed now could not be placed, or would dial a campaign that may have been stopped
        # read once: the read-back may end during the awaits below, and a decision without the look for
        # agents' own callbacks would count READY agents that have one due
        held, hold_reason = self._daemon_hold()
        may_offer = not self._offer_held(campaign_id)
        if may_offer and camp.pacer.knobs.mode is not Mode.AGENTLESS:
            await self.offer_own_callbacks(campaign_id)  # before the pacer counts the ready agents
        # the depth read refills a hopper running low: previews are taken from it too
        depth = await source.depth(self.clock.now())
        self.metrics.hopper_depth.labels(campaign_id).set(depth)
        if camp.pacer.knobs.mode is Mode.PREVIEW:
            # no pacing decision here (agents ask for leads): the gauges would keep the one made before a switch
            self.metrics.decision_launch.labels(campaign_id).set(0)
            self.metrics.predicted_abandon.labels(campaign_id).set(0.0)
            if may_offer:
                await self.offer_previews(campaign_id)
            return
        now = self.clock.now()  # after the await: agents may have moved meanwhile
        decision = self.engine.decide(campaign_id, now, depth, hold=held, hold_reason=hold_reason)
        self.metrics.decision_launch.labels(campaign_id).set(decision.launch)
        self.metrics.decisions.labels(campaign_id, decision.reason.name.lower()).inc()
        self.metrics.predicted_abandon.labels(campaign_id).set(decision.predicted_abandon)
        if decision.hangup:
            cuts = self.engine.hang_up_surplus(campaign_id, decision, now)
            self.metrics.surplus_hangups.labels(campaign_id).inc(len(cuts))
            self.execute(cuts, now)
        if decision.launch <= 0:
            return
        requests = await source.take(decision.launch, now)
        if requests:
            now = self.clock.now()
            # What changed during the take holds over the decision made before it: AMI went down, the
            # supervisor paused or stopped the campaign (the API has answered "stopped" already), or the
            # daemon is stopping. The leads go back undialed.
            hold = self.engine.ami_link.hold or self._held_since_decision(campaign_id)
            if hold:
                for r in requests:
                    self._return_lead(campaign_id, r, hold, now)
                return
            placed = self.engine.launch(campaign_id, requests, now)
            self.execute(placed, now)
            if isinstance(source, DeadTakeSource):  # each take keeps its call's id, for a restart after a crash
                calls = [(self.engine.calls[o.call_id].target, o.call_id) for o in placed
                         if isinstance(o, Originate) and self.engine.calls[o.call_id].state is not CallState.ENDED]
                self._later(source.note_calls(calls), "note-call-ids", about={"campaign_id": campaign_id})

    def _held_since_decision(self, campaign_id: str) -> str:
        """Why the campaign may not dial now, though it might when its decision was made; "" when it may."""
        if not self.dialing:
            return "the daemon is stopping"
        if self.store_loss is not None:
            return STORE_LOST_HOLD
        if campaign_id in self.stopped:
            return "the campaign was stopped"
        if self.engine.campaigns[campaign_id].paused:
            return "the campaign was paused"
        return ""

    def _daemon_hold(self) -> tuple[str, Reason]:
        """The daemon's own reasons to launch nothing in any campaign ("" when none), and the decision's reason."""
        if self.store_loss is not None:
            return "; ".join(h for h in (STORE_LOST_HOLD, self.overrides_hold) if h), Reason.STATE_STORE_LOST
        return self.overrides_hold, Reason.PAUSED

    def _agent_dial_held(self) -> str:
        """Why no agent may start a dial now (Dial on a preview, a typed number); "" when one may. While Redis's
        data is lost, the do-not-call lists and abandon locks the contact-policy check reads are gone."""
        return STORE_LOST_HOLD if self.store_loss is not None else ""

    def _offer_held(self, campaign_id: str) -> str:
        """Why no lead may be put on a preview screen of the campaign now, own callbacks included; "" when one
        may. A preview is a dial to come (Dial, or `preview_auto_dial_s`): what holds dials holds it, and it
        is asked again once a take is back (`AgentCalls._offer`), as `_pace_once` asks of its leads."""
        return self.engine.ami_link.hold or self.overrides_hold or self._held_since_decision(campaign_id)

    # ------------------------------------------------------------------ Redis's data: persistence and the epoch
    async def _say_persistence(self) -> None:
        self.persistence = await persistence_checked(self.store, self.metrics, required=False)

    async def _watch_store(self) -> None:
        """Claim the data-epoch marker, then look at it every `epoch_check_s` and after every reconnect of the
        outbox: a Redis that restarted empty (or was flushed) answers as if nothing happened."""
        mine = DataEpoch.new(self.clock.now())

        async def claim() -> tuple[DataEpoch, StoreLoss | None]:
            return await self.store.claim_epoch(mine), await self.store.read_loss()

        try:
            held, loss = await until_stored("the data-epoch marker", claim, retry_s=self.store_retry_s,
                                            max_retry_s=self.store_max_retry_s, logger=log)
        except StateStoreError as exc:  # refused for good: the key holds another type
            log.error(f"cannot keep Redis's data-epoch marker, so a Redis that comes back empty goes unnoticed: "
                      f"{exc}", extra={"error": repr(exc)})
            return
        self.store_epoch = held
        if held == mine:
            log.warning(f"Redis holds no data-epoch marker: {self.store.key('epoch')} made now. Normal at the first "
                        "start against this Redis (or the first of this version); otherwise Redis lost its data "
                        "while the daemon was stopped: restore the do-not-call lists and leads before dialing")
        if loss is not None:
            self._hold_for_loss(loss)
            log.error(f"Redis lost the dialer's data before this start ({_loss_words(loss)}), and no supervisor has "
                      f"acknowledged it yet: no campaign dials until one does. {_LOSS_TODO}")
        self.store_epoch_ready.set()
        while True:
            # a stop that came as a Redis call completed was swallowed by the client (`end_if_cancelled`): without
            # this the watcher waits for the next reconnect, and the daemon's stop for the watcher, for ever
            end_if_cancelled()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.epoch_check_s):
                    await self.store.reconnected.wait()
            self.store.reconnected.clear()
            try:
                await self.check_store_epoch()
            except StateStoreError as exc:  # away: looked at again next time, and once the outbox gets through
                log.debug("data-epoch marker not read", extra={"error": repr(exc)})

    async def check_store_epoch(self) -> bool:
        """Whether Redis holds this daemon's data-epoch marker now. When it does not, Redis lost its data: hold
        every campaign, write back what the daemon holds in memory, mark a new epoch (`_store_lost`); False.
        Another daemon on the same Redis that found the loss first has replaced the marker already: this one
        adopts that marker and holds for the same loss (`RedisStore.settle_epoch`). Raises StateStoreError when
        Redis does not answer."""
        async with self._epoch_lock:
            mine = self.store_epoch
            if mine is None:
                return True  # not claimed yet: the claim sees what Redis holds
            seen = await self.store.settle_epoch(mine, self.clock.now(), self.store_loss)
            end_if_cancelled()  # the client may return the answer of a call the daemon's stop cancelled
            self.store_epoch = seen.epoch
            if seen.loss is None:
                return True
            self._store_lost(mine, seen)
            return False

    def _store_lost(self, mine: DataEpoch, seen: EpochSeen) -> None:
        """Redis lost its data (`seen`: the marker in Redis now and the loss recorded with it): hold every
        campaign (for the first loss not acknowledged), queue what the daemon holds in memory, say so. No
        await here: each ledger's export is taken where its rewrite enters the outbox."""
        now = self.clock.now()
        loss = StoreLoss(now, mine.id, seen.found)
        self._hold_for_loss(self.store_loss or seen.loss or loss)
        rewritten, unread = [], []
        for cid, camp in self.engine.campaigns.items():
            if not self.ledger_ready[cid].is_set():
                unread.append(cid)  # its read-back is queued: it reads what Redis holds now
                continue
            a = self.audits[cid]
            self.ledgers.rewrite(cid, camp.pacer.ledger.export(now),
                                 (a.machines, a.persons, a.verdict_machines, a.verdict_humans), now)
            rewritten.append(cid)
        for cid in list(self.overrides):
            self.override_store.write_later(cid, functools.partial(self.overrides.get, cid),
                                            functools.partial(self.overrides_unsaved.discard, cid))
        self._stored_agents.clear()
        for agent in self.engine.roster:
            self._store_agent(agent)
        for agent_id, late in self.engine.undisposed.items():
            self.undisposed.keep(agent_id, late, self.sent_pop(agent_id, late.call_id))
        log.error(
            f"Redis lost the dialer's data ({_loss_words(loss)}: restarted with nothing on disk, or flushed). Gone: "
            "the leads and their attempt history, the do-not-call lists, the 72-hour abandon locks, scheduled "
            "callbacks, suppressions, paused lists and the call records written before. Written back from this "
            f"daemon's memory: the compliance ledgers (abandons and the US 30-day period start) of "
            f"{', '.join(rewritten) or 'no campaign'}, the AMD audit samples, the supervisor's campaign changes, the "
            "agents and their open late dispositions"
            + (f"; not of {', '.join(unread)}, whose ledger was not read back yet" if unread else "")
            + (f". The new epoch {seen.epoch.id} was marked already (another dialer on this Redis found the loss "
               "first): adopted" if seen.adopted else "")
            + f". No campaign dials until a supervisor acknowledges. {_LOSS_TODO}",
            extra={"error": f"{self.store.key('epoch')}: {loss.found}, expected {mine.id}"})

    def _hold_for_loss(self, loss: StoreLoss) -> None:
        self.store_loss = loss
        self.metrics.store_data_lost.set(1)
        for cid in self.engine.campaigns:  # a lead on a preview screen is a dial to come
            self._withdraw_previews(cid, STORE_LOST_HOLD)
        for dirty in self._dirty.values():  # every decision now says why it launches nothing
            dirty.set()

    async def acknowledge_store_loss(self, by: str) -> StoreLoss | None:
        """A supervisor says the loss is dealt with (Redis restored, lists imported again): dialing resumes.
        Returns the loss acknowledged, None when there was none. Raises StateStoreError, changing nothing, when
        Redis cannot confirm that it holds the marker now (or has just lost its data again)."""
        if self.store_loss is None:
            return None
        if not await self.check_store_epoch():
            raise StateStoreError("Redis lost its data again just now; nothing acknowledged: check Redis, then "
                                  "acknowledge again")
        async with self._epoch_lock:
            await self.store.clear_loss()
            loss, self.store_loss = self.store_loss, None
        self.metrics.store_data_lost.set(0)
        for dirty in self._dirty.values():
            dirty.set()
        log.warning(f"Redis data loss ({_loss_words(loss)}) acknowledged by {by}: campaigns dial again",
                    extra={"action": "acknowledge-loss"})
        return loss

    # ------------------------------------------------------------------ timers
    async def _timer_loop(self) -> None:
        last_sweep = self.clock.now()
        while True:
            now = self.clock.now()
            nxt = self.engine.next_deadline()
            wait_virtual = 0.25 if nxt is None else min(0.25, max(0.0, nxt - now))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.001, self.clock.to_real(wait_virtual))):
                    await self._timer_wake.wait()
            self._timer_wake.clear()
            now = self.clock.now()
            cmds = self.engine.tick(now)
            if now - last_sweep > 5.0:
                cmds += self.engine.sweep_stuck(now)
                last_sweep = now
                self.engine.forget_ended()
                self._update_gauges()
            if cmds:
                self.execute(cmds, now)

    def _update_gauges(self) -> None:
        counts: dict[tuple[str, str], int] = {}
        for a in self.engine.roster:
            if a.campaign_id:
                counts[(a.campaign_id, a.state.value)] = counts.get((a.campaign_id, a.state.value), 0) + 1
        for cid in self.engine.campaigns:
            for state in ("paused", "ready", "reserved", "previewing", "dialing", "talking", "wrapup"):
                self.metrics.agents.labels(cid, state).set(counts.get((cid, state), 0))
            camp = self.engine.campaigns[cid]
            pre = ("dialing", "ringing", "screening")
            in_flight = sum(1 for c in camp.active if self.engine.calls[c].state.value in pre)
            self.metrics.in_flight.labels(cid).set(in_flight)
            self.metrics.waiting.labels(cid).set(len(camp.waiting))
            # as the API's dial level: logged-out agents keep their campaign in the roster but work no calls
            self.metrics.dial_ratio.labels(cid).set(dial_level(in_flight, {s: n for (c, s), n in counts.items()
                                                                           if c == cid}))
            self.metrics.overrides_unstored.labels(cid).set(1 if cid in self.overrides_unsaved else 0)
        self.metrics.store_backlog.set(self.store.backlog)
        pending = getattr(self.ami, "pending_originates", None)
        if isinstance(pending, int):
            self.metrics.pending_originates.set(pending)

    # ------------------------------------------------------------------ executing commands
    def execute(self, cmds: list[Command], now: float) -> None:
        """Carry out the engine's commands. Never raises: a failed action goes back to the engine."""
        for cmd in cmds:
            if isinstance(cmd, Originate):
                self._originate(cmd)
            elif isinstance(cmd, OriginateAgentFirst):
                self._originate_agent_first(cmd)
            elif isinstance(cmd, Redirect):
                started = time.perf_counter()
                self._send(cmd, actions.redirect(cmd.channel, cmd.context, cmd.exten))
                if cmd.purpose == "agent":
                    self.metrics.connect_latency.observe(time.perf_counter() - started)
            elif isinstance(cmd, HangupChannel):
                self._send(cmd, actions.hangup(cmd.channel, cmd.cause))
            elif isinstance(cmd, CheckChannels):
                self._later(self._check_channels(cmd.asked_at), "check-channels")
            elif isinstance(cmd, ScreenPop):
                self.feed.publish(cmd.agent_id, "screenpop", cmd.payload)
            elif isinstance(cmd, AgentNotice):
                self.feed.publish(cmd.agent_id, cmd.kind, cmd.payload)
                self._timer_wake.set()
                if cmd.kind == "state":
                    self._journal_state(cmd, now)
            elif isinstance(cmd, WriteCallRecord):
                self._record(cmd, now)
            elif isinstance(cmd, RecordLedger):
                self.ledgers.record(cmd.campaign_id, cmd.entry, call_id=cmd.call_id)
                self._note_verdict(cmd)
            elif isinstance(cmd, ReturnLead):
                self._return_lead(cmd.campaign_id, cmd.request, cmd.why, now, call_id=cmd.call_id)
            elif isinstance(cmd, RecordOptOut):
                self._later(self._opt_out(cmd), "opt-out", about={"call_id": cmd.call_id, "lead_id": cmd.lead_id})
            elif isinstance(cmd, DispositionMade):
                self._calls_changed.set()  # a wrap-up ended (the shutdown grace waits for them too)
                self.store.add_disposition(cmd)
                if cmd.final:
                    how = "late" if cmd.amends else "no_disposition" if cmd.code == NO_DISPOSITION else "agent"
                    self.metrics.dispositions.labels(cmd.campaign_id, how).inc()
                if cmd.amd_audit:
                    self._audited(cmd)
                source = self.leads.get(cmd.campaign_id)
                if source is not None and cmd.final:
                    self._later(source.record_disposition(cmd, now), "disposition",
                                about={"call_id": cmd.call_id, "campaign_id": cmd.campaign_id})
                if cmd.final and cmd.fields.get("dnc") == "1":  # final across campaigns, manual calls too
                    self._later(self._dnc_disposition(cmd), "dnc-disposition", about={"call_id": cmd.call_id})
            elif isinstance(cmd, KeepUndisposed):
                self.undisposed.keep(cmd.agent_id, cmd.late, self.sent_pop(cmd.agent_id, cmd.late.call_id))
            elif isinstance(cmd, ForgetUndisposed):
                self.undisposed.forget(cmd.agent_id)
                self.late_pops.pop(cmd.call_id, None)
            elif isinstance(cmd, AutoDialPreview):
                self._later(self._auto_dial(cmd), "preview-auto-dial",
                            about={"agent_id": cmd.agent_id, "lead_id": cmd.lead_id})
            else:
                assert_never(cmd)

    def _journal_state(self, cmd: AgentNotice, now: float) -> None:
        agent = self.engine.roster.get(cmd.agent_id)
        if agent is not None:
            self._store_agent(agent)
        self.store.append_agent_state(
            cmd.agent_id,
            campaign=(agent.campaign_id or "") if agent is not None else "",
            state=str(cmd.payload.get("state", "")),
            at=now,
            reason=str(cmd.payload.get("reason") or ""),
        )

    def _originate(self, cmd: Originate) -> None:
        try:
            action = actions.originate(
                call_id=cmd.call_id,
                number=cmd.number,
                campaign=cmd.campaign_id,
                lead_id=cmd.lead_id,
                timeout_ms=int(cmd.ring_timeout_s * 1000),
                # Asterisk's Timeout also counts the carrier's set-up; the engine hangs the dial up once it has
                # rung the ring timeout
                setup_ms=self.settings.ami.setup_allowance_ms,
                caller_id_name=cmd.caller_id_name,
                caller_id_number=cmd.caller_id_number,
                amd=cmd.amd,
                outbound_context=self.settings.ami.outbound_context,
                message=cmd.message,
                record=cmd.record,
            )
            self.ami.submit_originate(action)
        except DialerError as exc:
            log.error("originate not sent", extra={"call_id": cmd.call_id, "error": repr(exc)})
            now = self.clock.now()
            # the action could not be built from the lead (a number Asterisk cannot dial): a failed dial with a
            # record, not a lead to hand back (it would come back the same)
            self.execute(self.engine.on_ami(ev.OriginateFailed(call_id=cmd.call_id, error=str(exc)), now), now)
            return
        self.metrics.calls_placed.labels(cmd.campaign_id).inc()
        log.debug("originate", extra={"call_id": cmd.call_id, "campaign_id": cmd.campaign_id, "lead_id": cmd.lead_id,
                                      "action": mask_number(cmd.number)})

    def _send(self, cmd: Redirect | HangupChannel, action: actions.AmiAction) -> None:
        """Send the engine's Redirect or Hangup; tell the engine how it failed, if it did: refused by Asterisk
        (an Error answer), or unanswered (the connection lost, or no answer in time: it may have been carried
        out, and the engine finds out where the leg is before it acts; `dialer.engine.unsure`)."""
        purpose = cmd.purpose if isinstance(cmd, Redirect) else "hangup"

        async def go() -> None:
            failure: ActionFailure
            try:
                await self.ami.send(action, timeout=5.0, check=True)
                return
            except AmiConnectionError as exc:
                failure = Unanswered(str(exc))
            except DialerError as exc:
                failure = Refused(str(exc))
            self.action_failures += 1
            # A Hangup or Redirect racing the far end's own hang-up is normal; anything else is not.
            gone = isinstance(failure, Refused) and failure.channel_gone
            level = logging.DEBUG if gone else logging.WARNING
            what = "AMI action failed" if isinstance(failure, Refused) else \
                "AMI action unanswered (Asterisk may have carried it out); nothing more is sent for the call " \
                "until CoreShowChannels or its events show where its channel is"
            log.log(level, what, extra={"call_id": cmd.call_id, "action": purpose, "error": repr(failure)})
            now = self.clock.now()
            self.execute(self.engine.on_action_failed(cmd, failure, now), now)

        self._later(go(), purpose, about={"call_id": cmd.call_id})

    async def _check_channels(self, asked_at: float) -> None:
        """The engine's `CheckChannels`: where the legs of its unanswered Redirects and Hangups are, and which
        calls an earlier process left (a verdict of an unknown call asks for this look too)."""
        try:
            rows = await self.ami.core_show_channels()
        except AmiError as exc:
            log.warning("CoreShowChannels failed; the calls whose actions went unanswered wait for the next "
                        "look, or for the resync after a reconnect", extra={"error": repr(exc)})
            return
        now = self.clock.now()
        self.execute(self.engine.verify(rows, asked_at, now), now)
        claims = await self._claim_orphans(rows)
        now = self.clock.now()
        self._adopt_orphans(claims, now)

    def _return_lead(self, campaign_id: str, request: DialRequest, why: str, now: float, *, call_id: str = "") -> None:
        """A dial that never reached Asterisk: its lead goes back to the source, no attempt counted."""
        self.leads_returned += 1
        where = {"call_id": call_id, "campaign_id": campaign_id, "lead_id": request.lead_id}
        log.warning("dial not placed; lead given back to the source", extra={**where, "error": why})
        source = self.leads.get(campaign_id)
        if isinstance(source, ReturnSource | PreviewSource):  # due again at once: nothing was wrong with it
            self._later(put_back(source, request, now), "give-back", about=where)
        else:  # it stays taken until the source recovers it itself
            log.error("this lead source cannot take a lead back", extra=where)
        self._calls_changed.set()

    def _later(self, coro: Coroutine[Any, Any, Any], name: str, *, about: Mapping[str, str] | None = None) -> None:
        """Run `coro` in the daemon's task group, guarded (`_guarded`): what it raises is logged with `name`
        and the ids in `about` (call_id, lead_id, campaign_id, agent_id), and the daemon goes on."""
        if self._actions is None:
            coro.close()
            return
        task = self._actions.create_task(self._guarded(coro, name, about or {}), name=name)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        # a task cancelled before its first step never starts `coro`: closed, it is not "never awaited"
        task.add_done_callback(lambda _task: coro.close())

    async def _guarded(self, coro: Coroutine[Any, Any, Any], name: str, about: Mapping[str, str]) -> None:
        """The task group ends every task, the daemon's loops included, when one raises: one lead given back
        while Redis is away, or a lead deleted while in flight, must not stop the calls and lose what is
        queued. Cancellation (the daemon stopping) goes through."""
        try:
            await coro
        except DialerError as exc:
            self.task_failures += 1
            log.error(f"{name} failed: {exc}", extra={**about, "action": name, "error": repr(exc)})
        except Exception:  # a bug in one task: logged with its traceback, the daemon's calls go on
            self.task_crashes += 1
            log.exception(f"{name} crashed", extra={**about, "action": name})

    async def _settle_later(self, timeout_s: float = 10.0) -> None:
        """Shutdown: let the lead results and dispositions already handed to their sources be written
        (the task group would cancel them); those still running after `timeout_s` are recovered by the
        hopper later, as attempts whose result never came."""
        if not self._pending:
            return
        _done, slow = await asyncio.wait(set(self._pending), timeout=timeout_s)
        if slow:
            log.warning(f"shutdown: {len(slow)} lead result(s) not written in {timeout_s:g} s; "
                        "the hopper will recover those leads as lost attempts")

    def _record(self, cmd: WriteCallRecord, now: float) -> None:
        r = cmd.record
        self.store.append_call_record(r)
        if r.outcome == "lost" and self.dialing:  # rare outside an AMI outage (at shutdown: one line for all)
            start = r.originated_at if r.originated_at is not None else r.created_at
            seen = "answered" if r.answered_at is not None else "never answered"
            log.warning(f"call lost: Asterisk never said how it ended (no channel after an AMI outage, or no answer "
                        f"nor failure past its ring timeout); {seen}, given up {r.ended_at - start:.0f} s after the "
                        "originate; recorded lost, the lead is retried as a no-answer",
                        extra={"call_id": r.call_id, "campaign_id": r.campaign_id, "lead_id": r.lead_id})
        m = self.metrics
        m.calls_ended.labels(r.campaign_id, r.outcome).inc()
        if r.answered_at is not None:
            m.calls_answered.labels(r.campaign_id).inc()
        if r.offered_to_agents:  # the abandon rate's denominator; dialer_abandon_ratio, the campaign's own
            m.live_answer(r.campaign_id, abandoned=r.abandoned)
        if r.outcome == "machine":
            m.machines.labels(r.campaign_id).inc()
        if r.connected_at is not None:
            m.connected.labels(r.campaign_id).inc()
        if r.abandoned:
            m.abandoned.labels(r.campaign_id).inc()
        if r.recording or cmd.unrecorded:
            m.recordings.labels(r.campaign_id, "started" if r.recording else "missing").inc()
        if cmd.unrecorded and r.campaign_id not in self._unrecorded_warned:
            self._unrecorded_warned.add(r.campaign_id)  # once per campaign: a dialplan fault misses them all
            log.warning(f"campaign {r.campaign_id} records calls, but Asterisk never reported recording call "
                        f"{r.call_id} (no UserEvent DialerRecording): is app_mixmonitor loaded, and does the "
                        "dialplan's dialer-record match asterisk_conf/extensions.conf? Counted in "
                        "dialer_recordings_total{result=\"missing\"}; this is said once per campaign",
                        extra={"call_id": r.call_id, "campaign_id": r.campaign_id})
        self._later(self.leads[r.campaign_id].record_result(r, cmd.target, now), "record-result",
                    about={"call_id": r.call_id, "campaign_id": r.campaign_id, "lead_id": r.lead_id})
        if r.campaign_id in self._dirty:
            self._dirty[r.campaign_id].set()
        self._calls_changed.set()


async def persistence_checked(store: RedisStore, metrics: Metrics, *, required: bool) -> Persistence:
    """Say whether Redis keeps its data on disk (and set `dialer_state_store_persistent`); raise ConfigError when
    it is not known to and `required` (`[redis] require_persistence`). `dialer.app.run_daemon` asks before it
    connects to Asterisk; a daemon not told asks at its start."""
    got = await store.persistence()
    metrics.store_persistent.set(1 if got.verified else 0 if got.keeps_nothing else -1)
    if got.keeps_nothing:
        log.error("Redis keeps nothing on disk (appendonly no, save \"\"): a Redis restart comes back empty, and "
                  "with it the do-not-call lists, 72-hour abandon locks, callbacks and compliance ledgers. Set "
                  "`appendonly yes` (redis.conf; or CONFIG SET appendonly yes, then CONFIG REWRITE). The daemon "
                  "holds dialing if Redis loses its data while it runs"
                  + ("" if required else "; [redis] require_persistence = true refuses to start on such a Redis"))
    elif got.verified:
        log.log(logging.INFO if got.aof else logging.WARNING, f"Redis persistence: {got.describe()}"
                + ("" if got.aof else "; `appendonly yes` keeps every write"))
    else:
        log.warning(f"Redis persistence: {got.describe()}; make sure the server keeps its data on disk "
                    "(appendonly yes)")
    if required and not got.verified:
        raise ConfigError(f"[redis] require_persistence = true, and Redis does not say it keeps its data on disk "
                          f"({got.describe()}): set `appendonly yes` on the Redis server, or set "
                          "require_persistence = false where the provider persists it in a way CONFIG does not show")
    return got


_LOSS_TODO = ("Before acknowledging: restore Redis from a backup, or import the do-not-call lists and the leads "
              "again (their earlier do-not-call requests no longer apply otherwise), and enable persistence "
              "(appendonly yes); then POST /api/state-store/acknowledge-loss (`dialer store acknowledge-loss`)")


def _loss_words(loss: StoreLoss) -> str:
    found = "no marker" if loss.found == "nothing" else f"marker {loss.found}"
    return f"data epoch {loss.previous} gone, {found} found"
