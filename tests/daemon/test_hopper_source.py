"""The hopper behind the daemon's LeadSource port: what the engine reports reaches the contact policy."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dialer.campaigns.loader import load_campaign
from dialer.embedded import embedded_redis
from dialer.engine.commands import DispositionMade
from dialer.engine.records import CallRecord
from dialer.hopper import Hopper, LeadStore
from dialer.hopper.keys import CampaignKeys, GlobalKeys
from dialer.hopper.views import S
from dialer.hopper_source import HopperLeadSource
from dialer.leads.demo import load_demo_leads
from dialer.policy.contact import ContactPolicy
from dialer.store import connect_redis

CAMPAIGN = Path(__file__).resolve().parents[2] / "examples" / "campaigns" / "base_upsell.toml"
NOON_ET = dt.datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("America/New_York")).timestamp()


@dataclass
class Rig:
    redis: Any
    config: Any
    store: LeadStore
    hopper: Hopper
    source: HopperLeadSource


@contextlib.asynccontextmanager
async def rig(leads: int = 20) -> AsyncIterator[Rig]:
    """The example base-upsell campaign's hopper, with `leads` demo leads, behind a HopperLeadSource."""
    async with embedded_redis() as url:
        redis = connect_redis(url)
        try:
            config = load_campaign(CAMPAIGN)
            store = LeadStore(redis)
            await load_demo_leads(store, config, leads, 7, NOON_ET)
            hopper = Hopper(redis, config, ContactPolicy(config))
            source = HopperLeadSource(hopper)
            assert await source.depth(NOON_ET) > 0
            yield Rig(redis, config, store, hopper, source)
        finally:
            await redis.aclose()


def record(call_id: str, lead_id: str, number: str, outcome: str, agent: str | None = None) -> CallRecord:
    return CallRecord(call_id=call_id, campaign_id="upsell-fiber", lead_id=lead_id, number=number, attempt=1,
                      outcome=outcome, abandoned=outcome in ("abandoned", "hung_up_waiting"), created_at=NOON_ET,
                      originated_at=NOON_ET,
                      answered_at=None, human_at=None, connected_at=None, ended_at=NOON_ET + 30, agent_id=agent,
                      amd_status=None, dial_status=None, hangup_cause=None, wait_s=None, talk_s=None)


async def test_results_and_dispositions_reach_the_hopper():
    async with rig(leads=50) as r:
        hopper, source = r.hopper, r.source
        busy, talked, hung_up = await source.take(3, NOON_ET)
        assert busy.target is not None
        assert busy.number.startswith("+")
        [demo_list] = await hopper.lists()
        assert busy.lead_list == demo_list.name  # the call record names it (reports by list)
        await source.record_result(record("c1", busy.lead_id, busy.number, "busy"), busy.target, NOON_ET + 30)
        await source.record_result(record("c2", talked.lead_id, talked.number, "connected", "a1"),
                                   talked.target, NOON_ET + 60)
        # a person who hung up before an agent came was abandoned: locked like any abandon
        await source.record_result(record("c3", hung_up.lead_id, hung_up.number, "hung_up_waiting"),
                                   hung_up.target, NOON_ET + 30)
        counts = dict(await hopper.outcome_counts())
        assert counts.get("outcome:busy") == 1
        assert counts.get("outcome:abandoned") == 1
        assert "outcome:live" not in counts  # a connected call waits for its disposition
        await source.record_disposition(
            DispositionMade("c2", "a1", "refused", {"reason": "too_expensive"}, (), NOON_ET + 90, talked.target),
            NOON_ET + 90,
        )
        counts = dict(await hopper.outcome_counts())
        assert counts.get("outcome:live") == 1
        assert counts.get("disposition:refused") == 1


