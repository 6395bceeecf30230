"""Two subscribers sharing a household number (a home landline) are two people: rows carrying different
explicit lead ids or different subscriber ids are not folded into one lead because a number is shared, in
one file or across imports. Each keeps its own lead (the one-take-per-number mark stops double dialing) and
the import warns, naming both. Rows without an id of their own still fold by a shared number."""

from __future__ import annotations

from hopper_helpers import at, campaign, hopper, store
from redis.asyncio import Redis

HOME, MARY, PETER = "+12125550100", "+12125550141", "+12125550142"
T0 = at(2025, 3, 3, 12)
ROWS = [
    {"id": "b-1", "subscriber_id": "S1", "name": "Mary", "mobile": MARY, "home": HOME, "tariff": "Internet 100"},
    {"id": "b-2", "subscriber_id": "S2", "name": "Peter", "mobile": PETER, "home": HOME, "tariff": "TV Basic"},
]


async def test_two_subscribers_in_one_file_keep_their_own_leads(redis: Redis, prefix: str) -> None:
    c = campaign("c1")
    s = store(redis, prefix)
    rep = await s.import_rows(c, ROWS, now=T0)
    assert (rep.new, rep.merged) == (2, 0)
    [warning] = rep.warnings
    assert warning.line == 2
    assert warning.reason == ("+12125550100 is also the number of lead b-1 (subscriber S1) on line 1, another "
                              "person: kept as a separate lead b-2")
    mary, peter = await s.get_lead("c1", "b-1"), await s.get_lead("c1", "b-2")
    assert mary is not None
    assert peter is not None
    assert (mary.subscriber_id, mary.fields["name"], mary.fields["tariff"]) == ("S1", "Mary", "Internet 100")
    assert (peter.subscriber_id, peter.fields["name"], [n.e164 for n in peter.numbers]) == ("S2", "Peter",
                                                                                             [PETER, HOME])
    # the same file again changes nothing
    again = await s.import_rows(c, ROWS, now=T0 + 60)
    assert (again.new, again.merged) == (0, 2)
    assert await s.lead_count("c1") == 2


async def test_a_second_subscriber_in_a_later_import_gets_a_lead(redis: Redis, prefix: str) -> None:
    c = campaign("c1")
    s = store(redis, prefix)
    await s.import_rows(c, ROWS[:1], now=T0)
    rep = await s.import_rows(c, ROWS[1:], now=T0 + 60)
    assert (rep.new, rep.merged) == (1, 0)
    [warning] = rep.warnings
    assert warning.reason == ("+12125550100 is also the number of lead b-1 (subscriber S1), another person: "
                              "kept as a separate lead b-2")
    mary, peter = await s.get_lead("c1", "b-1"), await s.get_lead("c1", "b-2")
    assert mary is not None
    assert (mary.fields["name"], [n.e164 for n in mary.numbers]) == ("Mary", [MARY, HOME])
    assert peter is not None
    assert peter.subscriber_id == "S2"


async def test_different_ids_without_accounts_are_two_people(redis: Redis, prefix: str) -> None:
    c = campaign("c1")
    s = store(redis, prefix)
    rows = [{"id": "x-1", "mobile": MARY, "home": HOME}, {"id": "x-2", "mobile": PETER, "home": HOME}]
    rep = await s.import_rows(c, rows, now=T0)
    assert (rep.new, len(rep.warnings)) == (2, 1)


async def test_the_shared_number_is_dialed_once_at_a_time(redis: Redis, prefix: str) -> None:
    c = campaign("c1")
    s = store(redis, prefix)
    h = hopper(redis, c, prefix)
    await s.import_rows(c, [{"id": "b-1", "subscriber_id": "S1", "home": HOME},
                            {"id": "b-2", "subscriber_id": "S2", "home": HOME}], now=T0)
    t = at(2025, 3, 4, 12)
    await h.fill(t)
    taken = await h.take(5, t)
    assert [x.number_e164 for x in taken] == [HOME]


async def test_rows_without_ids_of_their_own_still_fold_by_a_shared_number(redis: Redis, prefix: str) -> None:
    c = campaign("c1")
    s = store(redis, prefix)
    rep = await s.import_rows(c, [{"mobile": MARY, "home": HOME}, {"mobile": PETER, "home": HOME}], now=T0)
    assert (rep.new, rep.merged, rep.warnings) == (1, 1, ())
    rep = await s.import_rows(c, [{"id": "s-9", "subscriber_id": "S9", "home": HOME}], now=T0 + 60)
    assert (rep.new, rep.merged) == (0, 1)  # the stored lead has no account, no id of its own: the same person
