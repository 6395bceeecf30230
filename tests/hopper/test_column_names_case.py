"""Column names a campaign file gives are matched against the file's header the way the readers read it
(stripped, lower-cased): `region_column = "State"` for a file whose header says "State" must read the region."""

from __future__ import annotations

from pathlib import Path

from hopper_helpers import at, campaign, store
from redis.asyncio import Redis

ROWS = "Mobile,State,ARPU,Plan\n+12125550123,FL,10,Basic\n+12125550124,FL,99,Pro\n"


async def test_region_column_named_as_in_the_file_header(redis: Redis, prefix: str, tmp_path: Path) -> None:
    c = campaign("c1", leads={"region_column": "State"},
                 calling_hours={"regions": {"US-FL": {"window": "09:00-20:00"}}})
    path = tmp_path / "list.csv"
    path.write_text(ROWS)
    s = store(redis, prefix)
    rep = await s.import_file(c, path, now=at(2025, 6, 3, 12))
    assert (rep.new, rep.errors, rep.warnings) == (2, (), ()), rep
    lead = await s.get_lead("c1", "n12125550123")
    assert lead is not None
    assert lead.region == "US-FL", f"address region lost: {lead.region!r}"


async def test_other_configured_columns_named_as_in_the_header(redis: Redis, prefix: str, tmp_path: Path) -> None:
    c = campaign("c1", order_by=" ARPU ", leads={"required": ["Plan"], "timezone_by": {
        "field": "State", "zones": {"FL": "America/Chicago"}}})
    path = tmp_path / "list.csv"
    path.write_text(ROWS)
    s = store(redis, prefix)
    rep = await s.import_file(c, path, now=at(2025, 6, 3, 12))
    assert (rep.new, rep.errors) == (2, ()), rep
    low, high = await s.get_lead("c1", "n12125550123"), await s.get_lead("c1", "n12125550124")
    assert low is not None
    assert high is not None
    assert high.rank < low.rank  # ARPU 99 first
    assert low.timezone == "America/Chicago"
