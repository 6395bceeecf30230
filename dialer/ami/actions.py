"""Typed builders for the AMI actions the dialer sends.

Each builder validates its input and returns a frozen value; `as_dict()` gives the fresh
`dict[str, str]` that panoramisk's `Manager.send_action` wants (panoramisk copies it into its own
`Action`, adds an ActionID when there is none, and writes the headers sorted by name, CRLF-ended;
a list value would become repeated headers, which we never need).

Why validate here: a header value is written to the socket verbatim, so a CR or LF in a channel
name or a lead id would end the header early and let the rest be read as a new header or action.
The Originate follows docs/DIALPLAN_CONTRACT.md to the letter: ActionID, ChannelId and
OtherChannelId carry our call id, the variables go comma-joined in one `Variable` header, and
`Async` is always the string 'true' (panoramisk raises `KeyError: 'async'` inside `data_received`
when the header is missing, which kills the connection; and a Python `False` would count as async).
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from dialer.errors import AmiError, OriginateError
from pacing.types import MIN_RING_S

__all__ = [
    "CALL_ID_MAX_LEN",
    "MIN_RING_TIMEOUT_MS",
    "SETUP_ALLOWANCE_MS",
    "SOUND_NAME_PATTERN",
    "AmiAction",
    "OriginateAction",
    "bridge",
    "check_call_id",
    "core_show_channels",
    "db_get",
    "getvar",
    "hangup",
    "login",
    "logoff",
    "originate",
    "originate_agent_first",
    "ping",
    "redirect",
    "status",
]

CALL_ID_MAX_LEN = 60
MIN_RING_TIMEOUT_MS = round(MIN_RING_S * 1000)  # let unanswered calls ring at least 15 s (the law, in pacing.types)
# Asterisk counts an Originate's Timeout from the channel request, not from the first ring: the carrier's
# call set-up (post-dial delay, often 2-8 s on mobile routes) comes out of it. The daemon adds the set-up
# allowance (`[ami] setup_allowance_s`, this by default) to the ring timeout, and the engine itself hangs up
# a dial that has rung the ring timeout since its first Ringing; the Timeout is then the backstop for a
# dial that never reports Ringing (183 early media only). The AMI client waits for the OriginateResponse
# for the whole Timeout plus its margin, so any allowance is waited for.
SETUP_ALLOWANCE_MS = 8_000
_CALL_ID_CHARS = frozenset(string.ascii_letters + string.digits + "_.-")
_DIGITS = frozenset(string.digits)
# A sound file as Playback() names it: no extension, path under the sounds directory (or absolute); no
# comma or '=' (they would split the Originate's Variable header), no space, no '..'.
SOUND_NAME_PATTERN = r"^(?!.*\.\.)[A-Za-z0-9_/][A-Za-z0-9_./-]{0,127}$"


@dataclass(frozen=True, slots=True)
class AmiAction:
    """Any action but Originate (which has its own type so that it can only go through the
    client's pending-originate registry)."""

    name: str
    headers: tuple[tuple[str, str], ...] = ()

    def as_dict(self) -> dict[str, str]:
        """A fresh dict for `Manager.send_action` (panoramisk mutates what it is given)."""
        out = {"Action": self.name}
        out.update(self.headers)
        return out


@dataclass(frozen=True, slots=True)
class OriginateAction:
    """One dial, built by `originate()`; `call_id` is also its ActionID. `timeout_ms` is how long it may ring,
    `setup_ms` the call set-up allowed on top: the Originate's `Timeout` header is their sum (`wait_ms`)."""

    call_id: str
    timeout_ms: int
    headers: tuple[tuple[str, str], ...]
    setup_ms: int = 0

    name = "Originate"

    @property
    def wait_ms(self) -> int:
        """The Originate's `Timeout`: how long Asterisk waits for an answer, from the channel request."""
        return self.timeout_ms + self.setup_ms

    def as_dict(self) -> dict[str, str]:
        """A fresh dict for `Manager.send_action`."""
        out = {"Action": self.name}
        out.update(self.headers)
        return out


def _clean(what: str, value: str, *, forbid: str = "", err: type[AmiError] = AmiError) -> str:
    if not isinstance(value, str) or not value:
        raise err(f"{what} must be a non-empty string, got {value!r}")
    if "\r" in value or "\n" in value:
        raise err(f"{what} contains a line break ({value[:60]!r}); AMI headers are single lines")
    bad = [c for c in forbid if c in value]
    if bad:
        raise err(f"{what} {value[:60]!r} contains {''.join(bad)!r}, which the AMI header cannot carry")
    return value


def check_call_id(call_id: str) -> str:
    """Return `call_id` if it fits the contract (1-60 chars of [A-Za-z0-9_.-]), else OriginateError."""
    if not isinstance(call_id, str) or not 0 < len(call_id) <= CALL_ID_MAX_LEN:
        raise OriginateError(
            f"call_id {call_id!r} must be 1 to {CALL_ID_MAX_LEN} characters (docs/DIALPLAN_CONTRACT.md)"
        )
    if not _CALL_ID_CHARS.issuperset(call_id):
        raise OriginateError(f"call_id {call_id!r} may only contain letters, digits, '_', '.' and '-'")
    return call_id



def _e164_digits(number: object) -> str:
    """The digits of an E.164 number (leading '+' optional); OriginateError when it is not one."""
    digits = number[1:] if isinstance(number, str) and number.startswith("+") else number
    if not isinstance(digits, str) or not 0 < len(digits) <= 15 or not _DIGITS.issuperset(digits):
        raise OriginateError(f"number {number!r} is not E.164 (up to 15 digits, optional leading '+')")
    return digits


def _check_identity(campaign: str, lead_id: str, caller_id_name: str, caller_id_number: str) -> None:
    """What an Originate carries into channel variables and the caller ID must not break their syntax."""
    _clean("campaign", campaign, forbid=",=", err=OriginateError)
    _clean("lead_id", lead_id, forbid=",=", err=OriginateError)
    _clean("caller_id_name", caller_id_name, forbid='"<>', err=OriginateError)
    _clean("caller_id_number", caller_id_number, forbid='"<> ,', err=OriginateError)

def originate(
    *,
    call_id: str,
    number: str,
    campaign: str,
    lead_id: str,
    timeout_ms: int,
    caller_id_name: str,
    caller_id_number: str,
    amd: bool = True,
    outbound_context: str = "dialer-outbound",
    context: str = "dialer-connect",
    exten: str = "s",
    priority: int = 1,
    message: str = "",
    record: bool = False,
    setup_ms: int = 0,
) -> OriginateAction:
    """The one Originate per dial of docs/DIALPLAN_CONTRACT.md.

    `number` is E.164, with or without the leading '+'; `timeout_ms` is how long it may ring
    (at least 15000), `setup_ms` the call set-up allowed on top (the daemon passes `[ami] setup_allowance_s`):
    the `Timeout` header is their sum, since Asterisk counts it from the channel request. `message`
    (agentless campaigns) is a sound file passed as `DIALER_MESSAGE`; `record` passes `DIALER_RECORD=1` (the
    dialplan records the conversation with the agent). Raises OriginateError, saying what to fix, on any
    invalid argument.
    """
    check_call_id(call_id)
    digits = _e164_digits(number)
    if isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int):
        raise OriginateError(f"timeout_ms {timeout_ms!r} must be an int number of milliseconds")
    if timeout_ms < MIN_RING_TIMEOUT_MS:
        raise OriginateError(
            f"timeout_ms {timeout_ms!r} is too short: unanswered calls must ring at least "
            f"{MIN_RING_TIMEOUT_MS} ms; raise the campaign's ring timeout"
        )
    if isinstance(setup_ms, bool) or not isinstance(setup_ms, int) or setup_ms < 0:
        raise OriginateError(f"setup_ms {setup_ms!r} must be an int number of milliseconds, 0 or more")
    if isinstance(priority, bool) or not isinstance(priority, int) or priority < 1:
        raise OriginateError(f"priority {priority!r} must be a positive integer")
    for what, value in (("outbound_context", outbound_context), ("context", context), ("exten", exten)):
        _clean(what, value, forbid="@/ ,", err=OriginateError)
    _check_identity(campaign, lead_id, caller_id_name, caller_id_number)
    if message and not re.fullmatch(SOUND_NAME_PATTERN, message):
        raise OriginateError(f"message {message[:60]!r} is not a sound file name (letters, digits, _ . / -, "
                             "no extension); fix the campaign's agentless_message")
    variables = ",".join(
        (
            f"DIALER_CALL_ID={call_id}",
            f"DIALER_CAMPAIGN={campaign}",
            f"DIALER_LEAD={lead_id}",
            f"DIALER_AMD={1 if amd else 0}",
            *((f"DIALER_MESSAGE={message}",) if message else ()),
            *(("DIALER_RECORD=1",) if record else ()),
        )
    )
    headers = (
        ("ActionID", call_id),
        # /n: no Local-channel optimisation, so the leg whose Uniqueid is our call id lives as long as
        # the customer does (without it Asterisk optimises it away once the agent is bridged).
        ("Channel", f"Local/{digits}@{outbound_context}/n"),
        ("Context", context),
        ("Exten", exten),
        ("Priority", str(priority)),
        ("Timeout", str(timeout_ms + setup_ms)),
        ("CallerID", f'"{caller_id_name}" <{caller_id_number}>'),
        ("Async", "true"),
        ("ChannelId", call_id),
        ("OtherChannelId", f"{call_id}-2"),
        ("Variable", variables),
    )
    return OriginateAction(call_id=call_id, timeout_ms=timeout_ms, headers=headers, setup_ms=setup_ms)


