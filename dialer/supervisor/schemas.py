"""Request and response bodies of the supervisor API (pydantic; they are the OpenAPI schema).

Requests forbid unknown fields and non-finite numbers, so a typo or a NaN gets a 422 naming the field
instead of being silently ignored. Their numeric settings take JSON numbers only: lax pydantic read `true` as
1, so `{"max_channels": true}` set one channel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError, create_model, field_validator
from pydantic.fields import FieldInfo

from dialer.config import CampaignSettings, PacingSettings
from dialer.supervisor.errors import Invalid
from pacing import Mode

__all__ = [
    "ERRORS",
    "AgentId",
    "AgentOut",
    "AgentPause",
    "CampaignCreate",
    "CampaignEdit",
    "CampaignId",
    "CampaignOut",
    "CampaignPath",
    "DecisionLog",
    "OverrideOut",
    "OverridesOut",
    "PacingIn",
    "PacingPatch",
    "Problem",
    "SpyRequest",
]

AgentId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
CampaignId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
CampaignPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]

# A numeric setting takes a JSON number and nothing else: no `true` for 1, no "2" for 2. A strict float still
# takes a JSON integer (`"ratio": 2`); a strict int takes integers only.
Number = Annotated[float, Strict()]
Whole = Annotated[int, Strict()]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class PacingPatch(_In):
    """Pacing knobs to change now; fields left out keep their value."""

    mode: Mode | None = None
    ratio: Number | None = Field(None, ge=1.0, le=10.0, description="power mode: calls per ready agent")
    target_abandon: Number | None = Field(None, gt=0.0, le=0.03, description="predictive: abandon target, 0-0.03")
    max_calls_per_agent: Number | None = Field(None, ge=1.0, le=10.0)
    min_agents_predictive: Whole | None = Field(None, ge=1, le=10_000)
    max_channels: Whole | None = Field(None, ge=1, le=100_000)
    max_cps: Number | None = Field(None, gt=0.0, le=10_000.0)
    surplus_hangup_after_s: Number | None = Field(
        None, ge=0.0, le=120.0,
        description="predictive: hang up a dial ringing this long (15 s at least) when no agent would take its "
        "answer; 0: never",
    )

    def changes(self) -> dict[str, Any]:
        out = {k: v for k, v in self.model_dump(exclude_none=True).items()}
        if out.get("surplus_hangup_after_s") == 0.0:
            out["surplus_hangup_after_s"] = None  # the knob's "never"
        return out


class CampaignEdit(_In):
    """Dial settings read at each launch; fields left out keep their value."""

    name: str | None = Field(None, max_length=120)
    amd: bool | None = None
    ring_timeout_s: Number | None = Field(None, ge=15.0, le=120.0, description="unanswered calls ring at least 15 s")
    wrapup_timeout_s: Number | None = Field(None, gt=0.0, le=3600.0)
    caller_id_name: str | None = Field(None, min_length=1, max_length=64, pattern=r'^[^"<>\r\n,]+$')
    caller_id_number: str | None = Field(None, min_length=1, max_length=32, pattern=r"^\+?[0-9]+$")
    record_calls: bool | None = Field(None, description="record conversations from the next dial on")
    after_wrapup_timeout: Literal["pause", "ready"] | None = Field(
        None, description="an agent whose wrap-up runs out from now on is paused or ready at once")
    late_disposition_s: Number | None = Field(
        None, ge=0.0, le=86400.0, description="how long a call closed by a wrap-up that runs out from now on may "
                                              "still be disposed (0: never)")
    preview_auto_dial_s: Number | None = Field(
        None, ge=0.0, le=600.0, description="a lead previewed from now on is dialed by itself after this long "
                                            "(3 s or more; 0: only when the agent presses Dial)")

    @field_validator("preview_auto_dial_s")
    @classmethod
    def _auto_dial(cls, value: float | None) -> float | None:
        if value is not None and 0.0 < value < 3.0:
            raise ValueError("give 3 s or more (0 switches the automatic dial off)")
        return value

    def changes(self) -> dict[str, Any]:
        out = self.model_dump(exclude_none=True)
        if out.get("preview_auto_dial_s") == 0.0:
            out["preview_auto_dial_s"] = None  # the setting's "only when the agent presses Dial"
        return out


_STRICT: dict[object, object] = {float: Number, int: Whole, float | None: Number | None, int | None: Whole | None}


def _numbers_strict(model: type[PacingSettings], name: str) -> type[PacingSettings]:
    """`model` with its numeric fields taking JSON numbers only, their bounds, defaults and validators kept: the
    config file's settings (read laxly from TOML and the environment) keep their rules in one place."""
    fields: dict[str, Any] = {}
    for field, info in model.model_fields.items():
        strict = _STRICT.get(info.annotation)
        if strict is not None:
            fields[field] = (strict, FieldInfo.merge_field_infos(info))
    return create_model(name, __base__=model, __module__=__name__, **fields)


if TYPE_CHECKING:
    PacingIn = PacingSettings
else:  # a created campaign's `pacing`: the config's PacingSettings, numbers strict
    PacingIn = _numbers_strict(PacingSettings, "PacingIn")


