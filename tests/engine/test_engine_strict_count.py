"""Dispositions feed the ledger's strict count: a connected call an agent dispositioned as a person becomes a
`PERSON` entry at the minute of its live answer; machines, late connections and audits do not."""

from __future__ import annotations

import pytest
from test_engine import answer, bridge, dial, hangup, login_ready, make_engine

from agents import commands as ac
from agents.dispositions import DispositionKind, DispositionSet, DispositionSpec
from dialer.engine.commands import RecordLedger
from dialer.engine.core import Engine
from pacing.ledger import LedgerEntry, LedgerEntryKind


def persons(cmds: list) -> list[LedgerEntry]:
    return [c.entry for c in cmds if isinstance(c, RecordLedger) and c.entry.kind is LedgerEntryKind.PERSON]


def talk_then_dispose(eng: Engine, code: str, *, bridged_at: float = 7.0) -> tuple[list, str]:
    login_ready(eng, "a1", "1001")
    [cid] = dial(eng, now=0.0)
    answer(eng, cid, 0.0)  # human verdict at 6.5 s
    bridge(eng, cid, bridged_at)
    hangup(eng, cid, 90.0)
    return eng.on_agent(ac.Disposition("a1", cid, code), 100.0), cid


def test_a_person_disposition_counts_at_the_answer_and_a_machine_does_not():
    eng = make_engine()
    out, _ = talk_then_dispose(eng, "sale")
    assert persons(out) == [LedgerEntry(7.0, LedgerEntryKind.PERSON)]
    assert eng.campaigns["camp"].pacer.ledger.export(200.0).buckets[0].persons == 1.0

    eng = make_engine()
    out, _ = talk_then_dispose(eng, "machine")
    assert persons(out) == []
    pacer = eng.campaigns["camp"].pacer
    assert pacer.person_share < 0.5  # the pacer learnt one machine against its prior of one each


def test_a_late_connection_is_already_an_abandon_and_adds_no_person():
    eng = make_engine(hold_s=2.0)
    out, _ = talk_then_dispose(eng, "sale", bridged_at=6.5 + 2.4)
    assert persons(out) == []


class _Renderer:
    """A screen-pop renderer that knows the campaign's codes: here `am` is the answering-machine code."""

    def __call__(self, call: object, agent: object) -> dict:
        return {}

    def dispositions_for(self, campaign_id: str) -> DispositionSet:
        return DispositionSet((DispositionSpec("sale", "Sale", DispositionKind.SALE),
                               DispositionSpec("am", "Answering machine", DispositionKind.MACHINE)))


@pytest.mark.parametrize(("code", "counted"), [("am", 0), ("sale", 1)])
def test_the_campaigns_own_machine_codes_are_machines(code, counted):
    eng = make_engine()
    eng.dispositions_for = _Renderer().dispositions_for
    out, _ = talk_then_dispose(eng, code)
    assert len(persons(out)) == counted


def test_the_engine_reads_the_codes_from_a_renderer_that_has_them():
    r = _Renderer()
    eng = Engine(screenpop=r)
    assert eng.dispositions_for("any") == r.dispositions_for("any")
    assert Engine().dispositions_for("any") is None
