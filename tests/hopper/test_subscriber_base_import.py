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


async def test_base_file_errors_name_the_file_line(redis: Redis, prefix: str, tmp_path: Path) -> None:
    """Errors name the file's line of the bad row: the header counts, and a row starts where its first
    line is (a quoted value may span lines; blank lines count too)."""
    s = store(redis, prefix)
    path = tmp_path / "base.csv"
    path.write_text("subscriber_id,mobile\nS1,+12125550123\nS2,not-a-number\n")  # the bad row is line 3
    rep = await s.import_base_file(path)
    assert rep.rejected == 1
    assert rep.errors[0].line == 3, str(rep.errors[0])
    path.write_bytes(
        b'Subscriber_ID,note,mobile\r\n'  # 1
        b'S1,"two\r\nlines",+12125550123\r\n'  # 2-3
        b'\r\n'  # 4: blank, skipped
        b',x,+12125550124\r\n'  # 5: no subscriber id
        b'S3,"a\rb",+12125550125\r'  # 6-7 (old Mac line ends)
        b'S4,y,12\r'  # 8: not a number
    )
    rep = await s.import_base_file(path)
    assert (rep.rows, rep.current, rep.rejected) == (4, 2, 2), rep
    assert [e.line for e in rep.errors] == [5, 8], rep.errors
    assert await s.subscriber_for("+12125550125") == "S3"


async def test_base_rows_from_the_api_are_numbered_from_one(redis: Redis, prefix: str) -> None:
    s = store(redis, prefix)
    rep = await s.import_base_rows([{"subscriber_id": "S1", "mobile": "+12125550123"}, {"mobile": "+12125550124"}])
    assert [e.line for e in rep.errors] == [2]
