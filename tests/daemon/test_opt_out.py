"""A key-press opt-out after a recorded message (`UserEvent: DialerOptOut`) puts the person on the do-not-call
lists, final across campaigns, as an agent's DNC request does; journaled with source `key-press`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from daemon_fakes import daemon_logs, one_campaign_daemon, stopping

from dialer.ami import events as ev
from dialer.campaigns.loader import load_campaign
from dialer.daemon import Daemon
from dialer.engine.commands import Originate
from dialer.engine.core import DialRequest
from dialer.hopper import LeadStore
from dialer.leads.demo import load_demo_leads
from dialer.leadsource import InMemoryLeadSource

T0 = 1_795_000_000.0
CAMPAIGN = Path(__file__).resolve().parents[2] / "examples" / "campaigns" / "base_upsell.toml"
WINBACK = CAMPAIGN.with_name("winback.toml")


def make_daemon(client: Any, prefix: str, campaign: str) -> Daemon:
    # no grace for calls still up at the stop: it is wall time here (a dial left ringing waited out 60 s)
    return one_campaign_daemon(client, prefix, InMemoryLeadSource([]), T0, campaign)


def key_press(d: Daemon, call_id: str, lead_id: str, campaign: str) -> None:
    now = d.clock.now()
    kw = {"channel": f"Local/x@dialer-outbound-{call_id};1", "uniqueid": call_id, "linkedid": call_id}
    d.execute(d.engine.on_ami(ev.OptOut(call_id=call_id, lead_id=lead_id, campaign_id=campaign, **kw), now), now)


async def test_a_key_press_after_the_abandon_message_is_a_dnc_request(client):
    d = make_daemon(client, "optout1", "uk")
    stop, task = await stopping(d)
    try:
        now = d.clock.now()
        launched = d.engine.launch("uk", [DialRequest("L1", "+442075550101", fields={"subscriber_id": "S-9"})], now)
        [o] = [c for c in launched if isinstance(c, Originate)]
        key_press(d, o.call_id, "L1", "uk")
    finally:
        stop.set()
        await task  # the shutdown lets the DNC write finish
    leads = LeadStore(client, prefix="optout1")
    assert await leads.is_dnc("+442075550101", region="GB")
    [(_id, entry)] = await client.xrange("optout1:dnc_requests")
    assert (entry["call_id"], entry["source"], entry["person"], entry["number"]) == (
        o.call_id, "key-press", "subscriber:S-9", "+442075550101")


async def test_a_key_press_for_a_call_the_daemon_forgot_finds_the_person_by_the_lead(client):
    config = load_campaign(CAMPAIGN)
    leads = LeadStore(client, prefix="optout2")
    await load_demo_leads(leads, config, 3, 7, T0)
    lead_id, *_others = [x async for x in leads.iter_lead_ids(config.id)]
    lead = await leads.get_lead(config.id, lead_id)
    assert lead is not None
    d = make_daemon(client, "optout2", config.id)
    stop, task = await stopping(d)
    try:
        key_press(d, "c-before-the-restart", lead_id, config.id)
    finally:
        stop.set()
        await task
    for n in lead.numbers:  # the call's number is not known: every number of the person
        assert await leads.is_dnc(n.e164)
    [(_id, entry)] = await client.xrange("optout2:dnc_requests")
    assert entry["numbers"].split(",") == [n.e164 for n in lead.numbers]
    assert (entry["source"], entry["lead_id"], entry["call_id"], entry["person"]) == (
        "key-press", lead_id, "c-before-the-restart", lead.person)


async def test_the_request_is_the_persons_every_number_and_the_subscriber_across_campaigns(client):
    # a call's fields do not carry the subscriber: the lead store names the person
    config = load_campaign(WINBACK)
    leads = LeadStore(client, prefix="optout4")
    await load_demo_leads(leads, config, 30, 7, T0)
    stored = [await leads.get_lead(config.id, x) async for x in leads.iter_lead_ids(config.id)]
    lead = next(x for x in stored if x is not None and len(x.numbers) > 1 and x.subscriber_id)
    d = make_daemon(client, "optout4", config.id)
    stop, task = await stopping(d)
    try:
        now = d.clock.now()
        second = lead.numbers[1].e164
        launched = d.engine.launch(config.id, [DialRequest(lead.lead_id, second, number_index=1,
                                                           fields=dict(lead.fields))], now)
        [o] = [c for c in launched if isinstance(c, Originate)]
        key_press(d, o.call_id, lead.lead_id, config.id)
    finally:
        stop.set()
        await task
    assert [await leads.is_dnc(n.e164) for n in lead.numbers] == [True] * len(lead.numbers)
    assert await client.sismember("optout4:dncp", f"subscriber:{lead.subscriber_id}")  # every campaign's leads
    [(_id, entry)] = await client.xrange("optout4:dnc_requests")
    assert (entry["person"], entry["number"]) == (f"subscriber:{lead.subscriber_id}", second)


async def test_a_key_press_nobody_can_be_found_for_is_logged_for_a_person_to_act_on(client, caplog):
    d = make_daemon(client, "optout3", "uk")
    stop, task = await stopping(d)
    try:
        key_press(d, "c-gone", "L-gone", "uk")
    finally:
        stop.set()
        await task
    assert any("opt-out of call c-gone" in r.getMessage() and "by hand" in r.getMessage() for r in caplog.records)
    assert await client.xrange("optout3:dnc_requests") == []


async def test_an_originate_asterisk_did_not_answer_in_time_is_logged(client, caplog):
    # (here with the opt-out tests: the same daemon, fed AMI events through its fake connection)
    d = make_daemon(client, "optout5", "uk")
    with daemon_logs(lambda r: getattr(r, "call_id", "") == "c-slow") as logged:
        stop, task = await stopping(d)
        try:
            # in order: a refusal (not this warning), then an Originate whose answer did not come in time
            d.ami._q.put_nowait(ev.OriginateFailed("c-refused", "Asterisk refused the Originate", sent=True))
            d.ami._q.put_nowait(ev.OriginateFailed("c-slow", "no OriginateResponse within 0.2 s", may_exist=True))
            await logged.wait()
        finally:
            stop.set()
            await task
    [slow] = [r for r in caplog.records if getattr(r, "call_id", "") == "c-slow"]
    assert slow.levelname == "WARNING"
    assert slow.getMessage() == "Originate unanswered in time; the call waits for its events"
    assert not any(getattr(r, "call_id", "") == "c-refused" for r in caplog.records)
