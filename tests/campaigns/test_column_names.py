"""Every column name a campaign file configures is normalised on load as the lead readers normalise headers
(stripped, lower-cased), so it matches however the file's header is written."""

from __future__ import annotations

from typing import Any

from dialer.campaigns import parse_campaign

BASE: dict[str, Any] = {
    "id": "c1",
    "name": "C",
    "caller_id_name": "Acme",
    "caller_id_number": "+12125550100",
    "jurisdiction": "us",
}


def test_configured_column_names_are_normalised_on_load() -> None:
    c = parse_campaign({**BASE, "kind": "base_upsell", "order_by": " ARPU", "report_by": "Tariff ", "leads": {
        "number_columns": ["Mobile", " HOME "], "numbers_column": "Phones", "id_column": "ID",
        "subscriber_column": "Subscriber_ID", "timezone_column": "TimeZone", "consent_column": "Consent",
        "area_column": "Area", "required": ["Name"], "region_column": "State",
        "timezone_by": {"field": "Region", "zones": {"FL": "America/New_York"}}}})
    cols = c.leads
    assert (c.order_by, c.report_by) == ("arpu", "tariff")
    assert cols.number_columns == ("mobile", "home")
    assert (cols.numbers_column, cols.id_column, cols.subscriber_column) == ("phones", "id", "subscriber_id")
    assert (cols.timezone_column, cols.consent_column, cols.area_column) == ("timezone", "consent", "area")
    assert (cols.required, cols.region_column) == (("name",), "state")
    assert cols.timezone_by is not None
    assert cols.timezone_by.field == "region"


def test_winback_fields_are_normalised_and_feed_report_by() -> None:
    c = parse_campaign({**BASE, "kind": "winback", "winback": {
        "reason_field": "Cancel_Reason", "cancelled_at_field": "Cancelled At", "previous_leaves_field": "Leaves"}})
    assert c.winback is not None
    assert (c.winback.reason_field, c.winback.cancelled_at_field, c.winback.previous_leaves_field) == (
        "cancel_reason", "cancelled at", "leaves")
    assert c.report_by == "cancel_reason"
