"""A daemon restarted after a crash (the old one dropped without its shutdown: kill -9) releases at once, once it has
taken over the calls the dead process left in Asterisk, the leads that process took: not an hour later
(`inflight_timeout_s`) as lost dials. A preview never dialed goes back with no attempt counted, a callback kept for
an agent back to that agent's callbacks, a dial whose call is gone is recorded lost now; the call still up is
adopted and its lead left to it, and a take of a live daemon running another campaign on the same Redis is left."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from daemon_fakes import ami_side
from test_orphan_calls import CAMPAIGN, NOON_ET, OLD, AsteriskAfterCrash, settled

from dialer.ami import events as ev
from dialer.campaigns.loader import load_campaign
from dialer.config import CampaignSettings
from dialer.daemon import Daemon
from dialer.hopper import Hopper, LeadStore
from dialer.hopper_source import HopperLeadSource
from dialer.leads.demo import load_demo_leads
from dialer.policy import DialResult
from dialer.policy.contact import ContactPolicy

PROMISED = NOON_ET + 600  # the callback ann kept for herself: 12:10
CRASH = PROMISED + 30
RESTART = CRASH + 60


def hopper(client: object, prefix: str, run_id: str, cid: str = "upsell-fiber") -> Hopper:
    config = load_campaign(CAMPAIGN).model_copy(update={"id": cid})
    return Hopper(client, config, ContactPolicy(config), prefix=prefix, run_id=run_id)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def restarted(redis_url: str, prefix: str, ami: AsteriskAfterCrash, client: object) -> AsyncIterator[Daemon]:
    """The new process: a hopper of its own (a new run) on the Redis the dead one used."""
    source = HopperLeadSource(hopper(client, prefix, "next"))
    async with ami_side(redis_url, CampaignSettings(id="upsell-fiber"), source, ami, prefix, RESTART,
                        speed=1.0) as d:
        yield d


async def test_a_restart_after_a_crash_releases_the_dead_processs_takes_at_once(client, redis_url, caplog):
    prefix = "deadtakes1"
    config = load_campaign(CAMPAIGN)
    await load_demo_leads(LeadStore(client, prefix=prefix), config, 6, 7, NOON_ET)
    await load_demo_leads(LeadStore(client, prefix=prefix), config.model_copy(update={"id": "elsewhere"}), 2, 8,
                          NOON_ET)
    dead = hopper(client, prefix, "dead")
    await dead.fill(NOON_ET)
    (cb,) = await dead.take(1, NOON_ET)
    await dead.record_result(cb, DialResult("live", "callback", callback_at=PROMISED, callback_agent="ann"),  # type: ignore[arg-type]
                             NOON_ET + 60)
    kept = (await dead.take_own_callbacks(["ann"], PROMISED))["ann"]  # on ann's screen when the process died
    (up, gone) = await dead.take(2, CRASH - 20)  # dialed: one still up in Asterisk, one ended meanwhile
    (previewed,) = await dead.take(1, CRASH - 10, preview=True)  # on an agent's screen, not dialed
    live = hopper(client, prefix, "live-elsewhere", "elsewhere")  # another daemon, another campaign, running
    await live.fill(CRASH)
    (theirs,) = await live.take(1, CRASH, preview=True)

    leg = f"Local/{up.number_e164[1:]}@dialer-outbound-0000002a;1"
    parked = ev.ChannelRow(channel=leg, uniqueid=OLD, linkedid=OLD, state=ev.ChannelState.UP,
                           context="dialer-connect", exten="s", application="Wait", application_data="600",
                           duration=45)
    ami = AsteriskAfterCrash([parked], {(leg, "DIALER_CAMPAIGN"): "upsell-fiber",
                                        (leg, "DIALER_LEAD"): up.lead_id})
    caplog.set_level(logging.INFO, logger="dialer.hopper_source")
    async with restarted(redis_url, prefix, ami, client) as d:
        await ami.feed(ev.AmiConnected(reconnect=False))
        await settled(d)
        assert OLD in d.engine.calls  # adopted
        now = d.clock.now()
        assert now < CRASH + 3600  # at once, not after inflight_timeout_s

        async def where(h: Hopper, lead_id: str) -> tuple[str, int, str | None]:
            info = await h.explain(lead_id, now)
            return info["where"]["queue"], info["attempts"], info["last_outcome"]

        assert await where(dead, up.lead_id) == ("in flight", 0, None)  # its call is up: left to it
        assert await where(dead, gone.lead_id) == ("retry", 1, "no_answer")  # recorded lost, now
        assert (await where(dead, previewed.lead_id))[:2] == ("retry", 0)  # back, no attempt counted
        assert await where(dead, kept.lead_id) == ("callback", cb.attempt, "callback")  # no attempt counted
        assert [c.lead_id for c in await dead.own_callbacks("ann")] == [kept.lead_id]  # still ann's
        assert (await live.explain(theirs.lead_id, now))["where"] == {"queue": "in flight", "since": CRASH}
    said = [r.getMessage() for r in caplog.records if "earlier daemon process took" in r.getMessage()]
    assert any("upsell-fiber: 3 lead(s)" in m and "1 never dialed" in m and "1 callback(s)" in m
               and "1 whose dial may have gone out recorded lost" in m for m in said), said

