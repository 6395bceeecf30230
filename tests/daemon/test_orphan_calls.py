"""A daemon started after a crash takes over the calls the dead process left in Asterisk.

The dead process took a lead from the Redis hopper and dialed it; the person answered, AMD's verdict went to
the dead connection, and they wait in `dialer-connect`'s `Wait(600)`. The new daemon's first AMI connect
lists the channels (CoreShowChannels: no channel variables in its rows, as Asterisk 22 sends them), reads
the call's campaign and lead (Getvar), and sends the person to the information message: the abandon is
counted in that campaign's ledger, and the call's record, written on the lead the dead process took, puts
its numbers under the 72-hour lock.

No test sleeps: the scripted AMI port hands the daemon one event at a time and says when it is done with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from daemon_fakes import ami_side

from dialer.ami import actions
from dialer.ami import events as ev
from dialer.ami.client import AmiResponse
from dialer.campaigns.loader import load_campaign
from dialer.config import CampaignSettings
from dialer.daemon import Daemon
from dialer.errors import AmiError
from dialer.hopper import Hopper, LeadStore
from dialer.hopper_source import HopperLeadSource
from dialer.leads.demo import load_demo_leads
from dialer.policy.contact import ContactPolicy

CAMPAIGN = Path(__file__).resolve().parents[2] / "examples" / "campaigns" / "base_upsell.toml"
NOON_ET = dt.datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("America/New_York")).timestamp()
LIMIT = 10.0  # real seconds: only turns a hang into a failure
OLD = "upsell-fiber-1f-abc123"  # the dead process's call id (its campaign's id first, as every call id)


class AsteriskAfterCrash:
    """The daemon's AMI port over an Asterisk that still has the dead process's channels: CoreShowChannels
    lists `rows`, Getvar answers from `variables` (channel, name) -> value, as Asterisk does (an Error for a
    channel it does not have). `feed` returns once the daemon is done with the event."""

    def __init__(self, rows: list[ev.ChannelRow], variables: dict[tuple[str, str], str]) -> None:
        self.rows = rows
        self.variables = variables
        self.sent: list[actions.AmiAction] = []
        self.looks_failing = 0  # CoreShowChannels fails this many times first
        self._q: asyncio.Queue[tuple[ev.AmiEvent, asyncio.Future[None]]] = asyncio.Queue()

    async def events(self) -> AsyncIterator[ev.AmiEvent]:
        while True:
            event, done = await self._q.get()
            yield event
            done.set_result(None)

    async def feed(self, event: ev.AmiEvent) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._q.put_nowait((event, done))
        async with asyncio.timeout(LIMIT):
            await done

    def submit_originate(self, action: actions.OriginateAction) -> None:
        raise AssertionError("nothing is dialed in this test")

    async def send(self, action: actions.AmiAction, timeout: float = 10.0, *, check: bool = False) -> Any:
        self.sent.append(action)
        h = dict(action.headers)
        if action.name != "Getvar":
            return AmiResponse(ok=True, response="Success", message="")
        if not any(r.channel == h["Channel"] for r in self.rows):
            raise AmiError("Asterisk refused Getvar: No such channel")
        value = self.variables.get((h["Channel"], h["Variable"]), "")
        return AmiResponse(ok=True, response="Success", message="",
                           fields=(("variable", h["Variable"]), ("value", value)))

    async def core_show_channels(self, timeout: float = 10.0) -> list[ev.ChannelRow]:
        if self.looks_failing:
            self.looks_failing -= 1
            raise AmiError("Asterisk refused CoreShowChannels: Permission denied")
        return list(self.rows)


async def settled(d: Daemon) -> None:
    """Until the daemon's own tasks are done, those they started included."""
    async with asyncio.timeout(LIMIT):
        while d._pending:
            await asyncio.gather(*d._pending)


@contextlib.asynccontextmanager
async def restarted(redis_url: str, prefix: str, ami: AsteriskAfterCrash,
                    source: HopperLeadSource) -> AsyncIterator[Daemon]:
    """The new daemon, running the base-upsell campaign on the hopper the dead one used (AMI side only)."""
    async with ami_side(redis_url, CampaignSettings(id="upsell-fiber"), source, ami, prefix, NOON_ET + 60,
                        speed=1.0) as d:
        yield d


