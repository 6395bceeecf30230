"""A cold campaign that reconciles with the subscriber base never dials a lead whose number the base now gives
a subscriber (one who signed up after the cold import): a final block. Other campaigns are not held by it."""

from __future__ import annotations

from dataclasses import replace

from policy_helpers import at, campaign, view

from dialer.policy import Block, ContactPolicy

NOW = at(2025, 3, 4, 12)


def test_a_cold_lead_whose_number_a_subscriber_holds_is_finished() -> None:
    p = ContactPolicy(campaign(kind="cold", require_consent=False))
    prospect = replace(view(), person="number:+12125550142")
    v = p.check(replace(prospect, base_persons=("subscriber:S1001",)), NOW)
    assert (v.ok, v.block, v.final) == (False, Block.CURRENT_SUBSCRIBER, True)
    assert "S1001" in v.detail
    assert p.check(prospect, NOW).ok


def test_only_a_reconciling_cold_campaign_is_held() -> None:
    unreconciled = campaign(kind="cold", require_consent=False, cold={"reconcile_with_base": False})
    for c in (campaign(), unreconciled):
        assert ContactPolicy(c).check(view(base_persons=("subscriber:S1001",)), NOW).ok
