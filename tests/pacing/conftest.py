import pytest
from pacing_helpers import train

from pacing import Pacer, PacingKnobs
from pacing.types import Mode


@pytest.fixture
def trained_predictive() -> tuple[Pacer, float]:
    p = Pacer(PacingKnobs(mode=Mode.PREDICTIVE, max_channels=1000, max_cps=1000))
    t = train(p)
    # an established campaign: plenty of abandon budget in this 30-day period
    for i in range(3000):
        p.ledger.record_live(t - 3000 + i, False)
    return p, t
