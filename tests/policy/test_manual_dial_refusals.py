"""A number an agent typed (`ContactPolicy.check_manual`): refused on a do-not-call list, while another dial has it
out (`dialed_by`: the person would get two calls at once), or outside its calling hours; each says why and what
to do, do-not-call first."""

from __future__ import annotations

import pytest
from policy_helpers import NY, at, campaign

from dialer.errors import PolicyViolation
from dialer.policy import ContactPolicy

N = "+12125550142"
NOON, NIGHT = at(2024, 5, 15, 12, 0), at(2024, 5, 15, 23, 0)


@pytest.mark.parametrize(
    ("dnc", "dialed_by", "now", "why"),
    [
        (True, "lead K1 of campaign up", NOON, "do-not-call list"),
        (False, "lead K1 of campaign up", NOON, r"being dialed right now \(lead K1 of campaign up\); dial it"),
        (False, "lead K1 of campaign up", NIGHT, "being dialed right now"),
        (False, None, NIGHT, "outside the calling hours"),
    ],
)
def test_refusals(dnc: bool, dialed_by: str | None, now: float, why: str) -> None:
    with pytest.raises(PolicyViolation, match=why):
        ContactPolicy(campaign()).check_manual(N, (NY,), dnc=dnc, now=now, dialed_by=dialed_by)


def test_a_free_number_in_hours_passes() -> None:
    ContactPolicy(campaign()).check_manual(N, (NY,), dnc=False, now=NOON, dialed_by=None)
