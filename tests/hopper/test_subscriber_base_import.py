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


async def test_former_row_does_not_remove_a_number_now_held_by_a_current_subscriber(redis: Redis, prefix: str) -> None:
    """A recycled number: S-old left (former) and the number now belongs to S-new (current). The former row
    removes the number only while it is still S-old's, whatever the order of the rows, and says why not."""
    s = store(redis, prefix)
    rep = await s.import_base_rows([
        {"subscriber_id": "S-new", "mobile": "+12125550123", "status": "current"},
        {"subscriber_id": "S-old", "mobile": "+12125550123", "status": "former"},
    ])
    assert await s.subscriber_for("+12125550123") == "S-new"
    assert (rep.current, rep.former, rep.former_held) == (1, 1, 1), rep
    assert [i.line for i in rep.skipped] == [2]
    assert "+12125550123 now belongs to subscriber S-new" in rep.skipped[0].reason


async def test_former_row_removes_its_own_numbers_only(redis: Redis, prefix: str) -> None:
    s = store(redis, prefix)
    await s.import_base_rows([
        {"subscriber_id": "S1", "phones": "+12125550123;+12125550124"},
        {"subscriber_id": "S2", "mobile": "+12125550125"},
    ])
    rep = await s.import_base_rows([
        {"subscriber_id": "S1", "phones": "+12125550123;+12125550125;+12125550126", "status": "former"},
        {"subscriber_id": "S1", "mobile": "+12125550124", "status": "former"},
    ])
    assert (rep.former, rep.former_held, [i.line for i in rep.skipped]) == (2, 1, [1]), rep
    assert await s.subscriber_for("+12125550123") is None
    assert await s.subscriber_for("+12125550124") is None
    assert await s.subscriber_for("+12125550125") == "S2"  # not S1's: kept
    again = await s.import_base_rows([{"subscriber_id": "S1", "mobile": "+12125550123", "status": "former"}])
    assert (again.former, again.former_held, again.skipped) == (1, 0, ())  # loading twice is harmless
