"""A person connected to an agent more than 2 s after their greeting is an abandon (the call record says
`abandoned`, the ledger counted it), though they then talked: the hopper gets that with the agent's
disposition, so their numbers get the 72-hour abandon lock as after any abandon, and the disposition (a
sale, a callback) counts as well. Also when the disposition came before the record (the agent transferred
the call to the supervisor)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dialer.campaigns.loader import load_campaign
from dialer.campaigns.vocab import Disposition, Outcome
from dialer.engine.commands import DispositionMade
from dialer.engine.core import DialRequest
from dialer.engine.records import CallRecord
from dialer.hopper import DialResult, Hopper, LeadStore
from dialer.hopper.keys import GlobalKeys
from dialer.hopper.types import DialTarget
from dialer.hopper.views import S
from dialer.hopper_source import HopperLeadSource
from dialer.leads.demo import load_demo_leads
from dialer.policy.contact import ContactPolicy

CAMPAIGN = Path(__file__).resolve().parents[2] / "examples" / "campaigns" / "base_upsell.toml"
NOON_ET = dt.datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("America/New_York")).timestamp()
LOCK = 72 * 3600
_prefixes = itertools.count(1)


def talked(call_id: str, req: DialRequest, *, abandoned: bool) -> CallRecord:
    """A connected call's record; `abandoned`: the person was put through more than 2 s after the greeting."""
    return CallRecord(call_id=call_id, campaign_id="upsell-fiber", lead_id=req.lead_id, number=req.number,
                      attempt=1, outcome="connected", abandoned=abandoned, created_at=NOON_ET,
                      originated_at=NOON_ET, answered_at=NOON_ET + 5, human_at=NOON_ET + 6,
                      connected_at=NOON_ET + (9 if abandoned else 7), ended_at=NOON_ET + 60, agent_id="a1",
                      amd_status=None, dial_status=None, hangup_cause=None, wait_s=3.0 if abandoned else 1.0,
                      talk_s=51)


def disposed(call_id: str, req: DialRequest, code: str, fields: dict[str, str] | None = None) -> DispositionMade:
    return DispositionMade(call_id, "a1", code, fields or {}, (), NOON_ET + 90, req.target, campaign_id="upsell-fiber")


async def hopper_of(client: Any) -> tuple[str, HopperLeadSource, LeadStore]:
    prefix = f"latelock{next(_prefixes)}"
    config = load_campaign(CAMPAIGN)
    store = LeadStore(client, prefix=prefix)
    await load_demo_leads(store, config, 10, 7, NOON_ET)
    source = HopperLeadSource(Hopper(client, config, ContactPolicy(config), prefix=prefix))
    assert await source.depth(NOON_ET) > 0
    return prefix, source, store


async def locked_until(client: Any, prefix: str, store: LeadStore, lead_id: str) -> dict[str, float]:
    lead = await store.get_lead("upsell-fiber", lead_id)
    assert lead is not None
    got = [await client.zscore(GlobalKeys(prefix).ab, n.e164) for n in lead.numbers]
    return {n.e164: float(s or 0.0) for n, s in zip(lead.numbers, got, strict=True)}


async def test_a_late_connected_sale_locks_the_persons_numbers_and_still_counts_as_a_sale(client):
    prefix, source, store = await hopper_of(client)
    late, on_time = await source.take(2, NOON_ET)
    await source.record_result(talked("c1", late, abandoned=True), late.target, NOON_ET + 60)
    await source.record_result(talked("c2", on_time, abandoned=False), on_time.target, NOON_ET + 60)
    await source.record_disposition(disposed("c1", late, "sale"), NOON_ET + 90)
    await source.record_disposition(disposed("c2", on_time, "sale"), NOON_ET + 90)
    locks = await locked_until(client, prefix, store, late.lead_id)
    assert locks
    assert set(locks.values()) == {NOON_ET + 90 + LOCK}  # every number of the person
    assert set((await locked_until(client, prefix, store, on_time.lead_id)).values()) == {0.0}
    counts = dict(await source.hopper.outcome_counts())
    assert (counts.get("outcome:live"), counts.get("disposition:sale")) == (2, 2)
    assert (await store.lead_state("upsell-fiber", late.lead_id))[S.FINISHED] == "sale"


async def test_a_late_connected_callback_is_scheduled_and_the_numbers_locked(client):
    prefix, source, store = await hopper_of(client)
    [req] = await source.take(1, NOON_ET)
    tomorrow = NOON_ET + 86400
    await source.record_result(talked("c1", req, abandoned=True), req.target, NOON_ET + 60)
    await source.record_disposition(disposed("c1", req, "callback", {"callback_epoch": str(tomorrow)}), NOON_ET + 90)
    assert float((await store.lead_state("upsell-fiber", req.lead_id))[S.CB_AT]) == tomorrow
    assert set((await locked_until(client, prefix, store, req.lead_id)).values()) == {NOON_ET + 90 + LOCK}


async def test_a_disposition_before_the_record_waits_for_it_and_gets_its_abandon(client):
    # the agent blind-transferred the call to the supervisor and disposed it while it is still up
    prefix, source, store = await hopper_of(client)
    [req] = await source.take(1, NOON_ET)
    await source.record_disposition(disposed("c1", req, "sale"), NOON_ET + 90)
    assert (await store.lead_state("upsell-fiber", req.lead_id)).get(S.FINISHED) is None  # not written yet
    await source.record_result(talked("c1", req, abandoned=True), req.target, NOON_ET + 300)
    assert (await store.lead_state("upsell-fiber", req.lead_id))[S.FINISHED] == "sale"
    assert set((await locked_until(client, prefix, store, req.lead_id)).values()) == {NOON_ET + 300 + LOCK}
    assert dict(await source.hopper.outcome_counts()).get("outcome:live") == 1  # one attempt, counted once


class Recorded:
    """The hopper's `record_result`, remembered."""

    def __init__(self) -> None:
        self.results: list[DialResult] = []

    async def record_result(self, target: object, result: DialResult, now: float) -> None:
        self.results.append(result)


async def test_the_result_the_hopper_gets_says_abandoned_next_to_the_disposition():
    hopper = Recorded()
    source = HopperLeadSource(hopper)  # type: ignore[arg-type]
    config = load_campaign(CAMPAIGN)
    target = DialTarget(config.id, "L1", "+12125550142", 0, 1, {})
    req = DialRequest("L1", "+12125550142", target=target)
    await source.record_result(talked("c1", req, abandoned=True), target, NOON_ET + 60)
    await source.record_disposition(disposed("c1", req, "not_available"), NOON_ET + 90)
    missed = dataclasses.replace(talked("c2", req, abandoned=True), outcome="hung_up_waiting", connected_at=None)
    await source.record_result(missed, target, NOON_ET + 60)
    assert [(r.outcome, r.disposition, r.abandoned) for r in hopper.results] == [
        (Outcome.LIVE, Disposition.NOT_AVAILABLE, True), (Outcome.ABANDONED, None, True)]