def originate_agent_first(
    *,
    call_id: str,
    number: str,
    extension: str,
    campaign: str,
    lead_id: str,
    ring_s: int,
    caller_id_name: str,
    caller_id_number: str,
    agent_timeout_ms: int = 15_000,
    agent_context: str = "dialer-agent",
    context: str = "dialer-agent-dial",
    record: bool = False,
) -> OriginateAction:
    """The agent-leg-first Originate of docs/DIALPLAN_CONTRACT.md (preview and manual dialing).

    The agent's phone is rung first (`Local/<extension>@dialer-agent/n`, `ChannelId = call_id`); once it
    answered, `dialer-agent-dial,<digits>` dials the customer for up to `ring_s` seconds (at least 15).
    `agent_timeout_ms` bounds the agent's phone only; `record` as for `originate`. Raises OriginateError on
    any invalid argument.
    """
    check_call_id(call_id)
    digits = _e164_digits(number)
    if not isinstance(extension, str) or not extension or not _DIGITS.issuperset(extension):
        raise OriginateError(f"agent extension {extension!r} must be digits; fix settings.agents")
    if isinstance(ring_s, bool) or not isinstance(ring_s, int) or ring_s * 1000 < MIN_RING_TIMEOUT_MS:
        raise OriginateError(f"ring_s {ring_s!r} must be an int of at least {MIN_RING_TIMEOUT_MS // 1000} seconds; "
                             "raise the campaign's ring timeout")
    if isinstance(agent_timeout_ms, bool) or not isinstance(agent_timeout_ms, int) or agent_timeout_ms < 1000:
        raise OriginateError(f"agent_timeout_ms {agent_timeout_ms!r} must be an int of at least 1000")
    for what, value in (("agent_context", agent_context), ("context", context)):
        _clean(what, value, forbid="@/ ,", err=OriginateError)
    _check_identity(campaign, lead_id, caller_id_name, caller_id_number)
    variables = ",".join(
        (
            f"DIALER_CALL_ID={call_id}",
            f"DIALER_CAMPAIGN={campaign}",
            f"DIALER_LEAD={lead_id}",
            f"DIALER_AGENT={extension}",
            f"DIALER_RING_S={ring_s}",
            *(("DIALER_RECORD=1",) if record else ()),
        )
    )
    headers = (
        ("ActionID", call_id),
        ("Channel", f"Local/{extension}@{agent_context}/n"),
        ("Context", context),
        ("Exten", digits),
        ("Priority", "1"),
        ("Timeout", str(agent_timeout_ms)),
        ("CallerID", f'"{caller_id_name}" <{caller_id_number}>'),
        ("Async", "true"),
        ("ChannelId", call_id),
        ("OtherChannelId", f"{call_id}-2"),
        ("Variable", variables),
    )
    return OriginateAction(call_id=call_id, timeout_ms=agent_timeout_ms, headers=headers)


