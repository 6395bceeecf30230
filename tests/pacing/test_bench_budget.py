"""The budget benchmark's ledger counts as the real one and never limits."""

import math

from bench.pacing_budget import UnboundedLedger
from pacing import ComplianceLedger
from pacing.types import LiveAnswerObserved


def test_unbounded_ledger_counts_like_the_real_one_but_lifts_the_budget():
    real, lifted = ComplianceLedger(), UnboundedLedger()
    for i in range(40):
        for ledger in (real, lifted):
            ledger.observe(LiveAnswerObserved(at=100.0 + i, abandoned=i % 10 == 0, wait_s=0.5))
    a, b = real.status(200.0), lifted.status(200.0)
    assert (b.lives, b.abandons, b.rate) == (a.lives, a.abandons, a.rate) == (40, 4, 0.1)
    assert a.budget < 0  # 10 % abandoned: the real ledger allows no exposure at all
    assert math.isinf(b.budget)