class CampaignCreate(_In):
    """A new campaign; it starts paused (start it with POST /api/campaigns/{id}/start)."""

    id: str = Field(min_length=1, max_length=24, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field("", max_length=120)
    # unset: the campaign file's (its caller_id_number is checked there as a valid number)
    caller_id_name: str | None = Field(None, min_length=1, max_length=64, pattern=r'^[^"<>\r\n,]+$')
    caller_id_number: str | None = Field(None, min_length=1, max_length=32, pattern=r"^\+?[0-9]+$")
    amd: bool = True
    ring_timeout_s: Number = Field(20.0, ge=15.0, le=120.0)
    wrapup_timeout_s: Number = Field(120.0, gt=0.0, le=3600.0)
    record_calls: bool = False
    after_wrapup_timeout: Literal["pause", "ready"] = "pause"
    late_disposition_s: Number = Field(900.0, ge=0.0, le=86400.0)
    preview_auto_dial_s: Number | None = Field(None, ge=3.0, le=600.0)
    file: str | None = Field(None, max_length=400, description="campaign file (TOML/YAML) on the daemon's host")
    pacing: PacingIn = PacingIn()

    def settings(self) -> CampaignSettings:
        """The daemon's settings for it; a rule the config adds beyond this schema raises Invalid."""
        try:
            return CampaignSettings.model_validate(self.model_dump())
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            raise Invalid(f"{where}: {first['msg']}") from None


class AmdAuditReset(_In):
    """Start a campaign's AMD audit sample afresh, after AMD was tuned; the reason goes to the audit log."""

    reason: str = Field(..., min_length=3, max_length=200, pattern=r"^[^\r\n]+$",
                        description="why the old sample no longer holds, e.g. 'AMD retuned: silence threshold 1500'")


class AgentPause(_In):
    reason: str = Field("supervisor", min_length=1, max_length=64, pattern=r"^[^\r\n]+$")


class SpyRequest(_In):
    """Listen to, whisper to, or barge into an agent's live call from the supervisor's own phone."""

    mode: Literal["listen", "whisper", "barge"] = "listen"
    extension: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$",
                           description="the supervisor's phone (PJSIP endpoint) that will ring")


class Problem(BaseModel):
    """Why a request failed, in one sentence that says what to do."""

    detail: str


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "the body could not be read (not JSON, or not UTF-8)"},
    401: {"model": Problem, "description": "missing or unknown API token"},
    403: {"model": Problem, "description": "the token's role is not enough for this"},
    404: {"model": Problem, "description": "no such campaign, agent or call"},
    409: {"model": Problem, "description": "the current state forbids this now"},
    503: {"model": Problem, "description": "Redis or AMI did not answer; nothing changed"},
}


class OverrideOut(BaseModel):
    """One setting a supervisor changed, with the configured value it replaces."""

    value: Any
    configured: Any = Field(description="the config file's value when it was set: if the config file says "
                                        "otherwise at a restart, the config file wins and this is dropped")
    by: str
    at: float


class RunStateOut(BaseModel):
    state: Literal["running", "paused", "stopped"]
    by: str
    at: float


class OverridesOut(BaseModel):
    """What survives a restart: the supervisor's changes that differ from the config file."""

    pacing: dict[str, OverrideOut]
    settings: dict[str, OverrideOut]
    run_state: RunStateOut | None = Field(description="paused or stopped, when the campaign does not start that "
                                                      "way by itself (config-file campaigns start running, created "
                                                      "ones paused)")
    created: bool = Field(description="created at run time: re-created at each start")
    stored: bool = Field(description="false: the latest change is not in Redis yet (a restart now would undo it)")
    warning: str | None
    notes: list[str] = Field(description="what the last start-up dropped or could not read, and why")


class CampaignOut(BaseModel):
    id: str
    name: str
    status: Literal["running", "paused", "stopped"]
    pacing: dict[str, Any]
    amd: bool
    ring_timeout_s: float
    caller_id_name: str
    caller_id_number: str
    wrapup_timeout_s: float
    record_calls: bool
    after_wrapup_timeout: Literal["pause", "ready"]
    late_disposition_s: float
    preview_auto_dial_s: float | None
    calls: dict[str, int]
    agents: dict[str, int]
    dial_level: float
    last_decision: dict[str, Any] | None = Field(description="the last pacing decision, when made under the mode "
                                                             "the campaign has now (null after a switch, in preview)")
    why: str = Field(description="why the campaign dials as it does now, in one sentence")
    amd_audit: dict[str, Any] | None = None
    overrides: OverridesOut | None = None


class AgentOut(BaseModel):
    id: str
    extension: str
    campaign: str | None
    state: str
    since: float
    in_state_s: float
    pause_reason: str | None
    call_id: str | None
    pending_pause: str | None
    pending_logout: bool
    calls_taken: int


class DecisionLog(BaseModel):
    campaign: str
    status: str
    pacing: dict[str, Any]
    now: float
    why: str
    reasons: dict[str, int]
    decisions: list[dict[str, Any]]