async def test_a_call_disposed_no_disposition_is_a_contact_with_an_unknown_result_not_a_lost_attempt():
    # its agent's wrap-up ran out, or the daemon stopped during it (dialer.engine.agentside)
    async with rig() as r:
        source = r.source
        [talked] = await source.take(1, NOON_ET)
        await source.record_result(record("c9", talked.lead_id, talked.number, "connected", "a1"),
                                   talked.target, NOON_ET + 60)
        auto = DispositionMade("c9", "a1", "no_disposition", {"auto": "wrapup_timeout"}, (), NOON_ET + 180,
                               talked.target, campaign_id=r.config.id)
        await source.record_disposition(auto, NOON_ET + 180)
        counts = dict(await r.hopper.outcome_counts())
        assert (counts.get("outcome:live"), counts.get("disposition:other")) == (1, 1)
        state = await r.store.lead_state(r.config.id, talked.lead_id)
        assert state.get(S.FINISHED) == "other", state  # finished as a contact: not dialed again by this campaign


async def test_a_late_disposition_replaces_no_disposition_as_if_it_had_come_in_time():
    async with rig() as r:
        redis, config, store, hopper, source = r.redis, r.config, r.store, r.hopper, r.source
        called_back, sold, refused_dnc = await source.take(3, NOON_ET)
        keys, gkeys = CampaignKeys("dialer", config.id), GlobalKeys("dialer")
        lead = await store.get_lead(config.id, called_back.lead_id)
        assert lead is not None
        person_key = gkeys.person(lead.person)
        for i, req in enumerate((called_back, sold, refused_dnc)):
            await source.record_result(record(f"c{i}", req.lead_id, req.number, "connected", "a1"),
                                       req.target, NOON_ET + 60)
        late = NOON_ET + 600
        tomorrow = str(NOON_ET + 86400)
        pairs = [("c0", called_back, "callback", {"callback_epoch": tomorrow}), ("c1", sold, "sale", {}),
                 ("c2", refused_dnc, "dnc", {"dnc": "1"})]
        for call_id, req, code, fields in pairs:
            first = DispositionMade(call_id, "a1", "no_disposition", {"auto": "wrapup_timeout"}, (),
                                    NOON_ET + 180, req.target, campaign_id=config.id)
            amend = DispositionMade(call_id, "a1", code, fields, (), late, req.target, campaign_id=config.id,
                                    amends="no_disposition")
            # the daemon runs each in a task of its own: the late one must wait for the first's write
            await asyncio.gather(source.record_disposition(first, NOON_ET + 180),
                                 source.record_disposition(amend, late))
        counts = dict(await hopper.outcome_counts())
        assert counts.get("outcome:live") == 3  # one attempt each, counted once
        assert counts.get("disposition:other") == 0
        assert (counts.get("disposition:callback"), counts.get("disposition:sale"),
                counts.get("disposition:dnc")) == (1, 1, 1)
        fin = {k: int(v) for k, v in (await redis.hgetall(keys.fin)).items()}
        assert (fin.get("other"), fin.get("sale"), fin.get("dnc")) == (0, 1, 1)
        cb = await store.lead_state(config.id, called_back.lead_id)
        assert S.FINISHED not in cb
        assert (float(cb[S.CB_AT]), cb[S.ATTEMPTS]) == (float(tomorrow), "1")
        assert await hopper.number_is_dnc(refused_dnc.number)  # final, across campaigns
        person = await redis.hgetall(person_key)
        assert person.get(S.P_MONTH_COUNT) == "1", person  # the contact counted once
        again = DispositionMade("c1", "a1", "refused", {}, (), late + 1, sold.target, campaign_id=config.id,
                                amends="no_disposition")
        await source.record_disposition(again, late + 1)  # amended already: logged, nothing changes
        assert (await store.lead_state(config.id, sold.lead_id))[S.FINISHED] == "sale"


