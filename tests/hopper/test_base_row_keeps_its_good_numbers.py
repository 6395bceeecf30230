"""A subscriber-base row with one bad number keeps its good ones: the whole subscriber was dropped, so a
cold import then inserted the subscriber's valid mobile as a prospect. Each bad number is reported with its
line and column; a row is rejected only when none of its numbers is valid."""

from __future__ import annotations

from pathlib import Path

from hopper_helpers import at, campaign, store
from redis.asyncio import Redis


async def test_a_bad_home_number_keeps_the_subscribers_mobile(redis: Redis, prefix: str) -> None:
    s = store(redis, prefix)
    rep = await s.import_base_rows([{"subscriber_id": "S1", "mobile": "+12125550142", "home": "555-0100"}])
    assert (rep.rows, rep.current, rep.rejected) == (1, 1, 0), rep
    assert [(e.line, e.column) for e in rep.errors] == [(1, "home")], rep.errors
    assert "'555-0100'" in rep.errors[0].reason
    assert await s.subscriber_for("+12125550142") == "S1"
    cold = campaign("cold1", kind="cold", require_consent=False)
    got = await s.import_rows(cold, [{"phone": "+12125550142"}], now=at(2025, 3, 3))
    assert (got.new, got.removed_subscribers) == (0, 1), got.summary()


async def test_bad_numbers_in_a_file_name_line_and_column(redis: Redis, prefix: str, tmp_path: Path) -> None:
    s = store(redis, prefix)
    f = tmp_path / "base.csv"
    f.write_text("subscriber_id,mobile,phones\n"
                 "S1,+12125550142,+12125550143;12;+12125550144\n"  # line 2: one bad number among phones
                 "S2,junk,x\n")                                   # line 3: no valid number: rejected
    rep = await s.import_base_file(f)
    assert (rep.current, rep.rejected) == (1, 1), rep
    assert [(e.line, e.column) for e in rep.errors] == [(2, "phones"), (3, None)], rep.errors
    assert "mobile: 'junk'" in rep.errors[1].reason, rep.errors[1]
    assert "phones: 'x'" in rep.errors[1].reason, rep.errors[1]
    for n in ("+12125550142", "+12125550143", "+12125550144"):
        assert await s.subscriber_for(n) == "S1", n
