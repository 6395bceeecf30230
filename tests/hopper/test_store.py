"""LeadStore imports into Redis: per-row errors, idempotent re-import, dedup and merge, reconciliation, DNC."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hopper_helpers import at, campaign, hopper, row, store
from redis.asyncio import Redis

from dialer.campaigns import load_campaigns
from dialer.errors import LeadError
from dialer.hopper.views import text

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "campaigns"
NOW = at(2024, 5, 15, 12)
DAY = 86400.0


async def snapshot(redis: Redis, prefix: str) -> dict[str, object]:
    """Every key under the prefix with its type and content (for before/after comparisons)."""
    out: dict[str, object] = {}
    async for key in redis.scan_iter(match=f"{prefix}:*", count=1000):
        k = text(key)
        kind = text(await redis.type(key))
        if kind == "string":
            out[k] = text(await redis.get(key))
        elif kind == "hash":
            out[k] = {text(a): text(b) for a, b in (await redis.hgetall(key)).items()}
        elif kind == "set":
            out[k] = sorted(text(x) for x in await redis.smembers(key))
        elif kind == "zset":
            out[k] = [(text(m), s) for m, s in await redis.zrange(key, 0, -1, withscores=True)]
    return out


async def test_example_files_import_with_reports(redis: Redis, prefix: str) -> None:
    cs = load_campaigns(EXAMPLES)
    s = store(redis, prefix)
    base = await s.import_base_file(EXAMPLES / "leads" / "subscriber_base.csv")
    assert (base.current, base.former, base.rejected) == (3, 1, 0)
    dnc = await s.import_dnc_file(EXAMPLES / "leads" / "dnc.csv")
    assert (dnc.added, dnc.rejected) == (2, 0)
    up = await s.import_file(cs["upsell-fiber"], EXAMPLES / "leads" / "base_upsell.csv", now=NOW)
    assert (up.rows, up.new, up.rejected) == (8, 8, 0)
    wb = await s.import_file(cs["winback"], EXAMPLES / "leads" / "winback.jsonl", now=NOW)
    assert (wb.new, wb.excluded) == (5, 1)
    cold = await s.import_file(cs["cold-fiber"], EXAMPLES / "leads" / "cold.csv", now=NOW)
    assert (cold.new, cold.removed_subscribers) == (4, 1)
    assert cold.skipped[0].line == 4
    assert "current subscriber S1001" in cold.skipped[0].reason
    lead = await s.get_lead("upsell-fiber", "b-1002")
    assert lead is not None
    assert [n.e164 for n in lead.numbers] == ["+13125550177", "+13125550178"]
    assert lead.fields["tariff"] == "Internet 300"
    assert await s.lead_count("upsell-fiber") == 8


async def test_reimport_of_the_same_file_changes_nothing(redis: Redis, prefix: str, tmp_path: Path) -> None:
    c = campaign()
    f = tmp_path / "list.csv"
    f.write_text(
        "id,name,mobile,home\nA1,Ann,2125550142,\nA2,Bob,3125550177,3125550178\n,Cy,4155550123,\n"
        "A4,Di,12,\nA2,Bob,,3125550178\n"
    )
    s = store(redis, prefix)
    first = await s.import_file(c, f, now=NOW)
    assert (first.new, first.merged, first.rejected) == (3, 1, 1)
    h = hopper(redis, c, prefix)
    await h.fill(NOW)
    before = await snapshot(redis, prefix)
    again = await s.import_file(c, f, now=NOW + 3600)
    assert (again.new, again.merged, again.rearmed, again.rejected) == (0, 4, 0, 1)
    assert await snapshot(redis, prefix) == before


async def test_duplicates_merge_into_one_lead_across_imports(redis: Redis, prefix: str) -> None:
    c = campaign()
    s = store(redis, prefix)
    await s.import_rows(c, [row("2125550142", name="Ann", tariff="Internet 100")], now=NOW)
    rep = await s.import_rows(
        c, [{"home": "3125550177", "mobile": "212-555-0142", "tariff": "Internet 300"}], now=NOW + DAY, list_name="b"
    )
    assert (rep.new, rep.merged) == (0, 1)
    lead = await s.get_lead("c1", "n12125550142")
    assert lead is not None
    assert [n.e164 for n in lead.numbers] == ["+12125550142", "+13125550177"]
    assert lead.fields == {"name": "Ann", "tariff": "Internet 300"}
    assert [x.list_name for x in lead.sources] == ["api", "b"]
    # the new number now finds the same lead
    third = await s.import_rows(c, [row("+13125550177", note="x")], now=NOW + 2 * DAY)
    assert third.merged == 1
    assert await s.lead_count("c1") == 1


async def test_match_older_than_the_window_is_rearmed(redis: Redis, prefix: str) -> None:
    from dialer.policy import DialResult

    c = campaign(dedup={"scope": "campaign", "days": 30})
    s = store(redis, prefix)
    h = hopper(redis, c, prefix)
    await s.import_rows(c, [row("2125550142")], now=NOW)
    await h.fill(NOW)
    [t] = await h.take(1, NOW)
    await h.record_result(t, DialResult("live", "refused"), NOW)  # type: ignore[arg-type]
    assert (await s.lead_state("c1", t.lead_id))["fn"] == "refused"
    recent = await s.import_rows(c, [row("2125550142")], now=NOW + 10 * DAY)
    assert (recent.merged, recent.rearmed) == (1, 0)
    assert (await s.lead_state("c1", t.lead_id))["fn"] == "refused"
    later = await s.import_rows(c, [row("2125550142")], now=NOW + 40 * DAY)
    assert later.rearmed == 1
    state = await s.lead_state("c1", t.lead_id)
    assert "fn" not in state
    assert "a" not in state
    st = await h.status(NOW + 40 * DAY)
    assert st.fresh_in_hours == 1


async def test_scope_list_treats_another_list_as_a_reload(redis: Redis, prefix: str) -> None:
    c = campaign(dedup={"scope": "list", "days": 30})
    s = store(redis, prefix)
    await s.import_rows(c, [row("2125550142")], now=NOW, list_name="a")
    same = await s.import_rows(c, [row("2125550142")], now=NOW + DAY, list_name="a")
    other = await s.import_rows(c, [row("2125550142")], now=NOW + DAY, list_name="b")
    assert (same.merged, same.rearmed) == (1, 0)
    assert other.rearmed == 1


async def test_scope_all_skips_numbers_another_campaign_loaded_recently(redis: Redis, prefix: str) -> None:
    a = campaign("a")
    b = campaign("b", kind="cold", dedup={"scope": "all", "days": 30})
    s = store(redis, prefix)
    await s.import_rows(a, [row("2125550142"), row("2125550143")], now=NOW)
    rep = await s.import_rows(b, [row("2125550142"), row("2125550144")], now=NOW + DAY)
    assert (rep.new, rep.skipped_duplicates) == (1, 1)
    assert "already loaded by campaign a within 30 days" in rep.skipped[0].reason
    later = await s.import_rows(b, [row("2125550143")], now=NOW + 31 * DAY)
    assert later.new == 1


async def test_cold_list_reconciliation_counts(redis: Redis, prefix: str) -> None:
    s = store(redis, prefix)
    await s.import_base_rows(
        [
            {"subscriber_id": "S1", "mobile": "2125550142"},
            {"subscriber_id": "S2", "phones": "3125550177;3125550178"},
            {"subscriber_id": "S3", "mobile": "4155550123", "status": "former"},
            {"subscriber_id": "", "mobile": "4155550124"},
        ]
    )
    cold = campaign("cold", kind="cold")
    rows = [row("2125550142"), {"home": "3125550178"}, row("4155550123"), row("6025550190"), row("6025550190")]
    rep = await s.import_rows(cold, rows, now=NOW)
    assert (rep.removed_subscribers, rep.new, rep.merged) == (2, 2, 1)
    assert {i.line for i in rep.skipped} == {1, 2}
    off = campaign("cold2", kind="cold", cold={"reconcile_with_base": False})
    assert (await s.import_rows(off, rows[:2], now=NOW)).new == 2
    assert await s.subscriber_for("+13125550177") == "S2"
    assert await s.subscriber_for("4155550123") is None


async def test_malformed_file_keeps_good_rows_with_line_numbers(redis: Redis, prefix: str, tmp_path: Path) -> None:
    c = campaign("wb", kind="winback")
    f = tmp_path / "wb.jsonl"
    lines = [
        json.dumps({"phones": ["2125550142"], "cancel_reason": "price", "cancelled_at": "2024-03-01"}),
        "{oops",
        json.dumps({"phones": ["12"], "cancel_reason": "price", "cancelled_at": "2024-03-01"}),
        json.dumps({"phones": ["3125550177"], "cancel_reason": "price"}),
        json.dumps(
            {"phones": ["4155550123"], "cancel_reason": "price", "cancelled_at": "2024-03-01", "x": "y" * 99999}
        ),
        json.dumps({"phones": ["6025550190"], "cancel_reason": "quality", "cancelled_at": "2023-11-20"}),
    ]
    f.write_bytes(
        ("\n".join(lines[:4]) + "\n").encode() + b'{"name": "Jos\xe9"}\n' + ("\n".join(lines[4:]) + "\n").encode()
    )
    rep = await store(redis, prefix).import_file(c, f, now=NOW)
    assert rep.new == 2
    assert rep.rejected == 5
    errors = {e.line: str(e) for e in rep.errors}
    assert set(errors) == {2, 3, 4, 5, 6}
    assert "not valid JSON" in errors[2]
    assert "no valid phone number" in errors[3]
    assert "cancelled_at: required value is missing" in errors[4]
    assert "does not decode" in errors[5]
    assert "over the 65536 limit" in errors[6]


async def test_missing_columns_stop_the_import_before_any_write(redis: Redis, prefix: str, tmp_path: Path) -> None:
    f = tmp_path / "wb.csv"
    f.write_text("name,mobile\nAnn,2125550142\n")
    with pytest.raises(LeadError, match=r"missing required column\(s\) cancel_reason, cancelled_at"):
        await store(redis, prefix).import_file(campaign("wb", kind="winback"), f, now=NOW)
    assert await snapshot(redis, prefix) == {}
    with pytest.raises(LeadError, match="cannot open"):
        await store(redis, prefix).import_file(campaign(), tmp_path / "nope.csv", now=NOW)


async def test_large_import_streams_in_chunks(redis: Redis, prefix: str, tmp_path: Path) -> None:
    from dialer.leads.demo import synth_leads

    c = campaign()
    leads = list(synth_leads(c, 1200, 9, NOW))
    f = tmp_path / "big.csv"
    body = "".join(f"{i},{lead.numbers[0].e164},{lead.fields['name']}\n" for i, lead in enumerate(leads))
    f.write_text("id,mobile,name\n" + body + "x,garbage,Bad\n")
    rep = await store(redis, prefix, chunk=100).import_file(c, f, now=NOW)
    assert (rep.rows, rep.new, rep.rejected) == (1201, 1200, 1)
    assert rep.errors[0].line == 1202
    assert await store(redis, prefix).lead_count("c1") == 1200


async def test_a_dnc_file_is_read_with_csv_quoting_and_rows_keep_their_lines(redis: Redis, prefix: str,
                                                                             tmp_path: Path) -> None:
    # the same reader as `dialer dnc import` (dialer.hopper.lists.dnc_rows): the server took the file's
    # rows line by line, so a quoted line break split a row and shifted the lines after it
    s = store(redis, prefix)
    f = tmp_path / "dnc.csv"
    f.write_text('name,number\n"Doe, Jane",+12125550142\n"Smith,\nAl",not a phone\nDee,+12125550144\nCarl\n')
    rep = await s.import_dnc_file(f)
    assert (rep.added, rep.rejected) == (2, 2)
    assert [e.line for e in rep.errors] == [3, 6]
    assert await s.is_dnc("+12125550144")


async def test_dnc_lists_and_suppression_subjects(redis: Redis, prefix: str, tmp_path: Path) -> None:
    s = store(redis, prefix)
    f = tmp_path / "dnc.txt"
    f.write_text("2125550142\n\n(312) 555-0177\nnot-a-number\n2125550142\n")
    rep = await s.import_dnc_file(f)
    assert (rep.added, rep.already, rep.rejected) == (2, 1, 1)
    assert rep.errors[0].line == 4
    assert await s.is_dnc("+12125550142")
    assert not await s.is_dnc("+14155550123")
    await s.add_dnc(["4155550123"], campaign_id="c1")
    assert not await s.is_dnc("4155550123")
    assert await s.is_dnc("4155550123", campaign_id="c1")
    await s.suppress("subscriber:S1", "trouble_ticket", None)
    await s.suppress("subscriber:S1", "bill_shock", NOW + 60)
    await s.suppress("subscriber:S1", "bill_shock", NOW + 30)  # a shorter signal never shortens
    assert await s.suppressions("subscriber:S1") == {"trouble_ticket": float("inf"), "bill_shock": NOW + 60}
    await s.unsuppress("subscriber:S1", "trouble_ticket")
    assert set(await s.suppressions("subscriber:S1")) == {"bill_shock"}
    for bad in ("S1", "user:S1", "number:2125550142", "lead:only-one-part"):
        with pytest.raises(LeadError, match="suppression subject"):
            await s.suppress(bad, "trouble_ticket", None)
    with pytest.raises(LeadError, match="suppression kind 'outage' is not one of"):
        await s.suppress("area:NY01", "outage", None)


async def test_signals_from_mqtt_or_api_apply_and_lift(redis: Redis, prefix: str) -> None:
    from dialer.policy import parse_signal

    s = store(redis, prefix)
    c = campaign()
    await s.import_rows(c, [row("2125550142", subscriber_id="S1")], now=NOW)
    h = hopper(redis, c, prefix)
    await s.apply_signal(parse_signal(b'{"subject": "subscriber:S1", "kind": "trouble_ticket"}', NOW))
    await h.fill(NOW)
    assert await h.take(1, NOW) == []
    await s.apply_signal(parse_signal('{"subject": "subscriber:S1", "kind": "trouble_ticket", "action": "lift"}', NOW))
    assert await s.suppressions("subscriber:S1") == {}
    await h.fill(NOW + 3600)
    assert len(await h.take(1, NOW + 3600)) == 1
