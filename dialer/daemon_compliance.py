"""The daemon's side of the compliance ledger and the AMD audit, as a mixin of `dialer.daemon.Daemon`.

    _restore_ledger   at start-up (and for a campaign added at run time): read the ledger's history back
                      from Redis behind every queued write, merge it, release the hold on the budget
    _restored_audit   the AMD audit sample read back with it
    _audited          an agent disposed an AMD audit call: count it durably, re-derive the share
    _note_verdict     count the campaign's AMD verdicts while it audits (the estimate's M and L)
    _export_audit     the audit's Prometheus gauges
    reset_amd_audit   a supervisor starts a new audit sample after tuning AMD
    _claim_orphans    calls an earlier process left in Asterisk (a person parked after AMD, waiting for
    _adopt_orphans    nobody): whose campaign and lead they are (AMI Getvar, the lead source's take), then
                      taken over by the engine (`dialer.engine.orphans`): the information message, the abandon
                      counted in that campaign's ledger, the 72-hour lock with the lead's result

Kept apart so that `daemon.py` stays about the TaskGroup and the pacing loop; the pure parts live in
`pacing.ledger`, `dialer.amd_audit` and `dialer.engine.orphans`, the Redis side in `dialer.ledger_store`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dialer.amd_audit import AmdAudit, is_person
from dialer.ami import actions
from dialer.ami import events as ev
from dialer.ami.client import AmiResponse
from dialer.engine.commands import Command, DispositionMade, RecordLedger
from dialer.engine.core import DialRequest
from dialer.engine.orphans import Orphan
from dialer.errors import AmiError, DialerError
from dialer.hopper import DialTarget
from dialer.leadsource import LeadAdminSource, LeadSource
from dialer.ledger_store import parse_ledger
from pacing.ledger import LedgerEntryKind

if TYPE_CHECKING:
    from dialer.clock import Clock
    from dialer.config import DialerSettings
    from dialer.daemon import AmiPort
    from dialer.engine.core import Engine
    from dialer.ledger_store import LedgerStore
    from dialer.metrics import Metrics
    from pacing import PacingKnobs

ORPHAN_READ_S = 3.0  # real seconds to read what an earlier process's call is (its variables, its lead's take)
AGENTS_RESTORED_WAIT_S = 5.0  # real seconds to wait for the agents' read-back before taking over calls with agents


@dataclass(frozen=True, slots=True)
class OrphanClaim:
    """An earlier process's call, and what it is: its campaign (one of ours) and its lead's take."""

    orphan: Orphan
    campaign_id: str
    request: DialRequest

__all__ = ["Compliance"]

log = logging.getLogger("dialer.daemon")


class Compliance:
    """Mixin of `Daemon`: the ledger's read-back and the AMD audit's counts (see the module docstring)."""

    if TYPE_CHECKING:
        clock: Clock
        engine: Engine
        metrics: Metrics
        ledgers: LedgerStore
        audits: dict[str, AmdAudit]
        ledger_ready: dict[str, asyncio.Event]
        _dirty: dict[str, asyncio.Event]
        ledger_warn_after_s: float
        ledger_retry_s: float
        settings: DialerSettings
        ami: AmiPort
        leads: dict[str, LeadSource]
        agents_restored: asyncio.Event

        def set_knobs(self, campaign_id: str, knobs: PacingKnobs) -> None: ...

        def execute(self, cmds: list[Command], now: float) -> None: ...

    async def _restore_ledger(self, campaign_id: str) -> None:
        """Read the campaign's ledger history back from Redis and release the hold on its budget.

        The read waits behind every ledger write already queued, and the ledger keeps what it counted
        after that moment on top of the history: nothing is lost or counted twice. Until it succeeds the
        ledger stays held (predictive dials progressively, and every decision says so).
        """
        ledger = self.engine.campaigns[campaign_id].pacer.ledger
        while True:
            now = self.clock.now()
            already = ledger.export(now)
            self.audits[campaign_id].mark_read()
            pending = self.ledgers.read(campaign_id, now)
            done, _ = await asyncio.wait({pending}, timeout=self.ledger_warn_after_s)
            if not done:
                log.warning("cannot read the compliance ledger from Redis yet; predictive pacing stays progressive "
                            "until it can: check Redis", extra={"campaign_id": campaign_id})
            hours, us, audit = await pending
            try:
                stored = parse_ledger(campaign_id, hours, us, audit, now)
            except ValueError as exc:
                log.error("compliance ledger unreadable; predictive pacing stays progressive",
                          extra={"campaign_id": campaign_id, "error": str(exc)})
                await asyncio.sleep(self.ledger_retry_s)
                continue
            ledger.restore(stored.ledger, now=self.clock.now(), already_counted=already)
            ledger.release()
            self._restored_audit(campaign_id, stored.audit_machines, stored.audit_persons,
                                 verdict_machines=stored.verdict_machines, verdict_humans=stored.verdict_humans)
            st = ledger.status(self.clock.now())
            log.info(f"compliance ledger restored: {st.jurisdiction.value} window rate {st.rate:.2%} "
                     f"({st.abandons:.0f} abandons, {st.lives:.0f} live answers), budget {st.budget:.1f}",
                     extra={"campaign_id": campaign_id})
            self.ledger_ready[campaign_id].set()
            self._dirty[campaign_id].set()
            return

    def _restored_audit(self, campaign_id: str, machines: int, persons: int, *, verdict_machines: int = 0,
                        verdict_humans: int = 0) -> None:
        """The AMD audit sample read back with the ledger (see `dialer.amd_audit`): count on from it."""
        audit = self.audits[campaign_id]
        audit.restore(machines, persons, verdict_machines, verdict_humans)
        if audit.audited:
            log.info(f"AMD audit restored: {audit.persons} persons in {audit.audited} audits",
                     extra={"campaign_id": campaign_id})
        self.set_knobs(campaign_id, self.engine.campaigns[campaign_id].pacer.knobs)

    def _audited(self, cmd: DispositionMade) -> None:
        """An agent disposed an AMD audit call: count it, durably, and re-derive the false-positive share."""
        audit = self.audits.get(cmd.campaign_id)
        if audit is None:
            return
        person = is_person(cmd.code, self.engine.dispositions_for(cmd.campaign_id))
        audit.record(person)
        self.ledgers.record_audit(cmd.campaign_id, person)
        log.info(f"AMD audit: {'a person' if person else 'a machine'} ({cmd.code}); "
                 f"{audit.persons} persons in {audit.audited} audits",
                 extra={"campaign_id": cmd.campaign_id, "call_id": cmd.call_id})
        self.set_knobs(cmd.campaign_id, self.engine.campaigns[cmd.campaign_id].pacer.knobs)

    def _note_verdict(self, cmd: RecordLedger) -> None:
        """Count the campaign's AMD verdicts (machine, or live answer let through) while it audits them."""
        kind = cmd.entry.kind
        if kind is not LedgerEntryKind.AMD and kind is not LedgerEntryKind.SCREENED:
            return
        audit = self.audits.get(cmd.campaign_id)
        camp = self.engine.campaigns.get(cmd.campaign_id)
        if audit is None or camp is None or camp.amd_audit_share <= 0.0:
            return
        audit.note_verdict(machine=kind is LedgerEntryKind.AMD)
        self.ledgers.record_verdict(cmd.campaign_id, machine=kind is LedgerEntryKind.AMD)

    def reset_amd_audit(self, campaign_id: str) -> tuple[int, int]:
        """Forget the campaign's AMD audit sample, in memory and in Redis, and re-derive its false-positive
        share (the configured one until `min_samples` new audits are in). Returns the (persons, audited) that
        were forgotten. Raises ValueError while the sample is not read back from Redis yet (a reset then could
        be undone by the read)."""
        if not self.ledger_ready[campaign_id].is_set():
            raise ValueError(f"campaign {campaign_id}: the AMD audit sample is not read back from Redis yet; "
                             "try again once Redis answers")
        audit = self.audits[campaign_id]
        forgotten = (audit.persons, audit.audited)
        audit.reset()
        self.ledgers.reset_audit(campaign_id)
        log.warning(f"AMD audit sample reset ({forgotten[0]} persons in {forgotten[1]} audits forgotten)",
                    extra={"campaign_id": campaign_id})
        self.set_knobs(campaign_id, self.engine.campaigns[campaign_id].pacer.knobs)
        return forgotten

    def _export_audit(self, campaign_id: str) -> None:
        audit = self.audits.get(campaign_id)
        if audit is None:
            return
        m = self.metrics
        m.amd_audited.labels(campaign_id).set(audit.audited)
        m.amd_audit_persons.labels(campaign_id).set(audit.persons)
        m.amd_false_positive.labels(campaign_id).set(self.engine.campaigns[campaign_id].pacer.knobs.amd_false_positive)


    # ------------------------------------------------------------------ an earlier process's calls
    async def _claim_orphans(self, rows: list[ev.ChannelRow]) -> list[OrphanClaim]:
        """The calls in CoreShowChannels' `rows` that an earlier process left (`Engine.find_orphans`), each with
        its campaign and lead read from Asterisk (Getvar `DIALER_CAMPAIGN`, `DIALER_LEAD`: rows carry no channel
        variables) and its lead's take from the campaign's lead source. A call of a campaign not run here is
        left alone (another dialer's, or a campaign removed). Bounded: `ORPHAN_READ_S` per call."""
        found = self.engine.find_orphans(rows, self.settings.ami.outbound_context)
        if not found:
            return []
        if any(o.with_agent for o in found) and not self.agents_restored.is_set():
            # the agents on those calls must be logged back in first, or they could be given a call meanwhile
            try:
                async with asyncio.timeout(AGENTS_RESTORED_WAIT_S):
                    await self.agents_restored.wait()
            except TimeoutError:
                log.warning("agents not read back from Redis yet: the agents on calls an earlier process left are "
                            "not known; those calls are taken over without them")
        got = await asyncio.gather(*(self._claim_orphan(o) for o in found))
        return [c for c in got if c is not None]

    async def _claim_orphan(self, o: Orphan) -> OrphanClaim | None:
        where = {"call_id": o.call_id}
        try:
            async with asyncio.timeout(ORPHAN_READ_S):
                campaign_id, lead_id = await asyncio.gather(self._getvar(o.first.channel, "DIALER_CAMPAIGN"),
                                                             self._getvar(o.first.channel, "DIALER_LEAD"))
        except (AmiError, TimeoutError) as exc:
            log.warning("a call an earlier daemon process left in Asterisk is left alone: its campaign could not "
                        "be read (Getvar; the AMI user needs write=call)", extra={**where, "error": repr(exc)})
            return None
        if campaign_id not in self.engine.campaigns:
            log.info(f"a call in Asterisk of campaign {campaign_id or '?'}, which this daemon does not run, is left "
                     "alone", extra={**where, "campaign_id": campaign_id})
            return None
        request = await self._orphan_request(campaign_id, lead_id, o)
        return OrphanClaim(o, campaign_id, request)

    async def _getvar(self, channel: str, variable: str) -> str:
        reply = await self.ami.send(actions.getvar(channel, variable), timeout=ORPHAN_READ_S, check=True)
        if not isinstance(reply, AmiResponse):
            raise AmiError(f"Getvar {variable} on {channel}: no answer to read")
        return reply.get("Value") or ""

    async def _orphan_request(self, campaign_id: str, lead_id: str, o: Orphan) -> DialRequest:
        """The lead of an earlier process's call, with its take (`DialTarget`) when the lead source still has
        it in flight for that number: the call's record is then written on the lead as any other (an abandon
        takes the 72-hour lock). Without it the lead is recovered later by its source as a lost dial."""
        where = {"call_id": o.call_id, "campaign_id": campaign_id, "lead_id": lead_id}
        source = self.leads.get(campaign_id)
        info: Mapping[str, Any] | None = None
        if lead_id and isinstance(source, LeadAdminSource):
            try:
                async with asyncio.timeout(ORPHAN_READ_S):
                    info = await source.explain(lead_id, self.clock.now())
            except (DialerError, TimeoutError) as exc:
                log.warning("the lead of a call an earlier daemon process left could not be read; its result will "
                            "not be written on the lead (no 72-hour lock if it is abandoned)",
                            extra={**where, "error": repr(exc)})
        target = _take_of(campaign_id, lead_id, o.number, info) if info is not None else None
        if target is None:
            return DialRequest(lead_id=lead_id or f"unknown-{o.call_id}", number=o.number)
        return DialRequest(lead_id=lead_id, number=target.number_e164, attempt=target.attempt,
                           number_index=target.number_index, fields=target.fields, target=target, zone=target.zone,
                           lead_list=target.lead_list)

    def _adopt_orphans(self, claims: list[OrphanClaim], now: float) -> None:
        """Let the engine take over the calls an earlier process left (`dialer.engine.orphans`), and say so."""
        for claim in claims:
            o = claim.orphan
            if o.call_id in self.engine.calls:
                continue  # taken over by another look meanwhile
            cmds = self.engine.adopt(o, claim.campaign_id, claim.request, now)
            c = self.engine.calls.get(o.call_id)
            where = {"call_id": o.call_id, "campaign_id": claim.campaign_id, "lead_id": claim.request.lead_id}
            if c is None:
                log.info("a call an earlier daemon process left in Asterisk is left to end by itself (nobody waits "
                         f"on it: {o.first.context or '?'}, {o.first.application or '?'})", extra=where)
                continue
            log.warning(f"took over a call an earlier daemon process left in Asterisk ({c.state.value}"
                        f"{', abandoned: the information message now' if c.abandoned else ''}"
                        f"{', with agent ' + c.agent_id if c.agent_id else ''})", extra=where)
            self.execute(cmds, now)


def _take_of(campaign_id: str, lead_id: str, number: str, info: Mapping[str, Any]) -> DialTarget | None:
    """The lead's take (what the hopper handed the earlier process) from its `explain`, when the lead is still
    in flight and `number` one of its numbers: the target its result is written with."""
    where = info.get("where") or {}
    numbers = [str(n.get("number")) for n in info.get("numbers") or ()]
    if where.get("queue") != "in flight" or number not in numbers:
        return None
    zones = tuple(info.get("zones") or ())
    return DialTarget(campaign_id=campaign_id, lead_id=lead_id, number_e164=number, number_index=numbers.index(number),
                      attempt=int(info.get("attempts") or 0) + 1, fields=dict(info.get("fields") or {}),
                      zone=zones[0] if zones else None, zones=zones, numbers=tuple(numbers),
                      region=info.get("region"), taken_at=float(where["since"]))
