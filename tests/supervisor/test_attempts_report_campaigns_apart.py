"""The `attempts` report over every campaign (no `campaign` asked) keeps each campaign's leads apart: two
campaigns' leads with the same id (ids are per campaign: an import numbers its own) are two leads."""

from __future__ import annotations

from sup_fakes import bare_record

from dialer.engine.records import CallRecord
from dialer.supervisor.reports import attempts_histogram


def dials(campaign: str, lead: str, n: int) -> list[CallRecord]:
    return [bare_record(campaign_id=campaign, lead_id=lead, call_id=f"{campaign}-{lead}-{i}") for i in range(n)]


def test_same_lead_id_in_two_campaigns_counts_as_two_leads():
    rep = attempts_histogram([*dials("upsell", "L1", 4), *dials("winback", "L1", 3), *dials("winback", "L2", 1)],
                             flag_over=2)
    assert (rep["leads"], rep["max_attempts"]) == (3, 4)
    assert rep["histogram"] == [{"attempts": 1, "leads": 1}, {"attempts": 3, "leads": 1},
                                {"attempts": 4, "leads": 1}]
    assert rep["flagged"] == [{"campaign_id": "upsell", "lead_id": "L1", "attempts": 4},
                              {"campaign_id": "winback", "lead_id": "L1", "attempts": 3}]