async def test_a_late_wrong_number_takes_back_the_contact_so_the_subscriber_is_not_held_off():
    async with rig() as r:
        redis, config, store, source = r.redis, r.config, r.store, r.source
        assert config.is_base  # a base contact holds the subscriber off every base campaign for 60 days
        wrong, other_number, stamped_since = await source.take(3, NOON_ET)
        gkeys = GlobalKeys("dialer")
        persons = []
        for req in (wrong, other_number, stamped_since):
            lead = await store.get_lead(config.id, req.lead_id)
            assert lead is not None
            persons.append(gkeys.person(lead.person))
        long_ago = repr(NOON_ET - 200 * 86400)
        await redis.hset(persons[1], S.P_BASE, long_ago)  # contacted by a base campaign months ago
        for i, req in enumerate((wrong, other_number, stamped_since)):
            await source.record_result(record(f"w{i}", req.lead_id, req.number, "connected", "a1"),
                                       req.target, NOON_ET + 60)
            await source.record_disposition(DispositionMade(f"w{i}", "a1", "no_disposition", {}, (), NOON_ET + 180,
                                                            req.target, campaign_id=config.id), NOON_ET + 180)
        first = [await redis.hgetall(p) for p in persons]
        assert all(p.get(S.P_MONTH_COUNT) == "1" and S.P_BASE in p for p in first)  # counted, to be safe
        await redis.hset(persons[2], S.P_BASE, repr(NOON_ET + 300))  # another base campaign reached them since
        late = NOON_ET + 600
        for i, (req, code) in enumerate(((wrong, "wrong_number"), (other_number, "not_available"),
                                         (stamped_since, "machine"))):
            await source.record_disposition(DispositionMade(f"w{i}", "a1", code, {}, (), late, req.target,
                                                            campaign_id=config.id, amends="no_disposition"), late)
        after = [await redis.hgetall(p) for p in persons]
        assert [p.get(S.P_MONTH_COUNT) for p in after] == ["0", "0", "0"]  # nobody of ours was reached
        assert S.P_BASE not in after[0]  # never contacted before: as it was
        assert after[1][S.P_BASE] == long_ago  # back to the earlier contact
        assert after[2][S.P_BASE] == repr(NOON_ET + 300)  # the other campaign's contact stands
        state = await store.lead_state(config.id, wrong.lead_id)
        # the number reached someone else: dead; with no other number, nothing is left to dial on this lead
        assert (state[S.FINISHED], state[S.DEAD], S.BASE_BEFORE in state) == ("no dialable number", "0", False)
        state = await store.lead_state(config.id, other_number.lead_id)
        assert (S.FINISHED in state, float(state[S.RETRY_AT]) > late) == (False, True)  # the person is tried again


async def test_the_production_factory_opens_hoppers_under_the_configured_prefix():
    from dialer.config import CampaignSettings
    from dialer.runner import hopper_leads

    async with embedded_redis() as url:
        redis = connect_redis(url)
        try:
            config = load_campaign(CAMPAIGN)
            await load_demo_leads(LeadStore(redis, prefix="acme"), config, 20, 7, NOON_ET)
            campaign = CampaignSettings(id=config.id, file=CAMPAIGN)
            source = await hopper_leads("acme")(campaign, redis)
            assert await source.depth(NOON_ET) > 0  # the leads loaded under "acme" are the ones it dials
            assert await redis.keys("dialer:*") == []
            assert await redis.keys("acme:*")
        finally:
            await redis.aclose()


def test_every_call_outcome_has_its_own_hopper_outcome():
    from dialer.campaigns.vocab import Outcome
    from dialer.engine.calls import CallOutcome
    from dialer.hopper_source import _OUTCOMES

    assert {o.value for o in CallOutcome} == set(_OUTCOMES), "a new outcome would silently read as no_answer"
    # agentless: a person gone before the message started was not reached; the lead is retried
    assert _OUTCOMES["hung_up_before_message"] is Outcome.NO_ANSWER
    assert _OUTCOMES["delivered"] is Outcome.LIVE
