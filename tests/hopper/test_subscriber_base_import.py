"""The operator's subscriber base (cold-list reconciliation), loaded with LeadStore.import_base_file and
import_base_rows."""

from __future__ import annotations

from pathlib import Path

from hopper_helpers import store
from redis.asyncio import Redis


async def test_base_file_with_utf8_bom_keeps_status(redis: Redis, prefix: str, tmp_path: Path) -> None:
    """Excel's "CSV UTF-8" starts with a byte-order mark; it must not become part of the first header
    (a former subscriber would then be loaded as current)."""
    s = store(redis, prefix)
    path = tmp_path / "base.csv"
    path.write_bytes("status,subscriber_id,mobile\r\nformer,S1,+12125550123\r\n".encode("utf-8-sig"))
    await s.import_base_rows([{"subscriber_id": "S1", "mobile": "+12125550123"}])
    rep = await s.import_base_file(path)
    assert (rep.former, rep.current, rep.rejected) == (1, 0, 0), rep
    assert await s.subscriber_for("+12125550123") is None
