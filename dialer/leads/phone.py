"""Phone numbers: E.164 normalisation and the time zones of a number, both from `phonenumbers`.

A number is accepted only if phonenumbers calls it valid (a real range of a real country), never
premium rate. Its zones come from `phonenumbers.timezone`; a mobile number may map to several zones,
and the policy then allows only the hours that are allowed in all of them.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType, timezone

from dialer.errors import LeadError

__all__ = ["normalize", "number_kind", "parse_number", "zones_for"]

_UNKNOWN = timezone.UNKNOWN_TIMEZONE
_TYPE_NAMES = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "fixed line",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed line or mobile",
    PhoneNumberType.TOLL_FREE: "toll free",
    PhoneNumberType.PREMIUM_RATE: "premium rate",
}


def parse_number(raw: str, region: str) -> tuple[str, tuple[str, ...]]:
    """Normalise `raw` to E.164 and find its zones; raise `LeadError` saying why it is not callable.

    Zones are () when phonenumbers cannot place the number (the caller falls back to a default zone or
    rejects the row).
    """
    text = raw.strip()
    if not text:
        raise LeadError("empty phone number")
    try:
        num = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise LeadError(f"{raw!r} is not a phone number ({exc._msg})") from None
    if not phonenumbers.is_possible_number(num):
        raise LeadError(f"{raw!r} has the wrong number of digits for its country")
    if not phonenumbers.is_valid_number(num):
        raise LeadError(f"{raw!r} is not a valid number (no such range in region {region} or its country code)")
    ntype = phonenumbers.number_type(num)
    if ntype == PhoneNumberType.PREMIUM_RATE:
        raise LeadError(f"{raw!r} is a premium-rate number; the dialer never calls those")
    e164 = phonenumbers.format_number(num, PhoneNumberFormat.E164)
    return e164, _zones(num)


def _zones(num: phonenumbers.PhoneNumber) -> tuple[str, ...]:
    zones = tuple(z for z in timezone.time_zones_for_number(num) if z != _UNKNOWN)
    return tuple(sorted(zones))


def normalize(raw: str, region: str = "US") -> str:
    """E.164 form of `raw`, or `LeadError`."""
    return parse_number(raw, region)[0]


def zones_for(e164: str) -> tuple[str, ...]:
    """Zones of an E.164 number (no validation beyond parsing)."""
    try:
        num = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException as exc:
        raise LeadError(f"{e164!r} is not an E.164 number ({exc._msg})") from None
    return _zones(num)


def number_kind(e164: str) -> str:
    """A human word for the number's type (mobile, fixed line...) for screen-pops."""
    return _TYPE_NAMES.get(phonenumbers.number_type(phonenumbers.parse(e164, None)), "other")
