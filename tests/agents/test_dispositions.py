"""Disposition sets: configurable per campaign, every kind's required fields checked, errors name the field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agents.commands import Disposition
from agents.dispositions import (
    DEFAULT_DISPOSITIONS,
    Choice,
    DispositionKind,
    DispositionRejected,
    DispositionSet,
    DispositionSpec,
    parse_disposition_set,
)
from dialer.errors import ConfigError

NOW = datetime(2025, 5, 6, 10, 0, tzinfo=UTC).timestamp()


def d(code: str, **fields: str) -> Disposition:
    return Disposition("a1", "c1", code, fields)


def test_the_default_set_has_every_disposition_operators_use_on_number_keys():
    assert [(s.key, s.code, s.kind.value) for s in DEFAULT_DISPOSITIONS.specs] == [
        ("1", "sale", "sale"),
        ("2", "agreed", "agreed"),
        ("3", "refused", "refused"),
        ("4", "callback", "callback"),
        ("5", "dnc", "dnc"),
        ("6", "wrong_number", "wrong_number"),
        ("7", "not_available", "not_available"),
        ("8", "machine", "machine"),
        ("9", "language_barrier", "language_barrier"),
    ]
    assert DEFAULT_DISPOSITIONS.to_json()["codes"][0] == {
        "code": "sale", "label": "Sale", "kind": "sale", "key": "1", "follow_up": None}


def test_a_callback_is_normalised_to_utc_with_its_owner():
    out = DEFAULT_DISPOSITIONS.validate(
        d("callback", callback_at="2025-05-07T15:30:00+02:00", callback_owner="anyone", notes=" after work "), NOW)
    assert out.fields == {"callback_at": "2025-05-07T13:30:00Z", "callback_epoch": "1746624600",
                          "callback_owner": "anyone", "callback_agent": "", "notes": "after work"}
    mine = DEFAULT_DISPOSITIONS.validate(d("callback", callback_at=str(NOW + 3600)), NOW)
    assert (mine.fields["callback_owner"], mine.fields["callback_agent"]) == ("mine", "a1")


@pytest.mark.parametrize(
    ("cmd", "field", "words"),
    [
        (d("salee"), "code", "not a disposition of this campaign"),
        (d("refused"), "fields.reason", "a refusal needs a reason"),
        (d("refused", reason="because"), "fields.reason", "is not offered here"),
        (d("refused", reason="other"), "fields.reason_text", "needs the customer's words"),
        (d("callback"), "fields.callback_at", "needs a date and time"),
        (d("callback", callback_at="tomorrow"), "fields.callback_at", "is not ISO-8601"),
        (d("callback", callback_at="2025-05-07T15:30:00"), "fields.callback_at", "has no UTC offset"),
        (d("callback", callback_at="2025-05-06T09:00:00Z"), "fields.callback_at", "is not in the future"),
        (d("callback", callback_at="2025-09-06T09:00:00Z"), "fields.callback_at", "more than 30 days ahead"),
        (d("callback", callback_at="nan"), "fields.callback_at", "is not a time"),
        (d("callback", callback_at=str(NOW + 7200), callback_owner="boss"), "fields.callback_owner", "'mine' or"),
        (d("sale", price="10"), "fields.price", "unknown field"),
    ],
)
def test_bad_dispositions_are_rejected_naming_the_field(cmd, field, words):
    with pytest.raises(DispositionRejected) as err:
        DEFAULT_DISPOSITIONS.validate(cmd, NOW)
    assert err.value.field == field
    assert words in str(err.value)


def test_fields_that_do_not_belong_to_the_kind_are_dropped_and_kinds_add_their_markers():
    out = DEFAULT_DISPOSITIONS.validate(d("sale", reason="other", callback_at="x", notes=""), NOW)
    assert out.fields == {}
    assert DEFAULT_DISPOSITIONS.validate(d("dnc"), NOW).fields == {"dnc": "1"}
    refused = DEFAULT_DISPOSITIONS.validate(d("refused", reason="other", reason_text="moving abroad"), NOW)
    assert refused.fields == {"reason": "other", "reason_text": "moving abroad"}
    script_reasons = [Choice("buy_in_shop", "Wants to buy in a shop")]
    shop = DEFAULT_DISPOSITIONS.validate(d("refused", reason="buy_in_shop"), NOW, reasons=script_reasons)
    assert shop.fields["reason"] == "buy_in_shop"


def test_an_agreement_carries_its_follow_up_campaign_and_the_collected_fields():
    s = parse_disposition_set(["sale", {"code": "agreed", "follow_up": "confirmation"}], "x.yaml")
    out = s.validate(d("agreed", address="1 Main St"), NOW, extra_fields={"address"})
    assert out.fields == {"address": "1 Main St", "follow_up": "confirmation"}


def test_sets_are_configurable_with_own_codes_keys_and_reasons():
    s = parse_disposition_set(
        {"codes": [{"code": "confirmed", "label": "Confirmed", "kind": "sale", "key": 0}, "callback",
                   {"code": "cancelled", "label": "Cancelled", "kind": "refused"}],
         "reasons": [{"code": "changed_mind", "label": "Changed mind"}, "other"],
         "max_callback_days": 3},
        "confirm.yaml")
    assert [(x.code, x.key) for x in s.specs] == [("confirmed", "0"), ("callback", "1"), ("cancelled", "2")]
    assert s.reasons[1] == Choice("other", "Other")
    with pytest.raises(DispositionRejected, match="more than 3 days"):
        s.validate(d("callback", callback_at=str(NOW + 4 * 86400)), NOW)


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("sale", "must be a list of codes or a mapping"),
        ([], "must be a non-empty list"),
        (["sale", "sale"], "'sale' is listed twice"),
        ([{"code": "x1"}], "'x1' is not a default code, so it needs a label"),
        ([{"code": "x1", "label": "X", "kind": "won"}], "kind 'won' of 'x1' is not one of"),
        ([{"code": "Sale!"}], "code must be lowercase"),
        ([{"code": "sale", "key": "A"}], "key 'A' must be one digit"),
        ([{"code": "sale", "key": 1}, {"code": "dnc", "key": "1"}], "key '1' is given to two"),
        ([{"code": "sale", "follow_up": "confirm"}], "follow_up only applies to kind agreed"),
        ([{"code": "sale", "colour": "red"}], "colour is not a disposition setting"),
        ({"codes": ["sale"], "max_callback_days": 0}, "max_callback_days must be"),
        ({"codes": ["sale"], "extra": 1}, "dispositions.extra is not a setting"),
        ({"codes": ["sale"], "reasons": [{"code": "a"}]}, "'a' needs a label"),
        ([f"c{i}" for i in range(11)], "not a default code"),
        ([{"code": f"c{i}", "label": "C", "kind": "other"} for i in range(11)], "only 10 number keys"),
    ],
)
def test_bad_disposition_config_is_a_config_error_naming_the_file(raw, words):
    with pytest.raises(ConfigError) as err:
        parse_disposition_set(raw, "camp.yaml")
    assert words in str(err.value)
    assert str(err.value).startswith("camp.yaml")


def test_an_empty_set_is_refused():
    with pytest.raises(ConfigError, match="at least one"):
        DispositionSet(())
    assert DispositionSet((DispositionSpec("x", "X", DispositionKind.OTHER),)).specs[0].key == "1"
