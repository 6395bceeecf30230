"""A DNC file with several number columns (name,mobile,home) puts every number on the list, not only the
first column's: one entry per number, a `phones` column split on `;`, and each bad cell reported with its
line and column."""

from __future__ import annotations

from pathlib import Path

from hopper_helpers import at, campaign, hopper, store
from redis.asyncio import Redis

from dialer.hopper.lists import dnc_rows


async def test_every_number_column_of_a_dnc_file_is_loaded(redis: Redis, prefix: str, tmp_path: Path) -> None:
    s = store(redis, prefix)
    f = tmp_path / "dnc.csv"
    f.write_text("name,mobile,home\n"
                 "Mary Johnson,+12125550141,+12125550100\n"  # line 2
                 "Bob Smith,+13125550177,\n"                 # line 3: no home number, nothing wrong
                 "Ann Lee,junk,+13125550178\n"               # line 4: a bad mobile; the home still goes in
                 "Carl\n")                                   # line 5: no number at all
    rep = await s.import_dnc_file(f)
    assert (rep.added, rep.already, rep.rejected) == (4, 0, 2), rep
    for n in ("+12125550141", "+12125550100", "+13125550177", "+13125550178"):
        assert await s.is_dnc(n), n
    assert [(e.line, e.column) for e in rep.errors] == [(4, "2 (mobile)"), (5, "2 (mobile), 3 (home)")], rep.errors
    # and a lead known by the home number only is not dialed
    c = campaign("c1")
    await s.import_rows(c, [{"id": "x", "home": "+12125550100"}], now=at(2025, 3, 3))
    h = hopper(redis, c, prefix)
    t = at(2025, 3, 4, 12)
    await h.fill(t)
    assert await h.take(5, t) == []


def test_a_phones_column_is_split_on_semicolons_and_rows_keep_their_lines() -> None:
    got = [(r.line, r.number, r.column) for r in dnc_rows(
        'phone,"note",phones\n'
        '+12125550141,"two\nlines",+12125550142; +12125550143;\n'  # lines 2-3
        ',x,\n')]                                                      # line 4: no number
    assert got == [(2, "+12125550141", "1 (phone)"), (2, "+12125550142", "3 (phones)"),
                   (2, "+12125550143", "3 (phones)"), (4, "", "1 (phone), 3 (phones)")]


def test_a_file_without_a_header_has_one_number_per_line() -> None:
    got = [(r.line, r.number, r.column) for r in dnc_rows("2125550142\n\n(312) 555-0177,x\n")]
    assert got == [(1, "2125550142", "1"), (3, "(312) 555-0177", "1")]
