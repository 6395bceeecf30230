"""The dialer's one exception tree.

    DialerError                      every error the dialer raises on purpose
    ├── ConfigError                  the configuration file or environment is invalid
    ├── AmiError                     anything between us and Asterisk
    │   ├── AmiConnectionError       cannot connect, login refused, connection lost or half-open
    │   ├── AmiProtocolError         Asterisk sent something we cannot read (a garbage line, a bad block)
    │   └── OriginateError           an Originate was refused or timed out
    ├── StateStoreError              Redis failed or timed out
    ├── BusError                     the MQTT broker failed or timed out
    ├── IllegalTransition            a call or agent was asked to make a move its state machine forbids
    ├── LeadError                    a lead or an import row is invalid
    ├── PolicyViolation              a dial was about to break the contact policy (DNC, hours, caps)
    └── CallbackNotMovable           a scheduled callback cannot be moved (being dialed, done, another's)

Adapters translate third-party exceptions into these at the boundary (`raise X(...) from exc`), so the
rest of the code catches only our own types. Every message says what went wrong and what to do.
"""

from __future__ import annotations

__all__ = [
    "AmiConnectionError",
    "AmiError",
    "AmiProtocolError",
    "BusError",
    "CallbackNotMovable",
    "ConfigError",
    "DialerError",
    "IllegalTransition",
    "LeadError",
    "OriginateError",
    "PolicyViolation",
    "StateStoreError",
]


class DialerError(Exception):
    """Base of every error the dialer raises on purpose."""


class ConfigError(DialerError):
    """The configuration is invalid; the message names the setting and the fix."""


class AmiError(DialerError):
    """A failure talking to Asterisk's manager interface."""


class AmiConnectionError(AmiError):
    """Cannot reach or stay logged in to AMI (refused, bad credentials, dropped, half-open)."""


class AmiProtocolError(AmiError):
    """AMI sent bytes that do not form a valid message."""


class OriginateError(AmiError):
    """Asterisk refused an Originate, or did not answer it in time."""


class StateStoreError(DialerError):
    """Redis failed or did not answer in time."""


class BusError(DialerError):
    """The MQTT broker failed or did not answer in time."""


class IllegalTransition(DialerError):
    """A state machine was asked for a transition that its table does not allow."""

    def __init__(self, machine: str, ident: str, state: str, event: str) -> None:
        super().__init__(f"{machine} {ident}: cannot {event} while {state}")
        self.machine = machine
        self.ident = ident
        self.state = state
        self.event = event


class LeadError(DialerError):
    """A lead or import row is invalid; the message says which and why."""


class PolicyViolation(DialerError):
    """A dial would break the contact policy; it must not be made."""


class CallbackNotMovable(DialerError):
    """A scheduled callback cannot be moved now; `why` says which case: "not_scheduled" (being dialed, on a
    preview screen, or done), "not_yours" (kept for another agent or for anyone) or "unsupported" (the
    campaign's lead source keeps no callbacks)."""

    def __init__(self, message: str, *, why: str) -> None:
        super().__init__(message)
        self.why = why
