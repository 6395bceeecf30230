"""An agent's manual dial marks its number out (`<prefix>:out:<e164>`, the mark a take of the hopper writes for
every number it has out) for the call's life: the dial is the take of a lead of its own (`take_manual`), so no take
of a lead with that number, in any campaign sharing the prefix, dials the person while the manual call is up. The
call's result ends the take and releases it; so does a dial refused after the mark (the agent could not dial after
all: the lead is dropped); the mark's TTL is the last resort, as for takes."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from daemon_fakes import FakeAmi, progressive_ami_side, ready_agent, talk_and_hang_up

from dialer.ami import events as ev
from dialer.campaigns import parse_campaign
from dialer.daemon import Daemon
from dialer.errors import IllegalTransition, PolicyViolation
from dialer.hopper import Hopper, LeadStore
from dialer.hopper.hopper import OUT_TTL_MARGIN_S
from dialer.hopper.keys import GlobalKeys
from dialer.hopper_source import HopperLeadSource
from dialer.policy import ContactPolicy
from dialer.store import connect_redis

N = "+12125550171"
T0 = datetime(2025, 6, 3, 12, tzinfo=ZoneInfo("America/New_York")).timestamp()  # a Tuesday noon: in hours
_prefixes = itertools.count(1)


@contextlib.asynccontextmanager
async def rig(redis_url: str) -> AsyncIterator[tuple[Daemon, HopperLeadSource, str]]:
    """A daemon whose campaign `c` dials from a hopper holding lead K1 on number N."""
    prefix = f"mdhold{next(_prefixes)}"
    c = parse_campaign({"id": "c", "kind": "base_upsell", "name": "c", "caller_id_name": "Acme",
                        "caller_id_number": "+12125550100", "jurisdiction": "us"})
    client = connect_redis(redis_url)
    try:
        await LeadStore(client, prefix=prefix).import_rows(c, [{"mobile": N, "id": "K1"}], now=T0)
        source = HopperLeadSource(Hopper(client, c, ContactPolicy(c), prefix=prefix))
        async with progressive_ami_side(redis_url, source, FakeAmi(), prefix, T0) as d:
            yield d, source, prefix
    finally:
        await client.aclose()


async def test_a_take_does_not_dial_the_number_of_a_manual_call_until_it_ends(redis_url: str) -> None:
    async with rig(redis_url) as (d, source, prefix):
        ready_agent(d, "a1", "1001", campaign="c")
        ready_agent(d, "a2", "1002", campaign="c")
        call_id = await d.manual_dial("a1", N)
        mark = GlobalKeys(prefix).out(N)
        ttl_ms = await d.store.r.pttl(mark)
        assert 0 < ttl_ms <= (source.hopper.campaign.hopper.inflight_timeout_s + OUT_TTL_MARGIN_S) * 1000
        await source.depth(T0)  # fills: K1 is callable
        assert await source.take(1, T0) == [], "the person is dialed while an agent's manual call to them is up"
        # another agent types it too
        with pytest.raises(PolicyViolation, match=r"dialed right now \(an agent's manual call in campaign c, lead "
                                                  r"manual-"):
            await d.manual_dial("a2", N)
        now = d.clock.now()
        d.execute(d.engine.on_ami(ev.OriginateFailed(call_id=call_id, error="busy here"), now), now)  # it ends
        await d._settle_later()  # the call's record reached the lead source, and ended its take
        assert await d.store.r.exists(mark) == 0
        await source.hopper.fill(T0 + 120)  # K1 waited its minute for the number
        assert [t.lead_id for t in await source.take(1, T0 + 120)] == ["K1"]


async def test_a_manual_dial_refused_after_its_check_releases_the_number(redis_url: str) -> None:
    async with rig(redis_url) as (d, source, prefix):
        ready_agent(d, "a1", "1001", campaign="c")
        talk_and_hang_up(d, 1, campaign="c")  # a1 is in wrap-up: the engine refuses the dial, after the checks
        with pytest.raises(IllegalTransition):
            await d.manual_dial("a1", N)
        assert await d.store.r.exists(GlobalKeys(prefix).out(N)) == 0
        await source.depth(T0)
        assert [t.lead_id for t in await source.take(1, T0)] == ["K1"]


async def test_a_number_a_take_marked_after_the_check_is_not_held(redis_url: str) -> None:
    async with rig(redis_url) as (_d, source, _prefix):
        await source.check_number(N, T0)  # free when checked
        await source.depth(T0)
        assert len(await source.take(1, T0)) == 1  # a predictive take of K1 comes first
        with pytest.raises(PolicyViolation, match=r"being dialed right now \(lead K1 of campaign c\)"):
            await source.take_manual(N, "a1", T0)
