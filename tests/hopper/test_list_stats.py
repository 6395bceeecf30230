"""What became of each list's leads (`lstats`): dials, contacts, sales, finished and remaining, for the list
that brought each lead, through fills, results, late dispositions, recycles and follow-ups."""

from __future__ import annotations

from hopper_helpers import at, campaign, hopper, row, store
from redis.asyncio import Redis

from dialer.hopper.types import LeadList
from dialer.policy import DialResult

NOW = at(2024, 5, 15, 12)  # Wednesday noon in New York
MAY = {"L0": "2125550140", "L1": "2125550141", "L2": "2125550142", "L3": "2125550143"}
JUNE = {"L4": "2125550144"}


def res(outcome: str, disposition: str | None = None) -> DialResult:
    return DialResult(outcome, disposition)  # type: ignore[arg-type]


def by_name(lists: list[LeadList]) -> dict[str, tuple[int, int, int, int, int, int]]:
    return {x.name: (x.leads, x.dials, x.contacts, x.sales, x.finished, x.remaining) for x in lists}


async def test_each_list_counts_what_became_of_the_leads_it_brought(redis: Redis, prefix: str) -> None:
    c = campaign(retry={"max_attempts_total": 2, "delays_s": {"no_answer": 60}},
                 follow_ups=[{"on": "sale", "campaign": "confirm", "next_day_at": "10:00"}])
    s = store(redis, prefix)
    await s.import_rows(c, [row(p, id=lid) for lid, p in MAY.items()], now=NOW, list_name="may")
    # L0 again in June's file: merged into May's lead, still counted for May
    await s.import_rows(c, [row(JUNE["L4"], id="L4"), row(MAY["L0"], id="L0")], now=NOW, list_name="june")
    h = hopper(redis, c, prefix)
    await h.fill(NOW)
    first = {t.lead_id: t for t in await h.take(10, NOW)}
    assert sorted(first) == ["L0", "L1", "L2", "L3", "L4"]
    await h.record_result(first["L0"], res("no_answer"), NOW)
    await h.record_result(first["L1"], res("live", "refused"), NOW)
    await h.record_result(first["L2"], res("live", "sale"), NOW)
    await h.record_result(first["L3"], res("live", "other"), NOW)  # the wrap-up ran out: a contact, finished
    await h.record_result(first["L4"], res("no_answer"), NOW)
    assert by_name(await h.lists()) == {"may": (4, 4, 3, 1, 3, 1), "june": (1, 1, 0, 0, 0, 1)}

    # the late code says someone else answered: the contact is taken back, and the lead will be called again
    await h.amend_result(first["L3"], res("live", "not_available"), NOW + 60)
    assert by_name(await h.lists())["may"] == (4, 4, 2, 1, 2, 2)

    later = NOW + 120
    await h.fill(later)
    second = {t.lead_id: t for t in await h.take(10, later)}
    assert sorted(second) == ["L0", "L4"]
    for t in second.values():
        await h.record_result(t, res("no_answer"), later)  # the second and last attempt: both capped
    assert by_name(await h.lists()) == {"may": (4, 5, 2, 1, 3, 1), "june": (1, 2, 0, 0, 1, 0)}  # L3 to retry

    raised = hopper(redis, campaign(retry={"max_attempts_total": 3}), prefix)
    assert (await raised.recycle(later + 60)).revived == 2
    assert by_name(await raised.lists()) == {"may": (4, 5, 2, 1, 2, 2), "june": (1, 2, 0, 0, 0, 1)}

    await s.add_dnc(["+1" + JUNE["L4"]])  # the fill finishes it (the FILL script's own count)
    await raised.fill(later + 60)
    assert by_name(await raised.lists())["june"] == (1, 2, 0, 0, 1, 0)

    # the sale fed the confirmation campaign: there the lead counts for the list that brought it here
    conf = hopper(redis, campaign("confirm", kind="confirmation"), prefix)
    assert by_name(await conf.lists()) == {"may": (1, 0, 0, 0, 0, 1)}


async def test_a_finished_lead_imported_again_after_the_window_is_remaining_again_for_its_list(
        redis: Redis, prefix: str) -> None:
    c = campaign(dedup={"scope": "campaign", "days": 30})
    s = store(redis, prefix)
    h = hopper(redis, c, prefix)
    await s.import_rows(c, [row(MAY["L0"], id="L0")], now=NOW, list_name="may")
    await h.fill(NOW)
    [t] = await h.take(1, NOW)
    await h.record_result(t, res("live", "refused"), NOW)
    assert by_name(await h.lists()) == {"may": (1, 1, 1, 0, 1, 0)}
    await s.import_rows(c, [row(MAY["L0"], id="L0")], now=NOW + 40 * 86400, list_name="october")
    assert by_name(await h.lists()) == {"may": (1, 1, 1, 0, 0, 1), "october": (0, 0, 0, 0, 0, 0)}
