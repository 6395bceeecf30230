"""The words campaigns, leads, the contact policy and the hopper share.

They live here, below all of those packages, so that a campaign file can name an outcome or a
disposition and the pure policy can read the same enum without an import cycle. Outcome values match
`pacing.traffic.DialOutcome` where the two overlap, plus "abandoned", so one string travels from the PBX
events through the engine into the hopper unchanged.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "CampaignKind",
    "CancelReason",
    "Consent",
    "Disposition",
    "Outcome",
    "SuppressionKind",
]


class CampaignKind(StrEnum):
    """The four kinds of outbound list an operator works."""

    BASE_UPSELL = "base_upsell"
    WINBACK = "winback"
    COLD = "cold"
    CONFIRMATION = "confirmation"


class Outcome(StrEnum):
    """How a dial ended, as the dialer saw it (after AMD)."""

    LIVE = "live"
    MACHINE = "machine"
    BUSY = "busy"
    CONGESTION = "congestion"
    INVALID = "invalid"
    NO_ANSWER = "no_answer"
    ABANDONED = "abandoned"

    @classmethod
    def parse(cls, value: str) -> Outcome:
        """Read an outcome string; "answered" is accepted as "live"."""
        text = value.strip().lower()
        if text == "answered":
            return cls.LIVE
        try:
            return cls(text)
        except ValueError:
            allowed = ", ".join(o.value for o in cls)
            raise ValueError(f"unknown dial outcome {value!r}; use one of {allowed} (or answered)") from None


class Disposition(StrEnum):
    """What the agent recorded after talking to the person."""

    SALE = "sale"
    AGREED = "agreed"  # agreed; a confirmation call follows (a follow-up on "agreed")
    REFUSED = "refused"
    CALLBACK = "callback"
    DNC = "dnc"
    WRONG_NUMBER = "wrong_number"
    NOT_AVAILABLE = "not_available"  # someone else answered: the person was not there
    MACHINE = "machine"  # AMD let a machine through to the agent
    LANGUAGE_BARRIER = "language_barrier"
    OTHER = "other"
    CONFIRMED = "confirmed"
    NOT_CONFIRMED = "not_confirmed"

    @property
    def reached_person(self) -> bool:
        """Whether the agent talked to the person the lead is about (a contact)."""
        return self not in (Disposition.WRONG_NUMBER, Disposition.NOT_AVAILABLE, Disposition.MACHINE)

    @property
    def is_success(self) -> bool:
        """Counts as a sale in conversion reports."""
        return self in (Disposition.SALE, Disposition.AGREED)


class CancelReason(StrEnum):
    """Why a former subscriber left (win-back lists)."""

    MOVED = "moved"
    PRICE = "price"
    QUALITY = "quality"
    SUPPORT = "support"
    COMPETITOR_SERVICES = "competitor_services"
    NONE = "none"
    SEASONAL = "seasonal"


class Consent(StrEnum):
    """Whether the person agreed to be called (cold lists)."""

    GRANTED = "granted"
    DENIED = "denied"
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, value: str) -> Consent:
        """Read the many spellings lists use for consent; empty means unknown."""
        text = value.strip().lower()
        if text in {"", "unknown", "?", "n/a", "na"}:
            return cls.UNKNOWN
        if text in {"granted", "yes", "y", "true", "1", "opt-in", "optin", "opted in"}:
            return cls.GRANTED
        if text in {"denied", "no", "n", "false", "0", "opt-out", "optout", "opted out"}:
            return cls.DENIED
        raise ValueError(f"consent {value!r} is not one of granted/yes/true, denied/no/false, unknown/empty")


class SuppressionKind(StrEnum):
    """Signals from the operator's systems that stop calls to a lead for a while."""

    TROUBLE_TICKET = "trouble_ticket"
    DEGRADATION = "degradation"
    BILL_SHOCK = "bill_shock"
    DECLINED_OFFER = "declined_offer"
    CONTACT_CAP = "contact_cap"
    OTHER = "other"