def redirect(channel: str, context: str, exten: str, priority: int = 1) -> AmiAction:
    """Move `channel` to `context,exten,priority` (connect to an agent, play the abandon message)."""
    if isinstance(priority, bool) or not isinstance(priority, int) or priority < 1:
        raise AmiError(f"priority {priority!r} must be a positive integer")
    return AmiAction(
        "Redirect",
        (
            ("Channel", _clean("channel", channel)),
            ("Context", _clean("context", context)),
            ("Exten", _clean("exten", exten)),
            ("Priority", str(priority)),
        ),
    )


def hangup(channel: str, cause: int = 16) -> AmiAction:
    """Hang up `channel` with a Q.850 `cause` (16 normal clearing: what we use for machines)."""
    if isinstance(cause, bool) or not isinstance(cause, int) or not 0 <= cause <= 127:
        raise AmiError(f"hangup cause {cause!r} must be a Q.850 code between 0 and 127")
    return AmiAction("Hangup", (("Channel", _clean("channel", channel)), ("Cause", str(cause))))


def bridge(channel1: str, channel2: str, *, tone: bool = False) -> AmiAction:
    """Bridge two live channels (pulls `channel1` out of its dialplan)."""
    return AmiAction(
        "Bridge",
        (
            ("Channel1", _clean("channel1", channel1)),
            ("Channel2", _clean("channel2", channel2)),
            ("Tone", "yes" if tone else "no"),
        ),
    )


