"""What an agent saves on a call they dialed by hand is kept as on any call: the manual dial has a lead of its own in
the campaign's hopper (`HopperLeadSource.take_manual`), and its result is written there. Before, the call had no
lead: a callback for "mine" was accepted ("Saved", the call record naming the agent) and never scheduled, and an
order's confirmation follow-up was lost the same way. A call that has no lead in the hopper to keep a callback on
(one an earlier process left, whose lead could not be read back) has its callback refused with a reason, not
accepted and dropped. The manual call's lead id is opaque: lead ids travel where numbers are masked.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from daemon_fakes import FakeAmi, progressive_ami_side, talk_and_hang_up

from agents import commands as ac
from agents.dispositions import DispositionRejected
from agents.screenpop import ScreenPopRenderer
from agents.state import AgentState
from dialer.ami import events as ev
from dialer.campaigns import parse_campaign
from dialer.daemon import Daemon
from dialer.errors import IllegalTransition
from dialer.hopper import Hopper, LeadStore
from dialer.hopper.keys import CampaignKeys, GlobalKeys
from dialer.hopper_source import HopperLeadSource
from dialer.policy import ContactPolicy
from dialer.store import connect_redis

N = "+12125550177"
NY = ZoneInfo("America/New_York")
T0 = datetime(2025, 6, 3, 12, tzinfo=NY).timestamp()  # a Tuesday noon: in hours
CALL_BACK_AT = "2025-06-04T10:30:00-04:00"
_prefixes = itertools.count(1)


@contextlib.asynccontextmanager
async def rig(redis_url: str) -> AsyncIterator[tuple[Daemon, HopperLeadSource, str]]:
    """A daemon whose campaign `c` dials from a hopper (one imported lead, on another number), agents' desks
    validating dispositions as the desk does (`ScreenPopRenderer`)."""
    prefix = f"mdkeep{next(_prefixes)}"
    c = parse_campaign({"id": "c", "kind": "base_upsell", "name": "c", "caller_id_name": "Acme",
                        "caller_id_number": "+12125550100", "jurisdiction": "us"})
    client = connect_redis(redis_url)
    try:
        await LeadStore(client, prefix=prefix).import_rows(c, [{"mobile": "+12125550171", "id": "K1"}], now=T0)
        source = HopperLeadSource(Hopper(client, c, ContactPolicy(c), prefix=prefix))
        async with progressive_ami_side(redis_url, source, FakeAmi(), prefix, T0) as d:
            d.engine.screenpop = ScreenPopRenderer()
            yield d, source, prefix
    finally:
        await client.aclose()


def talk_and_hang_up_manual(d: Daemon, call_id: str, extension: str) -> None:
    """The agent's phone answers, the customer answers, talks, and hangs up: the agent is in wrap-up."""
    now = d.clock.now()
    cust = "Local/12125550177@dialer-outbound-00000007;1"
    a = {"channel": f"Local/{extension}@dialer-agent-00000001;1", "uniqueid": call_id, "linkedid": call_id}
    leg = {"dest_channel": cust, "dest_uniqueid": "pbx-9", "dest_linkedid": call_id}
    for e in (ev.Newchannel(state=ev.ChannelState.DOWN, **a), ev.Newstate(state=ev.ChannelState.UP, **a),
              ev.DialBegin(**leg, **a), ev.DialEnd(**leg, dial_status=ev.DialStatus.ANSWER, **a)):
        d.execute(d.engine.on_ami(e, now), now)
    d.execute(d.engine.on_ami(ev.Hangup(channel=cust, uniqueid="pbx-9", linkedid=call_id, cause=16), now + 60),
              now + 60)


async def test_a_callback_saved_on_a_manual_call_comes_back_to_its_agent(redis_url: str) -> None:
    async with rig(redis_url) as (d, _source, prefix):
        d.agent_command(ac.Login("bob", "1002", "c"))  # paused: a manual dial from a pause
        call_id = await d.manual_dial("bob", N)
        talk_and_hang_up_manual(d, call_id, "1002")
        assert d.engine.roster.get("bob").state is AgentState.WRAPUP
        assert d.agent_command(ac.Disposition("bob", call_id, "callback",
                                              {"callback_at": CALL_BACK_AT, "callback_owner": "mine"}))
        await d._settle_later()  # the record and the disposition reached the lead source
        [cb] = await d.own_callbacks("bob", "c")
        at = datetime.fromisoformat(CALL_BACK_AT).timestamp()
        assert (cb["number"], cb["at"]) == (N, at)
        assert [(x["lead_id"], x["kept_for"]) for x in await d.scheduled_callbacks("c")] == [(cb["lead_id"], "bob")]
        await d.store.flush()
        record = dict(await d.store.r.hgetall(f"{prefix}:call:{call_id}"))
        assert (record["lead_id"], record["kind"], record["disposition"]) == (cb["lead_id"], "manual", "callback")
        # the number is in the record's `number` alone (masked for read-only supervisors), in no id
        leaks = {k: v for k, v in record.items() if "2125550177" in v and k != "number"}
        assert leaks == {}
        assert "5550177" not in call_id


async def test_a_manual_dial_refused_after_its_lead_was_made_leaves_no_lead(redis_url: str) -> None:
    async with rig(redis_url) as (d, source, prefix):
        d.agent_command(ac.Login("a1", "1001", "c"))
        d.agent_command(ac.Ready("a1"))
        talk_and_hang_up(d, 1, campaign="c")  # a1 is in wrap-up: the engine refuses the dial, after the checks
        with pytest.raises(IllegalTransition):
            await d.manual_dial("a1", N)
        assert await d.store.r.exists(GlobalKeys(prefix).out(N)) == 0
        assert await d.store.r.zcard(CampaignKeys(prefix, "c").i) == 0
        assert [x.leads for x in await source.lists() if x.name == "(manual dial)"] == [0]


async def test_a_callback_on_a_call_without_a_lead_in_the_hopper_is_refused(redis_url: str) -> None:
    async with rig(redis_url) as (d, _source, _prefix):
        d.agent_command(ac.Login("bob", "1002", "c"))
        d.agent_command(ac.Ready("bob"))
        now = d.clock.now()
        call_id, cmds = d.engine.dial_manual("bob", N, now)  # no lead in the hopper behind it
        d.execute(cmds, now)
        talk_and_hang_up_manual(d, call_id, "1002")
        with pytest.raises(DispositionRejected, match="no lead in campaign c's hopper"):
            d.agent_command(ac.Disposition("bob", call_id, "callback",
                                           {"callback_at": CALL_BACK_AT, "callback_owner": "mine"}))
        assert d.engine.roster.get("bob").state is AgentState.WRAPUP  # still to dispose: nothing was taken
        assert d.agent_command(ac.Disposition("bob", call_id, "not_available", {}))
