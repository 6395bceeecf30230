"""The daemon's side of agent-started calls and the desk's hooks (`agents/desk/hooks.py`), as a mixin of
`dialer.daemon.Daemon`, kept apart so that `daemon.py` stays about the TaskGroup and the pacing loop.

    own callbacks       `offer_own_callbacks` (from the pacing loop, every mode): a due callback an agent kept
                        for themselves, as a preview to that agent when READY (a word when they are paused);
                        `own_callbacks` lists them, `move_callback` moves one in time or to another owner
    preview campaigns   `offer_previews` (from the pacing loop): one lead per READY agent, reserved
    a pause or stop     offers nothing: a lead taken meanwhile goes back (`_offer`), and those on screen are
                        withdrawn (`_withdraw_previews`, from `Daemon.set_paused`)
    preview_dial/skip   dial it (agent leg first, after re-checking the whole contact policy) or give it back
    manual_dial         a typed number, after the lead source's contact-policy check, on a lead of its own the
                        source makes and takes for the call (`ManualDialLeads`): its number is marked out while
                        the call is up, and its result is kept as any dial's (a callback, a follow-up...)
    the daemon's stop   its leads on preview screens are withdrawn too (`Daemon._shutdown_when`), and Dial and
                        manual dials are refused (`_refuse_while_stopping`), as while Redis's data is lost
    blind_transfer      Redirect of the customer leg to another agent's or the supervisor's phone
    request_dnc         the desk's DNC button: the person on the global do-not-call lists at once
    _opt_out            the same for a key-press opt-out after a recorded message (UserEvent DialerOptOut), and
    _dnc_disposition    for a disposition with dnc=1: both retried while Redis is away, until written
    _subscriber_dnc     then, for a subscriber of the operator's, every number the subscriber has (their leads' in
                        any campaign, the subscriber base's, from the indexes by account), in a task of its own,
                        retried while Redis is away, its failure an ERROR that says how to apply it by hand

Each method changes the engine through its pure calls (`Engine.dial_preview`, `transfer`...) and carries
out the commands it returns with `Daemon.execute`, like every other input.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Coroutine, Mapping
from typing import TYPE_CHECKING, Any

from agents.commands import PreviewDial, PreviewSkip, RecentCommands
from agents.dispositions import DispositionRejected, callback_time
from agents.screenpop import ScreenPopRenderer
from agents.state import AgentState
from dialer.ami import actions
from dialer.ami import events as ev
from dialer.engine import callback_holds
from dialer.engine.commands import AutoDialPreview, Command, DispositionMade, OriginateAgentFirst, RecordOptOut
from dialer.engine.core import DialRequest, Engine
from dialer.errors import CallbackNotMovable, DialerError, IllegalTransition, PolicyViolation
from dialer.hopper.store import LeadStore
from dialer.leadsource import (
    LeadSource,
    ManualDialLeads,
    ManualDialPolicy,
    OwnCallbackSource,
    PreviewPolicy,
    PreviewSource,
    PreviewTakeSource,
    ReturnSource,
    put_back,
)
from dialer.store import until_stored

if TYPE_CHECKING:
    from dialer.agentfeed import AgentFeed
    from dialer.clock import Clock
    from dialer.config import DialerSettings
    from dialer.daemon import AmiPort
    from dialer.metrics import Metrics
    from dialer.store import RedisStore

__all__ = ["AgentCalls"]

log = logging.getLogger("dialer.daemon")


class AgentCalls:
    """Mixin of `Daemon`: agent-started calls, blind transfer and DNC requests (see the module docstring)."""

    if TYPE_CHECKING:
        settings: DialerSettings
        clock: Clock
        engine: Engine
        ami: AmiPort
        store: RedisStore
        feed: AgentFeed
        metrics: Metrics
        leads: dict[str, LeadSource]
        dialing: bool
        store_retry_s: float
        store_max_retry_s: float
        _recent_commands: RecentCommands
        _actions: asyncio.TaskGroup | None

        def execute(self, cmds: list[Command], now: float) -> None: ...

        def _later(self, coro: Coroutine[Any, Any, Any], name: str, *,
                   about: Mapping[str, str] | None = None) -> None: ...

        def _agent_changed(self, agent_id: str) -> None: ...

        def _offer_held(self, campaign_id: str) -> str: ...

        def _agent_dial_held(self) -> str: ...

        def _return_lead(self, campaign_id: str, request: DialRequest, why: str, now: float, *,
                         call_id: str = "") -> None: ...

    # campaign -> (when its agents' own callbacks were last looked for, the ready agents then)
    _own_callbacks_looked: dict[str, tuple[float, frozenset[str]]]
    _callbacks_reminded_at: dict[str, float]
    _callbacks_reminded: dict[str, set[str]]

    def _drop_preview(self, agent_id: str, now: float) -> None:
        """A previewing agent who pauses or logs out gives the lead on screen back to the hopper first."""
        held = self.engine.previews.get(agent_id)
        if held is None:
            return
        request, cmds = self.engine.skip_preview(agent_id, held[1].lead_id, now)
        self.execute(cmds, now)
        source = self.leads.get(held[0])
        if isinstance(source, ReturnSource | PreviewSource):  # not the lead's fault: due again at once
            self._later(put_back(source, request, now), "preview-give-back",
                        about={"agent_id": agent_id, "campaign_id": held[0], "lead_id": request.lead_id})

    def _withdraw_previews(self, campaign_id: str, why: str) -> None:
        """The campaign may not dial now (paused or stopped): each lead on its agents' preview screens, their own
        callbacks included, goes back to its source undialed (no attempt counted), and the agent is READY
        again, told why (`preview_withdrawn`: `campaign_id`, `lead_id`, `reason`). Not dialed yet, a preview
        is a dial to come: neither Dial nor `preview_auto_dial_s` finds it any more."""
        now = self.clock.now()
        for agent_id, (cid, request) in list(self.engine.previews.items()):
            if cid != campaign_id:
                continue
            self._drop_preview(agent_id, now)
            log.info("preview withdrawn; lead given back to the source",
                     extra={"agent_id": agent_id, "campaign_id": cid, "lead_id": request.lead_id, "error": why})
            self.feed.publish(agent_id, "preview_withdrawn", {"campaign_id": cid, "lead_id": request.lead_id,
                                                              "reason": why})
            self._agent_changed(agent_id)

    def _refuse_while_stopping(self, agent_id: str, what: str) -> None:
        """The daemon is stopping (`Daemon._shutdown_when`), or holds every dial because Redis lost its data
        (`Daemon._agent_dial_held`: the contact-policy check would read emptied do-not-call lists): no new dials,
        the agent's own included (the desk answers 409). The stop and the hold withdrew the leads on preview
        screens already."""
        if not self.dialing:
            raise IllegalTransition("agent", agent_id, "the daemon is stopping (no new dials)", what)
        held = self._agent_dial_held()
        if held:
            raise IllegalTransition("agent", agent_id, held, what)

    def _campaign_of(self, agent_id: str) -> str:
        agent = self.engine.roster.get(agent_id)
        if agent is None or agent.campaign_id is None or agent.state is AgentState.LOGGED_OUT:
            raise IllegalTransition("agent", agent_id, "logged_out", "dial (log in first)")
        return agent.campaign_id

    async def preview_dial(self, agent_id: str, lead_id: str, number_index: int) -> str:
        """Dial the lead on the agent's screen (agent leg first). The lead is checked against the whole contact
        policy again first (the source's `recheck`: suppressions, caps, the abandon lock...; then DNC and
        hours on its number); a refused lead goes back to its source with the reason and the agent is
        READY for the next one. Raises IllegalTransition or PolicyViolation, dialing nothing."""
        campaign_id = self._campaign_of(agent_id)
        self._refuse_while_stopping(agent_id, f"dial lead {lead_id}")  # before a re-check on what may be gone
        held = self.engine.previews.get(agent_id)
        source = self.leads.get(campaign_id)
        if held is not None and held[1].lead_id == lead_id and isinstance(source, PreviewPolicy):
            try:  # suppressions, caps, the abandon lock... may have changed while the agent read the lead
                await source.recheck(held[1], self.clock.now())
            except PolicyViolation as exc:
                self._refuse_preview(agent_id, campaign_id, lead_id, str(exc))
                raise
        if held is not None and held[1].lead_id == lead_id and isinstance(source, ManualDialPolicy):
            try:
                await source.check_number(held[1].number, self.clock.now(), own=held[1])
            except PolicyViolation:  # e.g. a DNC request arrived while the agent read the lead
                await self.preview_skip(agent_id, lead_id, "policy")
                raise
        self._refuse_while_stopping(agent_id, f"dial lead {lead_id}")  # it may have begun during the re-check
        now = self.clock.now()
        call_id, cmds = self.engine.dial_preview(agent_id, lead_id, number_index, now)
        self.execute(cmds, now)
        self._agent_changed(agent_id)
        return call_id

    async def _preview_command(self, cmd: PreviewDial | PreviewSkip, command_id: str | None = None) -> None:
        """A preview dial or skip sent over MQTT (the desk has routes of its own): applied as the desk's,
        and a refusal goes back to the agent as an `error` event, as for any command. A refused command's
        id is forgotten, as for the others (`Daemon.agent_command`): the agent's client may send it again
        once it has fixed what was refused, and that must not be dropped as a repeat."""
        try:
            if isinstance(cmd, PreviewDial):
                await self.preview_dial(cmd.agent_id, cmd.lead_id, cmd.number_index)
            else:
                await self.preview_skip(cmd.agent_id, cmd.lead_id, cmd.reason)
        except DialerError as exc:
            self._recent_commands.forget(cmd.agent_id, command_id)
            self.feed.publish(cmd.agent_id, "error", {"error": str(exc)})

    async def _auto_dial(self, cmd: AutoDialPreview) -> None:
        """The campaign's `preview_auto_dial_s` ran out with the lead still on screen: dial it as a press of
        Dial does (the policy re-check included). An agent who moved meanwhile keeps what they chose."""
        try:
            await self.preview_dial(cmd.agent_id, cmd.lead_id, cmd.number_index)
        except IllegalTransition:
            pass  # dialed, skipped, paused or logged out in the same instant
        except PolicyViolation as exc:  # released with the reason; the agent is ready for the next one
            log.info("previewed lead not auto-dialed: the contact policy refuses it now",
                     extra={"agent_id": cmd.agent_id, "lead_id": cmd.lead_id, "error": str(exc)})
        except DialerError as exc:
            log.warning("previewed lead not auto-dialed", extra={"agent_id": cmd.agent_id, "lead_id": cmd.lead_id,
                                                                 "error": repr(exc)})

    def _refuse_preview(self, agent_id: str, campaign_id: str, lead_id: str, why: str) -> None:
        """The contact policy refused the previewed lead at dial time (its source released it already):
        the agent is READY again for the next lead, and the refusal is journaled like a skip."""
        held = self.engine.previews.get(agent_id)
        if held is None or held[1].lead_id != lead_id:
            return  # the agent paused or logged out meanwhile: that gave the lead up already
        now = self.clock.now()
        _request, cmds = self.engine.skip_preview(agent_id, lead_id, now)
        self.execute(cmds, now)
        self.store.append_preview_skip({"agent_id": agent_id, "campaign": campaign_id, "lead_id": lead_id,
                                        "reason": f"policy: {why}"[:500], "at": str(now)})
        self._agent_changed(agent_id)

    async def preview_skip(self, agent_id: str, lead_id: str, reason: str) -> None:
        """Give the previewed lead back to the hopper unused; the agent is offered the next one."""
        campaign_id = self._campaign_of(agent_id)
        now = self.clock.now()
        request, cmds = self.engine.skip_preview(agent_id, lead_id, now)
        self.execute(cmds, now)
        self.store.append_preview_skip({"agent_id": agent_id, "campaign": campaign_id, "lead_id": lead_id,
                                        "reason": reason, "at": str(now)})
        source = self.leads.get(campaign_id)
        if isinstance(source, PreviewSource):
            await source.give_back(request, now)
        self._agent_changed(agent_id)

    async def manual_dial(self, agent_id: str, number: str) -> str:
        """Call an E.164 number for a ready or paused agent, once the campaign's contact policy (DNC,
        calling hours in the callee's local time) allows it. A source that makes a lead of its own for each
        manual dial (`ManualDialLeads`: the hopper) makes it now and takes it for the call, which marks the
        number out while the call is up; the call's result is written on it as any dial's (a callback, a
        follow-up, the contact rules). A dial refused after that drops the lead. Raises PolicyViolation or
        IllegalTransition."""
        campaign_id = self._campaign_of(agent_id)
        source = self.leads.get(campaign_id)
        if not isinstance(source, ManualDialPolicy):
            raise PolicyViolation(f"campaign {campaign_id} has no contact policy to check typed numbers against; "
                                  "manual dialing is refused there")
        self._refuse_while_stopping(agent_id, "dial a number")
        await source.check_number(number, self.clock.now())
        lead: DialRequest | None = None
        if isinstance(source, ManualDialLeads):
            lead = await source.take_manual(number, agent_id, self.clock.now())
        try:
            self._refuse_while_stopping(agent_id, "dial a number")  # it may have begun during the check
            now = self.clock.now()
            call_id, cmds = self.engine.dial_manual(agent_id, number, now, lead=lead)
        except DialerError:
            if lead is not None and isinstance(source, ManualDialLeads):
                await source.drop_manual(lead)
            raise
        self.execute(cmds, now)
        self._agent_changed(agent_id)
        return call_id

    def blind_transfer(self, agent_id: str, call_id: str, target: str) -> None:
        """Move the customer of `call_id` to another agent (who must be ready) or to the supervisor."""
        now = self.clock.now()
        cmds = self.engine.transfer(agent_id, call_id, target, now,
                                    supervisor_extension=self.settings.supervisor_extension,
                                    ring_timeout_s=self.settings.transfer_ring_timeout_s)
        self.execute(cmds, now)
        self._agent_changed(agent_id)
        self._agent_changed(target)

    async def request_dnc(self, call_id: str, agent_id: str, notes: str) -> None:
        """A do-not-call request from the customer of `call_id`: final for the person across all campaigns
        (their number and, when the lead names one, the subscriber), written at once to the lists every
        hopper checks before each dial, and journaled in `<prefix>:dnc_requests`. Raises StateStoreError."""
        call = self.engine.calls.get(call_id)
        if call is None:
            raise IllegalTransition("call", call_id, "unknown", "record a do-not-call request")
        await self._record_dnc(call.call_id, call.lead_id, call.campaign_id, call.number, call.fields,
                               source="agent-desk", agent_id=agent_id, notes=notes)

    async def _record_dnc(self, call_id: str, lead_id: str, campaign_id: str, number: str | None,
                          fields: Mapping[str, str], *, source: str, agent_id: str = "", notes: str = "") -> bool:
        """Put the person of a call on the do-not-call lists and journal it; False when nobody can be named.

        The person is the lead's (`subscriber:<id>` for an own subscriber, else its first number), read
        from the lead store: a call's fields do not carry the subscriber, and a request is the person's,
        so every number of the lead goes on the list with the one dialed. A call without a stored lead
        (a manual dial in a campaign whose leads are not in the hopper) names its number alone. For a
        subscriber, every other number they have (their leads' in other campaigns, the subscriber base's)
        follows in a task of its own (`_subscriber_dnc`): the first request after an upgrade walks the
        keyspace once to index them, seconds per million leads."""
        leads = LeadStore.of(self.store, timeout_s=3.0)
        lead = await leads.get_lead(campaign_id, lead_id) if campaign_id and lead_id else None
        found = [n.e164 for n in lead.numbers] if lead is not None else []
        numbers = list(dict.fromkeys([number, *found] if number else found))
        if not numbers:
            return False
        if lead is not None:
            person = lead.person
        else:
            subscriber = fields.get("subscriber_id", "")
            person = f"subscriber:{subscriber}" if subscriber else f"number:{numbers[0]}"
        await leads.dnc_request(person, numbers)  # with the persons its numbers name (leads without the account)
        entry = {"call_id": call_id, "lead_id": lead_id, "campaign_id": campaign_id,
                 "number": numbers[0], "numbers": ",".join(numbers), "person": person, "agent_id": agent_id,
                 "at": f"{self.clock.now():.3f}", "source": source, "notes": notes[:500]}
        await self.store.journal_dnc_request(call_id, entry, timeout_s=3.0)
        subscriber = person.removeprefix("subscriber:") if person.startswith("subscriber:") else ""
        if subscriber:
            walk = self._subscriber_dnc(call_id, subscriber, numbers)
            if self._actions is None:  # not running (a tool, a test): done here, the caller waits
                await walk
            else:
                self._later(walk, "subscriber-dnc", about={"call_id": call_id, "lead_id": lead_id,
                                                           "campaign_id": campaign_id})
        return True

    async def _subscriber_dnc(self, call_id: str, subscriber_id: str, numbers: list[str]) -> None:
        """A subscriber's do-not-call request reaches every number the subscriber has, as the supervisors'
        `POST /api/dnc` with `subscriber_id` does (`dialer.hopper.subscriber_dnc`): the numbers of their leads in
        any campaign and those the subscriber base lists for the account go on the global list, each marked as
        a person, and their leads not in flight are finished. Retried while Redis is away (each write is safe
        to repeat); a failure, or a stop before it is done, is an ERROR that says how to finish it by hand."""
        where = {"call_id": call_id}
        what = f"do-not-call request of subscriber {subscriber_id} (call {call_id}) on every number they have"
        try:
            done = await until_stored(
                what, lambda: LeadStore.of(self.store).subscriber_dnc(subscriber_id, numbers),
                retry_s=self.store_retry_s, max_retry_s=self.store_max_retry_s, extra=where, logger=log)
        except asyncio.CancelledError:
            log.error(f"{what} not finished: the dialer stopped first; the numbers of the call's lead are on the "
                      f"list, the subscriber's others may not be: repeat it (POST /api/dnc with subscriber_id "
                      f"{subscriber_id})", extra=where)
            raise
        except DialerError as exc:
            log.error(f"{what} failed: {exc}; the numbers of the call's lead are on the list, the subscriber's "
                      f"others may not be: repeat it (POST /api/dnc with subscriber_id {subscriber_id})",
                      extra={**where, "error": repr(exc)})
            return
        log.info(f"{what}: {len(done.numbers)} number(s) on the do-not-call list, {len(done.finished)} lead(s) "
                 f"finished, {len(done.in_flight)} in flight finished at their next check", extra=where)

    async def _record_dnc_until_stored(self, call_id: str, lead_id: str, campaign_id: str, number: str | None,
                                       fields: Mapping[str, str], *, source: str, agent_id: str = "",
                                       notes: str = "") -> bool:
        """`_record_dnc`, tried again while Redis is away (`until_stored`): a do-not-call request is final by
        law, and nobody would make it again (the person said it once; the disposition is saved). Writing it
        twice changes nothing but a second journal line. Other errors raise; a daemon stopping meanwhile
        says which request it leaves unwritten."""
        where = {"call_id": call_id, "lead_id": lead_id, "campaign_id": campaign_id}
        try:
            return await until_stored(
                f"do-not-call request of call {call_id}",
                lambda: self._record_dnc(call_id, lead_id, campaign_id, number, fields, source=source,
                                         agent_id=agent_id, notes=notes),
                retry_s=self.store_retry_s, max_retry_s=self.store_max_retry_s, extra=where, logger=log)
        except asyncio.CancelledError:
            log.error(f"do-not-call request of call {call_id} (lead {lead_id or '?'} of campaign {campaign_id or '?'}) "
                      "not applied: the dialer stopped while Redis was away; add the person to the do-not-call "
                      "list by hand (dialer dnc add)", extra=where)
            raise

    async def _opt_out(self, cmd: RecordOptOut) -> None:
        """The person pressed the opt-out key after a recorded message (`UserEvent: DialerOptOut`): the
        same do-not-call request as an agent's, journaled with source `key-press`. When the engine no
        longer knows the call (the daemon restarted since), its lead still names the person."""
        try:
            done = await self._record_dnc_until_stored(cmd.call_id, cmd.lead_id, cmd.campaign_id, cmd.number,
                                                       dict(cmd.fields or {}), source="key-press")
        except DialerError as exc:
            log.error(f"opt-out of call {cmd.call_id} not applied to the do-not-call lists: {exc}; add the person "
                      "by hand (dialer dnc add)", extra={"call_id": cmd.call_id, "error": repr(exc)})
            return
        if not done:
            log.error(f"opt-out of call {cmd.call_id} (lead {cmd.lead_id or '?'} of campaign {cmd.campaign_id or '?'}) "
                      "not applied: neither the call nor the lead is known; add the person to the do-not-call list "
                      "by hand (dialer dnc add)", extra={"call_id": cmd.call_id})

    async def offer_own_callbacks(self, campaign_id: str) -> None:
        """Each READY agent of the campaign with a due callback they kept for themselves ("me") gets it as a
        preview, whatever the campaign's mode: they dial it (agent leg first) or skip it. The pacer then
        counts them busy. One the pacer has dials ringing for waits, out of its count, until those resolve
        (`dialer.engine.callback_holds`). The lead source hands such callbacks to any agent only once they
        are the campaign's `personal_callback_wait_s` late."""
        source = self.leads[campaign_id]
        if not isinstance(source, OwnCallbackSource):
            return
        await self._remind_due_callbacks(campaign_id, source)
        now = self.clock.now()
        ready = frozenset(a.agent_id for a in self.engine.roster.ready_of(campaign_id))
        # the pacer counts an agent READY only once looked at here (one READY during the awaits below is not)
        self.engine.callbacks_looked_at[campaign_id] = now
        if not ready:
            return
        # one look a (virtual) second, and at once for an agent who just became ready: a decision can come
        # every quarter second, and most find nothing due
        last_at, last_ready = self._own_callbacks_looked.get(campaign_id, (-math.inf, frozenset()))
        if now - last_at < 1.0 and ready <= last_ready:
            return
        self._own_callbacks_looked[campaign_id] = (now, ready)
        # Taking an agent the pacer counted READY while dials launched on their account still ring would
        # leave those dials an agent short: such an agent is held for their callback (out of the pacer's
        # count) until those dials resolve, and offered it then (`dialer.engine.callback_holds`).
        callback_holds.prune(self.engine)
        safe = callback_holds.safe_to_offer(self.engine, campaign_id, ready, now)
        unsure = sorted(a for a in ready - safe if a not in self.engine.callback_holds)
        if unsure:
            due = await source.due_own_callbacks(unsure, now)
            for agent_id in unsure:
                if due.get(agent_id):
                    callback_holds.hold(self.engine, agent_id, now)
        if not safe or self._offer_held(campaign_id):  # paused or stopped during the awaits: nothing is taken
            return
        got = await source.take_own_callbacks(safe, now)
        for agent_id in safe:
            callback_holds.release(self.engine, agent_id)
        for agent_id, request in sorted(got.items()):
            await self._offer(campaign_id, source, agent_id, request)  # given back, it waits for them

    async def _remind_due_callbacks(self, campaign_id: str, source: OwnCallbackSource) -> None:
        """Tell a paused agent that callbacks they kept for themselves are due: those come to them only once
        they are READY (an agent on a call gets them as soon as they are ready again, and needs no word).
        Looked at once a (virtual) minute per campaign; each callback is told once (`callbacks_due` on the
        agent's feed: `count`, `lead_ids`, earliest first)."""
        now = self.clock.now()
        if now - self._callbacks_reminded_at.get(campaign_id, -math.inf) < 60.0:
            return
        self._callbacks_reminded_at[campaign_id] = now
        away = [a.agent_id for a in self.engine.roster.of_campaign(campaign_id) if a.state is AgentState.PAUSED]
        if not away:
            return
        due = await source.due_own_callbacks(away, now)
        for agent_id in away:
            lids = due.get(agent_id, [])
            told = self._callbacks_reminded.setdefault(agent_id, set())
            if any(lid not in told for lid in lids):
                self.feed.publish(agent_id, "callbacks_due", {"campaign_id": campaign_id, "count": len(lids),
                                                              "lead_ids": lids})
            told.intersection_update(lids)  # one taken, moved or done: told again if it is ever due again
            told.update(lids)

    async def own_callbacks(self, agent_id: str, campaign_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """The desk's callback list (`agents.desk.hooks.CallbackList`) and the supervisors': what the
        campaign's lead source keeps for the agent, earliest first (none when it keeps no callbacks for
        agents)."""
        source = self.leads.get(campaign_id)
        if not isinstance(source, OwnCallbackSource):
            return []
        return await source.own_callbacks(agent_id, limit)

    async def scheduled_callbacks(self, campaign_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """The supervisors' view of a campaign's scheduled callbacks, anyone's and agents' own (`kept_for`),
        earliest first (none when its lead source keeps no callbacks)."""
        source = self.leads.get(campaign_id)
        if not isinstance(source, OwnCallbackSource):
            return []
        return await source.scheduled_callbacks(limit)

    async def move_callback(self, campaign_id: str, lead_id: str, at: str | None, keep_for: str | None, *,
                            agent_id: str | None = None) -> dict[str, Any]:
        """Move one scheduled callback of the campaign: to `at` (ISO-8601 with an offset, or epoch seconds,
        checked as a disposition's callback time is, calling hours included; None: its time stays) and kept
        for `keep_for` (None: any agent). `agent_id` is the agent asking (the desk's "My callbacks"): only
        their own moves. A supervisor asks with None. Raises DispositionRejected for a bad time,
        CallbackNotMovable otherwise."""
        source = self.leads.get(campaign_id)
        if not isinstance(source, OwnCallbackSource):
            raise CallbackNotMovable(f"campaign {campaign_id}'s leads do not come from the Redis hopper, which is "
                                     "what keeps callbacks: it has none to move", why="unsupported")
        now = self.clock.now()
        when = None
        if at is not None:
            ds = self.engine.dispositions_for(campaign_id)
            when = ds.callback_time(at, now, "at") if ds is not None else callback_time(at, now, field="at")
        try:
            moved = await source.move_callback(lead_id, when, keep_for, kept_for=agent_id, now=now)
        except PolicyViolation as exc:  # outside the person's calling hours: a bad time, as on the desk's form
            raise DispositionRejected("at", str(exc)) from None
        if moved == "not_yours":
            raise CallbackNotMovable(f"lead {lead_id} has no callback kept for {agent_id} in {campaign_id}",
                                     why="not_yours")
        if moved == "not_scheduled":
            raise CallbackNotMovable(f"lead {lead_id} has no scheduled callback in {campaign_id} now: it is being "
                                     "dialed or on a preview screen, or it was done; reload the list",
                                     why="not_scheduled")
        log.info("callback of lead %s in %s moved%s, kept for %s (asked by %s)", lead_id, campaign_id,
                 "" if when is None else f" to {when:.0f}", keep_for or "anyone", agent_id or "a supervisor")
        if keep_for is not None:  # the owner may be ready now: look again at the next decision
            self._own_callbacks_looked.pop(campaign_id, None)
        return {"lead_id": lead_id, "at": when, "kept_for": keep_for}

    async def offer_previews(self, campaign_id: str) -> None:
        """Preview mode: each READY agent of the campaign gets one lead, reserved until dialed or skipped
        (the pacing loop of a preview campaign does this whenever an agent frees up)."""
        source = self.leads[campaign_id]
        for agent in [a for a in self.engine.roster.of_campaign(campaign_id) if a.state is AgentState.READY]:
            if self._offer_held(campaign_id):  # paused or stopped during an earlier take: no more
                return
            now = self.clock.now()
            requests = await (source.take_previews(1, now) if isinstance(source, PreviewTakeSource)
                              else source.take(1, now))
            if not requests:
                return
            await self._offer(campaign_id, source, agent.agent_id, requests[0])

    async def _offer(self, campaign_id: str, source: LeadSource, agent_id: str, request: DialRequest) -> None:
        """Put `request` on the agent's preview screen; an agent who moved during the take gives it back, and so
        does a campaign paused or stopped meanwhile (or a daemon stopping, or AMI lost): undialed, no attempt
        counted, as `Daemon._pace_once` gives back its leads."""
        now = self.clock.now()
        held = self._offer_held(campaign_id)
        if held:
            self._return_lead(campaign_id, request, held, now)
            return
        try:
            cmds = self.engine.offer_preview(agent_id, request, now)
        except IllegalTransition:  # the agent moved meanwhile: the lead is due again at once for another
            await put_back(source, request, now)
            return
        self.execute(cmds, now)
        self.feed.publish(agent_id, "preview", self._preview_payload(campaign_id, request, agent_id, now))
        self._agent_changed(agent_id)

    def _preview_payload(self, campaign_id: str, r: DialRequest, agent_id: str, now: float) -> dict[str, Any]:
        renderer = self.engine.screenpop
        if isinstance(renderer, ScreenPopRenderer):
            payload = renderer.preview(campaign_id, r.lead_id, r.number, r.fields, agent_id=agent_id, now=now,
                                       attempt=r.attempt)
        else:
            payload = {"campaign_id": campaign_id, "lead_id": r.lead_id, "number": r.number, "attempt": r.attempt,
                       "lead": dict(r.fields)}
        payload["number_index"] = r.number_index
        auto = self.engine.preview_deadlines.get(agent_id)
        if auto is not None:  # the desk counts down to it
            payload["auto_dial_at"] = auto
        if r.callback_at is not None:  # a scheduled callback: when for, and whether this agent kept it
            payload["callback"] = {"at": r.callback_at, "mine": r.callback_agent == agent_id}
        return payload

    async def _dnc_disposition(self, cmd: DispositionMade) -> None:
        """A disposition with dnc=1: `request_dnc`'s request, retried while Redis is away. The call is read
        once, now: the engine forgets ended calls while Redis may stay away. A late disposition (`cmd.late`,
        what the engine kept of its call) names the person without the call: the daemon may have forgotten the
        call meanwhile, or restarted since, as `_opt_out` does with its lead."""
        call = self.engine.calls.get(cmd.call_id)
        late = cmd.late
        number: str | None
        if call is not None:
            lead_id, campaign_id, number, fields = call.lead_id, call.campaign_id, call.number, dict(call.fields)
        elif late is not None and late.call_id == cmd.call_id:
            lead_id, campaign_id, number, fields = late.lead_id, late.campaign_id, late.number, late.dnc_fields()
        else:
            log.error("DNC disposition not applied to the lists: the call is no longer known; add the person to the "
                      "do-not-call list by hand (dialer dnc add)", extra={"call_id": cmd.call_id})
            return
        try:
            done = await self._record_dnc_until_stored(cmd.call_id, lead_id, campaign_id, number, fields,
                                                       source="agent-desk", agent_id=cmd.agent_id,
                                                       notes="dnc disposition")
        except DialerError as exc:
            log.error("DNC disposition not applied to the lists", extra={"call_id": cmd.call_id, "error": repr(exc)})
            return
        if not done:
            log.error(f"DNC disposition of call {cmd.call_id} (lead {lead_id or '?'} of campaign {campaign_id or '?'}) "
                      "not applied: neither its number nor its lead is known; add the person to the do-not-call "
                      "list by hand (dialer dnc add)", extra={"call_id": cmd.call_id})

    def _originate_agent_first(self, cmd: OriginateAgentFirst) -> None:
        try:
            action = actions.originate_agent_first(
                call_id=cmd.call_id,
                number=cmd.number,
                extension=cmd.extension,
                campaign=cmd.campaign_id,
                lead_id=cmd.lead_id,
                # a backstop, as an Originate's Timeout: Dial() counts it from the channel request, and the engine
                # hangs the customer leg up once it has rung the ring timeout since its first ring
                ring_s=max(15, round(cmd.ring_timeout_s)) + math.ceil(self.settings.ami.setup_allowance_s),
                caller_id_name=cmd.caller_id_name,
                caller_id_number=cmd.caller_id_number,
                record=cmd.record,
            )
            self.ami.submit_originate(action)
        except DialerError as exc:
            log.error("agent-first originate not sent", extra={"call_id": cmd.call_id, "error": repr(exc)})
            now = self.clock.now()
            failed = ev.OriginateFailed(call_id=cmd.call_id, error=str(exc), sent=False)
            self.execute(self.engine.on_ami(failed, now), now)
            return
        self.metrics.calls_placed.labels(cmd.campaign_id).inc()