def ping() -> AmiAction:
    """Ping: answered by `Response: Success`, `Ping: Pong`."""
    return AmiAction("Ping")


def status(channel: str | None = None) -> AmiAction:
    """Status of one channel, or of all when `channel` is None (a list answer)."""
    if channel is None:
        return AmiAction("Status")
    return AmiAction("Status", (("Channel", _clean("channel", channel)),))


def core_show_channels() -> AmiAction:
    """Every live channel, as CoreShowChannel events ended by CoreShowChannelsComplete."""
    return AmiAction("CoreShowChannels")


def getvar(channel: str, variable: str) -> AmiAction:
    """A channel variable of `channel`: answered `Response: Success` with `Variable` and `Value` (empty when the
    variable is not set), or `Error` "No such channel". Write right `call` (or `reporting`)."""
    return AmiAction("Getvar", (("Channel", _clean("channel", channel)),
                                ("Variable", _clean("variable", variable, forbid=" ,="))))


def db_get(family: str, key: str) -> AmiAction:
    """An entry of Asterisk's database (AstDB): answered `Response: Success` then the events `DBGetResponse`
    (`Family`, `Key`, `Val`) and `DBGetComplete`, or `Error` "Database entry not found". Write right
    `reporting` (or `system`, which the dialer never gets). `key` may hold '/' (a key tree, as DB() writes)."""
    return AmiAction("DBGet", (("Family", _clean("family", family, forbid="/")), ("Key", _clean("key", key))))


def logoff() -> AmiAction:
    """End the session; Asterisk answers `Response: Goodbye` and closes the connection."""
    return AmiAction("Logoff")


def login(username: str, secret: str, events: str) -> AmiAction:
    """Plain-text Login with an `Events` mask (e.g. 'call,user,reporting')."""
    return AmiAction(
        "Login",
        (
            ("Username", _clean("username", username)),
            ("Secret", _clean("secret", secret)),
            ("Events", _clean("events", events, forbid=" ")),
        ),
    )