async def test_a_person_a_crashed_daemon_left_parked_gets_the_message_is_counted_and_locked(client, redis_url):
    prefix = "orphan1"
    config = load_campaign(CAMPAIGN)
    await load_demo_leads(LeadStore(client, prefix=prefix), config, 5, 7, NOON_ET)
    hopper = Hopper(client, config, ContactPolicy(config), prefix=prefix)
    source = HopperLeadSource(hopper)
    await source.depth(NOON_ET)
    [taken] = await source.take(1, NOON_ET)  # the dead process's take: it dialed this lead
    leg = f"Local/{taken.number[1:]}@dialer-outbound-0000002a;1"
    parked = ev.ChannelRow(channel=leg, uniqueid=OLD, linkedid=OLD, state=ev.ChannelState.UP,
                           context="dialer-connect", exten="s", application="Wait", application_data="600",
                           duration=45)
    carrier = ev.ChannelRow(channel=leg.replace(";1", ";2"), uniqueid=f"{OLD}-2", linkedid=OLD,
                            state=ev.ChannelState.UP, context="dialer-outbound", exten=taken.number[1:],
                            application="Dial", duration=45)
    ami = AsteriskAfterCrash([parked, carrier], {(leg, "DIALER_CAMPAIGN"): "upsell-fiber",
                                                 (leg, "DIALER_LEAD"): taken.lead_id})
    async with restarted(redis_url, prefix, ami, source) as d:
        await ami.feed(ev.AmiConnected(reconnect=False))  # the daemon's first connect: it looks first
        redirects = [dict(a.headers) for a in ami.sent if a.name == "Redirect"]
        assert [(r["Channel"], r["Context"]) for r in redirects] == [(leg, "dialer-abandon")]
        ledger = d.engine.campaigns["upsell-fiber"].pacer.ledger
        assert (ledger.total_lives, ledger.total_abandons) == (1, 1)
        assert d.ami_ready.is_set()
        await settled(d)  # the takes the dead process left are released (dialing waits for that)
        assert not d.engine.ami_link.hold  # looked: dialing may go on
        await ami.feed(ev.Hangup(channel=leg, uniqueid=OLD, linkedid=OLD, cause=16))  # after the message
        await settled(d)  # the call's record written on the lead
        info = await hopper.explain(taken.lead_id, NOON_ET + 120)
        assert info["where"]["queue"] != "in flight"  # not left for the lost-dial recovery (a no-answer)
        assert info["last_outcome"] == "abandoned"
        locked = [n["locked_until"] for n in info["numbers"]]
        assert locked
        assert all(t is not None and t >= NOON_ET + 71 * 3600 for t in locked)


def one_parked_leg(client: Any, prefix: str, *, campaign: str) -> tuple[HopperLeadSource, str, AsteriskAfterCrash]:
    """A hopper on `prefix` with nothing taken, and an Asterisk holding one person parked in `Wait`, of
    `campaign`, lead L1."""
    config = load_campaign(CAMPAIGN)
    source = HopperLeadSource(Hopper(client, config, ContactPolicy(config), prefix=prefix))
    leg = "Local/15551230007@dialer-outbound-0000002a;1"
    parked = ev.ChannelRow(channel=leg, uniqueid=OLD, linkedid=OLD, state=ev.ChannelState.UP,
                           context="dialer-connect", exten="s", application="Wait")
    return source, leg, AsteriskAfterCrash([parked], {(leg, "DIALER_CAMPAIGN"): campaign,
                                                      (leg, "DIALER_LEAD"): "L1"})


async def test_a_call_of_a_campaign_this_daemon_does_not_run_is_left_alone(client, redis_url):
    prefix = "orphan2"
    source, _leg, ami = one_parked_leg(client, prefix, campaign="someone-elses")
    async with restarted(redis_url, prefix, ami, source) as d:
        await ami.feed(ev.AmiConnected(reconnect=False))
        assert [a.name for a in ami.sent] == ["Getvar", "Getvar"]
        assert OLD not in d.engine.calls
        assert d.ami_ready.is_set()


async def test_when_the_first_look_failed_a_verdict_of_such_a_call_makes_the_daemon_look_again(client, redis_url):
    prefix = "orphan3"
    source, leg, ami = one_parked_leg(client, prefix, campaign="upsell-fiber")
    ami.looks_failing = 1
    async with restarted(redis_url, prefix, ami, source) as d:
        await ami.feed(ev.AmiConnected(reconnect=False))
        assert not d.engine.ami_link.hold  # the look failed: dialing goes on
        assert OLD not in d.engine.calls
        await ami.feed(ev.AmdResult(call_id=OLD, status=ev.AmdStatus.HUMAN, channel=leg, uniqueid=OLD, linkedid=OLD))
        await settled(d)  # the look the verdict asked for, and what it sent
        redirects = [dict(a.headers) for a in ami.sent if a.name == "Redirect"]
        assert [(r["Channel"], r["Context"]) for r in redirects] == [(leg, "dialer-abandon")]
        assert d.engine.campaigns["upsell-fiber"].pacer.ledger.total_abandons == 1
