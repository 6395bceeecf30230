"""The daemon's side of the compliance ledger and the AMD audit, as a mixin of `dialer.daemon.Daemon`.

    _restore_ledger   at start-up (and for a campaign added at run time): read the ledger's history back
                      from Redis behind every queued write, merge it, release the hold on the budget
    _restored_audit   the AMD audit sample read back with it
    _audited          an agent disposed an AMD audit call: count it durably, re-derive the share
    _note_verdict     count the campaign's AMD verdicts while it audits (the estimate's M and L)
    _export_audit     the audit's Prometheus gauges
    reset_amd_audit   a supervisor starts a new audit sample after tuning AMD

Kept apart so that `daemon.py` stays about the TaskGroup and the pacing loop; the pure parts live in
`pacing.ledger` and `dialer.amd_audit`, the Redis side in `dialer.ledger_store`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from dialer.amd_audit import AmdAudit, is_person
from dialer.engine.commands import DispositionMade, RecordLedger
from dialer.ledger_store import parse_ledger
from pacing.ledger import LedgerEntryKind

if TYPE_CHECKING:
    from dialer.clock import Clock
    from dialer.engine.core import Engine
    from dialer.ledger_store import LedgerStore
    from dialer.metrics import Metrics
    from pacing import PacingKnobs

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

        def set_knobs(self, campaign_id: str, knobs: PacingKnobs) -> None: ...

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

