"""Reports: per-agent shift, funnel, reasons, attempts, compliance, cost; JSON, CSV and SVG."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sup_fakes import AUTH, TOKENS, bare_record, cli_runner, live_server, record

from dialer.engine.commands import DispositionMade
from dialer.http import build_app
from dialer.supervisor import reports as rp
from dialer.supervisor.records import lead_pseudonym
from dialer.supervisor.tally import local_midnight

RO = AUTH["read-only"]


def disp(call_id, code, at, agent="a1", **fields):
    return DispositionMade(call_id=call_id, agent_id=agent, code=code, fields=fields, script_path=(), at=at)


@pytest.fixture
async def day(rig):
    """A small recorded morning: two agents, a sale confirmed and dispatched by the follow-up campaign,
    refusals with reasons, an abandon, machines and no-answers, a lead dialed eight times."""
    t0 = local_midnight(rig.clock.now()) + 9 * 3600
    s = rig.store
    recs = [
        record("c1", ended_at=t0 + 300, agent="a1", lead="L1", talk=200),
        record("c2", ended_at=t0 + 600, agent="a1", lead="L2", talk=100),
        record("c3", ended_at=t0 + 900, agent="a2", lead="L3", talk=60),
        record("c4", ended_at=t0 + 1000, agent="a2", lead="L4", talk=30),
        record("c5", ended_at=t0 + 1100, outcome="abandoned", abandoned=True, lead="L5", talk=None),
        record("c6", ended_at=t0 + 1200, outcome="machine", live=False, lead="L6"),
        *[record(f"n{i}", ended_at=t0 + 1300 + i, outcome="no_answer", live=False, lead="L7", attempt=i + 1)
          for i in range(8)],
    ]
    for r in recs:
        s.append_call_record(r)
    s.add_disposition(disp("c1", "sale", t0 + 330, cancel_reason="price"))
    s.add_disposition(disp("c2", "refused", t0 + 620, reason="too expensive", cancel_reason="price"))
    s.add_disposition(disp("c3", "refused", t0 + 940, agent="a2", reason="happy with current", cancel_reason="moved"))
    s.add_disposition(disp("c4", "wrong_number", t0 + 1010, agent="a2"))
    # the follow-up campaign confirms L1's order the same day
    s.append_call_record(record("f1", campaign="confirm", ended_at=t0 + 3000, agent="a3", lead="L1", talk=40))
    s.add_disposition(disp("f1", "confirmed", t0 + 3010, agent="a3", dispatched="yes"))
    # a journal written before the daemon journaled `talking` (login -> paused, ready, wrap-up...): the fallback
    journal = [("a1", "paused", t0 - 600, ""), ("a1", "ready", t0 - 300, ""), ("a1", "wrapup", t0 + 300, ""),
               ("a1", "ready", t0 + 330, ""), ("a1", "paused", t0 + 1800, "lunch"), ("a1", "logged_out", t0 + 2400, "")]
    for agent, state, at, reason in journal:
        await s.r.xadd(s.key("agent_states"), {"agent_id": agent, "campaign": "upsell", "state": state,
                                               "at": str(at), "reason": reason})
    await rig.flush()
    return t0


async def get(client, kind, **params):
    params.setdefault("since", 0)
    r = await client.get(f"/api/reports/{kind}", headers=RO, params=params)
    assert r.status_code == 200, r.text
    return r


async def test_agent_shift_report_uses_the_journal_where_there_is_one(client, day):
    rows = {r["agent"]: r for r in (await get(client, "agents", campaign="upsell")).json()["report"]}
    a1, a2 = rows["a1"], rows["a2"]
    assert (a1["contacts"], a1["sales"], a1["talk_s"], a1["time_source"]) == (2, 1, 300.0, "journal")
    assert (a1["logged_in_s"], a1["pause_s"], a1["wrap_s"]) == (3000.0, 900.0, 30.0)
    assert a1["wait_s"] == pytest.approx(3000 - 900 - 30 - 300)  # ready time less the records' talk
    assert a1["contacts_per_hour"] == pytest.approx(2 / (3000 / 3600), abs=0.01)
    assert a1["goal_pct"] == pytest.approx(100 * a1["contacts_per_hour"] / 15, abs=0.1)
    assert (a2["time_source"], a2["wait_s"], a2["pause_s"], a2["contacts"]) == ("calls", None, None, 2)


async def test_a_late_disposition_counts_its_sale_but_not_its_delay_as_wrap_up(client, rig):
    t0 = local_midnight(rig.clock.now()) + 10 * 3600
    s = rig.store
    s.append_call_record(record("z1", ended_at=t0, agent="a9", lead="Z1", talk=120))
    s.add_disposition(disp("z1", "no_disposition", t0 + 120, agent="a9", auto="wrapup_timeout"))
    s.add_disposition(DispositionMade(call_id="z1", agent_id="a9", code="sale", fields={}, script_path=(),
                                      at=t0 + 700, amends="no_disposition"))
    await rig.flush()
    [row] = [r for r in (await get(client, "agents", campaign="upsell")).json()["report"] if r["agent"] == "a9"]
    assert (row["sales"], row["wrap_s"], row["time_source"]) == (1, 120.0, "calls")


async def test_funnel_follows_the_sale_to_the_dispatched_order(client, day):
    stages = {r["stage"]: r["count"] for r in (await get(client, "funnel", campaign="upsell")).json()["report"]}
    assert stages == {"dialed": 14, "live_answer": 5, "right_person": 3, "interested": 1, "sale": 1,
                      "confirmed": 1, "dispatched": 1}


async def test_reasons_and_conversion_by_cancel_reason(client, day):
    rep = (await get(client, "reasons", campaign="upsell")).json()["report"]
    assert {r["reason"]: r["count"] for r in rep["refusals"]} == {"too expensive": 1, "happy with current": 1}
    conv = {r["cancel_reason"]: (r["contacts"], r["sales"]) for r in rep["cancel_reasons"]}
    assert conv == {"price": (2, 1), "moved": (1, 0), "(none)": (1, 0)}


async def test_attempts_histogram_flags_pestered_leads(client, day):
    rep = (await get(client, "attempts", campaign="upsell", flag_over=6)).json()["report"]
    assert {h["attempts"]: h["leads"] for h in rep["histogram"]} == {1: 6, 8: 1}
    assert rep["flagged"] == [{"campaign_id": "upsell", "lead_id": lead_pseudonym("L7"), "attempts": 8}]  # read-only
    sup = await client.get("/api/reports/attempts", headers=AUTH["supervisor"],
                           params={"since": 0, "campaign": "upsell", "flag_over": 6})
    assert sup.json()["report"]["flagged"] == [{"campaign_id": "upsell", "lead_id": "L7", "attempts": 8}]


async def test_compliance_and_cost(client, day):
    [c] = (await get(client, "compliance", campaign="upsell")).json()["report"]
    assert (c["live"], c["abandoned"], c["rate"], c["worst_24h"]) == (5, 1, 0.2, 0.2)
    assert c["days_over_cap"] == [c["days"][0]["day"]]
    cost = (await get(client, "cost", campaign="upsell", cost_per_minute=0.02, cost_per_agent_hour=12)).json()
    rep = cost["report"]
    assert (rep["contacts"], rep["sales"]) == (4, 1)
    assert rep["agent_hours"] == pytest.approx((3000 + 163) / 3600, abs=0.01)  # a1 journal, a2 call span
    assert rep["cost_per_sale"] == pytest.approx(rep["total_cost"], abs=0.01)
    assert rep["cost_per_contact"] == pytest.approx(rep["total_cost"] / 4, abs=0.01)


async def test_compliance_shows_the_machines_agents_heard_and_the_strict_rate(client, rig, day):
    # AMD off: two answers the agent found to be answering machines (the default set's `machine` code)
    for i in range(2):
        rig.store.append_call_record(record(f"m{i}", ended_at=day + 1400 + i, lead=f"LM{i}", talk=6))
        rig.store.add_disposition(disp(f"m{i}", "machine", day + 1410 + i))
    await rig.flush()
    [c] = (await get(client, "compliance", campaign="upsell")).json()["report"]
    # 7 live answers, 1 abandoned: the rate over all of them is Ofcom's reasoned estimate ...
    assert (c["live"], c["abandoned"], c["connected"], c["machines_at_agents"]) == (7, 1, 6, 2)
    assert c["rate"] == pytest.approx(1 / 7)
    # ... the same as the abandons less the machines' share m, over the people connected plus those
    m = c["machine_share"]
    assert m == pytest.approx(2 / 6)
    assert c["rate"] == pytest.approx(1 * (1 - m) / (4 + 1 * (1 - m)))
    # and beside it the strict count: every abandon a person, the machines out of the live answers
    assert c["rate_strict"] == pytest.approx(1 / 5)


def test_compliance_counts_a_machine_only_among_connected_calls():
    recs = [bare_record(campaign_id="c", call_id="x", human_at=1.0, ended_at=2.0, abandoned=True),
            bare_record(campaign_id="c", call_id="y", human_at=1.0, ended_at=3.0, abandoned=False)]
    [c] = rp.abandon_compliance(recs, machines={"x", "y"})
    assert (c["connected"], c["machines_at_agents"], c["machine_share"], c["rate_strict"]) == (1, 1, 1.0, 1.0)
    [c] = rp.abandon_compliance(recs[:1])
    assert (c["connected"], c["machine_share"], c["rate_strict"]) == (0, None, 1.0)


async def test_pauses_by_reason_over_everyone_and_per_agent(client, day):
    rep = (await get(client, "pauses", campaign="upsell")).json()["report"]
    assert rep["by_reason"] == [
        {"reason": "lunch", "label": "Lunch", "pauses": 1, "pause_s": 600.0, "share": pytest.approx(600 / 900),
         "agents": 1},
        {"reason": "unspecified", "label": "unspecified", "pauses": 1, "pause_s": 300.0,
         "share": pytest.approx(300 / 900), "agents": 1}]
    assert [(r["agent"], r["reason"], r["pauses"], r["mean_s"]) for r in rep["by_agent"]] == [
        ("a1", "lunch", 1, 600.0), ("a1", "unspecified", 1, 300.0)]
    rows = list(csv.DictReader(io.StringIO((await get(client, "pauses", format="csv")).text)))
    assert [(x["table"], x["reason"], x["pause_s"]) for x in rows] == [
        ("by_reason", "lunch", "600"), ("by_reason", "unspecified", "300"),
        ("by_agent", "lunch", "600"), ("by_agent", "unspecified", "300")]


def test_a_pause_lasts_until_the_agents_next_state_and_a_new_reason_is_a_new_pause():
    t = 1_700_000_000.0
    j = [("a", "paused", 0, "break"), ("a", "paused", 100, "break"),  # journaled again: the same pause
         ("a", "paused", 200, "wrapup_timeout"), ("a", "ready", 260, ""),
         ("b", "paused", 50, ""), ("a", "paused", 400, "break")]
    journal = [rp.JournalEntry(a, s, t + dt, r) for a, s, dt, r in j]
    got = rp.pause_breakdown(journal, t + 500, {"break": "Break", "wrapup_timeout": "wrap-up ran out"})
    assert [(r["reason"], r["label"], r["pauses"], r["pause_s"], r["agents"]) for r in got["by_reason"]] == [
        ("unspecified", "unspecified", 1, 450.0, 1), ("break", "Break", 2, 300.0, 1),
        ("wrapup_timeout", "wrap-up ran out", 1, 60.0, 1)]
    assert [(r["agent"], r["reason"], r["pauses"], r["mean_s"]) for r in got["by_agent"]] == [
        ("a", "break", 2, 150.0), ("a", "wrapup_timeout", 1, 60.0), ("b", "unspecified", 1, 450.0)]
    assert sum(r["share"] for r in got["by_reason"]) == pytest.approx(1.0)
    assert rp.pause_breakdown([], t, {}) == {"by_reason": [], "by_agent": []}


def test_callbacks_are_judged_by_how_late_after_the_promised_time_they_were_called():
    def cb(cid, late, owner=None, outcome="connected", agent="a1", campaign="upsell"):
        r = record(cid, ended_at=10_000.0, outcome=outcome, agent=agent, campaign=campaign, live=outcome == "connected")
        return replace(r, callback_at=r.created_at - late, callback_for=owner)

    recs = [cb("c1", 30, owner="a1"), cb("c2", 600, owner="a1", agent="a2"), cb("c3", 7200, outcome="no_answer"),
            cb("c4", 120, owner="a3", outcome="abandoned"), cb("w1", 0, campaign="winback"),
            record("p1", ended_at=9_000.0)]  # not a callback
    got = rp.callback_punctuality(recs)
    [up, wb] = got["by_campaign"]
    assert (up["campaign"], up["dialed"], up["within_5min"], up["within_15min"], up["within_1h"], up["later"]) == (
        "upsell", 4, 2, 1, 0, 1)
    assert (up["on_time_share"], up["median_late_s"], up["p90_late_s"], up["reached"]) == (0.5, 120, 7200, 2)
    assert (wb["dialed"], wb["on_time_share"], wb["reached_share"]) == (1, 1.0, 1.0)
    assert [(a["agent"], a["dialed"], a["reached"], a["reached_by_them"], a["reached_by_others"])
            for a in got["by_agent"]] == [("a1", 2, 2, 1, 1), ("a3", 1, 0, 0, 0)]
    assert rp.callback_punctuality([]) == {"by_campaign": [], "by_agent": []}


async def test_the_callbacks_report_reads_the_promised_time_from_the_call_records(client, rig, day):
    late = record("cb1", ended_at=day + 4000, agent="a2", lead="L9")
    rig.record(replace(late, callback_at=late.created_at - 900, callback_for="a2"))
    await rig.flush()
    rep = (await get(client, "callbacks", campaign="upsell")).json()["report"]
    assert [(r["campaign"], r["dialed"], r["within_15min"], r["median_late_s"]) for r in rep["by_campaign"]] == [
        ("upsell", 1, 1, pytest.approx(900.0))]
    assert [(r["agent"], r["reached_by_them"]) for r in rep["by_agent"]] == [("a2", 1)]


def test_dials_are_grouped_by_the_called_persons_local_hour():
    noon_ny = datetime(2026, 11, 23, 12, tzinfo=ZoneInfo("America/New_York")).timestamp()

    def at(cid, created, zone, **kw):
        r = record(cid, ended_at=created + 200, **kw)
        return replace(r, created_at=created, zone=zone)

    recs = [at("a", noon_ny, "America/New_York"), at("b", noon_ny + 60, "America/New_York", outcome="machine",
                                                     live=False),
            at("c", noon_ny, "America/Los_Angeles", outcome="abandoned", abandoned=True, agent=None),
            at("d", noon_ny, None), at("e", noon_ny, "Not/AZone")]
    got = rp.local_hours(recs)
    assert got["without_zone"] == 2
    assert [(h["hour"], h["dials"], h["persons"], h["machines"], h["contacts"], h["abandoned"])
            for h in got["hours"]] == [(9, 1, 1, 0, 0, 1), (12, 2, 1, 1, 1, 0)]
    nine, twelve = got["hours"]
    assert (twelve["person_share"], twelve["contact_rate"], nine["abandon_rate"]) == (0.5, 0.5, 1.0)


def test_each_lead_list_shows_what_it_brought():
    def rec(cid, lead_list, kind="predictive", **kw):
        return replace(record(cid, ended_at=1_800_000_000.0, **kw), lead_list=lead_list, kind=kind)

    recs = [rec("a", "nov-base"), rec("b", "nov-base"), rec("c", "nov-base", outcome="no_answer", live=False),
            rec("d", "cold-q4", outcome="abandoned", abandoned=True, agent=None), rec("e", "cold-q4"),
            rec("f", None, kind="manual"), rec("g", None)]
    disps = {"a": rp.Disp("a", "a1", "sale", 0.0, {}), "b": rp.Disp("b", "a1", "refused", 0.0, {}),
             "e": rp.Disp("e", "a1", "sale", 0.0, {}), "f": rp.Disp("f", "a1", "sale", 0.0, {})}
    got = {r["list"]: r for r in rp.list_results(recs, disps)}
    assert list(got) == ["cold-q4", "nov-base", rp.UNKNOWN_LIST, rp.MANUAL_LIST]
    base, cold = got["nov-base"], got["cold-q4"]
    assert (base["dials"], base["persons"], base["contacts"], base["sales"], base["abandoned"]) == (3, 2, 2, 1, 0)
    assert (base["conversion"], base["dials_per_contact"]) == (0.5, 1.5)
    assert (cold["dials"], cold["persons"], cold["contacts"], cold["sales"], cold["abandon_rate"]) == (2, 2, 1, 1, 0.5)
    assert (got[rp.MANUAL_LIST]["sales"], got[rp.UNKNOWN_LIST]["sales"]) == (1, 0)
    assert {r["campaign"] for r in got.values()} == {"upsell"}


async def test_the_lists_report_reads_the_list_from_the_call_records(client, rig, day):
    rig.record(replace(record("l1", ended_at=day + 4000, agent="a2", lead="L9"), lead_list="winback-oct"))
    await rig.flush()
    rows = (await get(client, "lists", campaign="upsell")).json()["report"]
    assert [(r["list"], r["dials"]) for r in rows] == [("winback-oct", 1), (rp.UNKNOWN_LIST, 14)]


async def test_csv_and_svg(client, day):
    r = await get(client, "agents", campaign="upsell", format="csv")
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [x["agent"] for x in rows] == ["a1", "a2"]
    assert rows[1]["pause_s"] == ""
    for kind in ("agents", "pauses", "callbacks", "hours", "lists", "funnel", "reasons", "attempts", "compliance",
                 "cost"):
        svg = (await get(client, kind, campaign="upsell", format="svg")).text
        root = ET.fromstring(svg)
        assert root.tag.endswith("svg")
        assert len(root) > 2


async def test_report_errors(client, rig):
    assert (await client.get("/api/reports/payroll", headers=RO)).status_code == 422
    assert (await client.get("/api/reports/funnel?campaign=nope", headers=RO)).status_code == 404
    r = await client.get("/api/reports/funnel?since=100&until=50", headers=RO)
    assert r.status_code == 422
    assert "must be after" in r.json()["detail"]
    assert (await client.get("/api/reports/funnel?format=pdf", headers=RO)).status_code == 422
    assert (await client.get("/api/reports/funnel")).status_code == 401
    empty = (await client.get("/api/reports/funnel", headers=RO)).json()["report"]
    assert empty[0] == {"stage": "dialed", "count": 0, "of_previous": None, "of_dialed": None}


def test_journal_times_split_by_day_and_close_at_until():
    t = 1_700_000_000.0
    times = rp.journal_times([rp.JournalEntry("a", "ready", t), rp.JournalEntry("a", "paused", t + 60)],
                             until=t + 100)
    [(key, states)] = times.items()
    assert key[0] == "a"
    assert states == {"ready": 60.0, "paused": 40.0}


def test_agent_shift_from_a_journal_with_talking_entries_does_not_take_talk_out_twice():
    t = 1_700_000_000.0
    rec = bare_record(call_id="c1", agent_id="a", connected_at=t + 60, ended_at=t + 160, talk_s=100.0,
                      outcome="connected", human_at=t + 60)
    journal = [rp.JournalEntry("a", s, t + dt) for s, dt in
               (("ready", 0), ("dialing", 50), ("talking", 60), ("wrapup", 160), ("ready", 190))]
    [row] = rp.agent_shifts([rec], {}, journal, until=t + 300)
    assert (row["talk_s"], row["wait_s"], row["wrap_s"], row["logged_in_s"]) == (100.0, 170.0, 30.0, 300.0)


def test_compliance_leaves_agentless_calls_out_of_the_live_answers_as_the_ledger_does():
    recs = [bare_record(campaign_id="c", call_id="x", human_at=1.0, ended_at=2.0, abandoned=True),
            bare_record(campaign_id="c", call_id="y", human_at=1.0, ended_at=3.0, abandoned=False)]
    agentless = [bare_record(campaign_id="c", call_id=f"m{i}", human_at=1.0, ended_at=4.0, abandoned=False,
                             message="outage-notice", outcome=outcome)
                 for i, outcome in enumerate(("delivered", "hung_up_before_message"))]
    [plain] = rp.abandon_compliance(recs)
    [mixed] = rp.abandon_compliance(recs + agentless)
    assert mixed["rate"] == plain["rate"] == pytest.approx(0.5)


async def test_the_cli_prints_a_report_as_csv_or_json(rig, day):
    async with live_server(build_app(rig.daemon)) as url:
        run = cli_runner(url, TOKENS["read-only"])
        rows = list(csv.DictReader(io.StringIO(await run("report", "agents", "--campaign", "upsell", "--since", "0"))))
        assert [r["agent"] for r in rows] == ["a1", "a2"]
        got = json.loads(await run("report", "pauses", "--since", "1970-01-02", "--json"))
        assert [r["reason"] for r in got["report"]["by_reason"]] == ["lunch", "unspecified"]
        with pytest.raises(SystemExit):  # argparse: a bound that is no date
            await run("report", "hours", "--since", "yesterday")



def test_a_sale_confirmed_twice_is_one_confirmed_sale_in_the_funnel():
    # the first confirmation call set a callback and said confirmed too; a lead is confirmed once
    from dialer.supervisor.reports import Disp, funnel

    t0 = 1_795_000_000.0
    rows = [record("s1", ended_at=t0, lead="L1")]
    sold = {"s1": Disp("s1", "a1", "sale", t0, {}, lead_id="L1", campaign_id="upsell")}
    follow = [Disp(f"c{i}", "a2", "confirmed", t0 + 3600 * i, {"dispatched": "yes"}, lead_id="L1",
                   campaign_id="confirm") for i in (1, 2)]
    stages = {s["stage"]: s["count"] for s in funnel(rows, sold, follow)}
    assert (stages["sale"], stages["confirmed"], stages["dispatched"]) == (1, 1, 1)
