"""A call record without a lead id (an agent's manual dial of a typed number, a record written before the field
existed) is not a lead: the per-lead figures (`attempts`, the funnel's confirmed sales, the cancel reason of
`reasons`) leave it out instead of pooling every such dial as one lead named "None" or ""."""

from __future__ import annotations

from dataclasses import replace

from sup_fakes import AUTH, record

from dialer.engine.records import CallRecord
from dialer.supervisor import reports as rp

T0 = 1_795_000_000.0


def leadless(call_id: str, **kw: object) -> CallRecord:
    return replace(record(call_id, ended_at=T0, **kw), lead_id="", kind="manual")


def test_dials_without_a_lead_are_not_a_lead_in_the_attempts_report() -> None:
    recs = [*(leadless(f"m{i}", outcome="no_answer", live=False) for i in range(8)),
            record("c1", ended_at=T0, lead="L1")]
    rep = rp.attempts_histogram(recs, flag_over=6)
    assert (rep["leads"], rep["max_attempts"], rep["flagged"]) == (1, 1, [])
    assert rep["histogram"] == [{"attempts": 1, "leads": 1}]
    assert rep["without_lead"] == 8


def test_a_sale_without_a_lead_is_not_confirmed_by_another_leadless_confirmation() -> None:
    recs = [leadless("s1")]
    sold = {"s1": rp.Disp("s1", "a1", "sale", T0, {}, lead_id="", campaign_id="upsell")}
    # a confirmation call of some other manual dial: nothing ties it to this sale
    follow = [rp.Disp("f1", "a2", "confirmed", T0 + 60, {"dispatched": "yes"}, lead_id="", campaign_id="confirm")]
    stages = {s["stage"]: s["count"] for s in rp.funnel(recs, sold, follow)}
    assert (stages["sale"], stages["confirmed"], stages["dispatched"]) == (1, 0, 0)


def test_a_leadless_contact_takes_no_other_leadless_calls_cancel_reason() -> None:
    recs = [leadless("m1"), leadless("m2")]
    disps = {"m1": rp.Disp("m1", "a1", "refused", T0, {"cancel_reason": "price"})}
    # as the route builds it from the follow-ups: the cancel reason of each lead's disposition
    got = rp.reason_breakdown(recs, disps, {"": "price"})
    assert got["cancel_reasons"] == [
        {"cancel_reason": "price", "contacts": 1, "sales": 0, "conversion": 0.0},
        {"cancel_reason": "(none)", "contacts": 1, "sales": 0, "conversion": 0.0},
    ]


async def test_the_attempts_report_names_no_lead_none(rig, client) -> None:
    now = rig.clock.now()
    for i in range(8):
        rig.record(replace(record(f"m{i}", ended_at=now - 600 + i, outcome="no_answer", live=False), lead_id="",
                           kind="manual"))
    await rig.flush()
    r = await client.get("/api/reports/attempts", headers=AUTH["read-only"], params={"since": 0})
    rep = r.json()["report"]
    assert (rep["leads"], rep["histogram"], rep["flagged"], rep["without_lead"]) == (0, [], [], 8)
