"""A wallboard refresh reads a hopper campaign's paused lead lists once: the hopper's status reads them for
`lists_paused`, and the lists' figures are marked paused from that same read (read twice, a pause in
between showed a list paused in one and running in the other)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from sup_fakes import make_rig, settings

from dialer.campaigns.loader import load_campaign
from dialer.config import CampaignSettings
from dialer.hopper import Hopper, LeadStore
from dialer.policy.contact import ContactPolicy
from dialer.supervisor.context import Ctx

CAMPAIGN = Path(__file__).resolve().parents[2] / "examples" / "campaigns" / "base_upsell.toml"
T0 = dt.datetime(2026, 11, 23, 13, 0, tzinfo=ZoneInfo("America/New_York")).timestamp()


class Counting(Redis):
    """A client that keeps every command it sends, alone or in a pipeline (`seen`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[tuple[Any, ...]] = []

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        self.seen.append(args)
        return await super().execute_command(*args, **options)

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        seen = self.seen

        class Kept(Pipeline):
            def pipeline_execute_command(self, *args: Any, **options: Any) -> Any:
                seen.append(args)
                return super().pipeline_execute_command(*args, **options)

        return Kept(self.connection_pool, self.response_callbacks, transaction, shard_hint)


class HopperOnly:
    """The campaign's hopper behind the wallboard as a hopper source shows it (depth, status, lists), without
    the refills a real source's depth may start (a fill reads the paused lists for itself)."""

    def __init__(self, hopper: Hopper) -> None:
        self.hopper = hopper

    async def depth(self, now: float) -> int:
        return await self.hopper.depth()

    async def lists(self) -> Any:
        return await self.hopper.lists()


async def test_one_refresh_reads_the_paused_lists_once_and_shows_one_answer(redis):
    r = Counting(connection_pool=redis.connection_pool)
    camp = load_campaign(CAMPAIGN)
    rig = make_rig(r, cfg=settings([CampaignSettings(id=camp.id)]), start=T0)
    prefix = rig.store.prefix
    try:
        await LeadStore(r, prefix=prefix).import_rows(camp, [{"mobile": "2125550142", "id": "v1"}], now=T0 - 3600,
                                                      list_name="vendor may")
        await LeadStore(r, prefix=prefix).import_rows(camp, [{"mobile": "2125550143", "id": "d1"}], now=T0 - 3600,
                                                      list_name="demo")
        hopper = Hopper(r, camp, ContactPolicy(camp), prefix=prefix)
        await hopper.pause_list("vendor may", T0)
        rig.daemon.leads[camp.id] = HopperOnly(hopper)  # type: ignore[assignment]
        board = Ctx.build(rig.daemon).board
        r.seen.clear()
        [card] = [c for c in (await board.snapshot())["campaigns"] if c["id"] == camp.id]
        paused_key = f"{prefix}:c:{camp.id}:lpaused"
        assert [a for a in r.seen if str(a[0]).upper() == "SMEMBERS" and a[1:] == (paused_key,)] == [
            ("SMEMBERS", paused_key)]
        assert card["hopper"]["lists_paused"] == ["vendor may"]
        assert [(x["name"], x["leads"], x["paused"]) for x in card["hopper"]["lists"]] == [
            ("demo", 1, False), ("vendor may", 1, True)]
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
