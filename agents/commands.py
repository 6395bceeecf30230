"""What agents (their desktop, or the demo's simulated agents) ask the daemon to do.

Parsed and validated at the edge (MQTT or HTTP) with pydantic, then handed to the engine as these
frozen dataclasses, so the engine never sees raw JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

__all__ = [
    "AgentCommand",
    "Disposition",
    "Login",
    "Logout",
    "Pause",
    "Ready",
    "parse_agent_command",
]


@dataclass(frozen=True, slots=True)
class Login:
    agent_id: str
    extension: str
    campaign_id: str


@dataclass(frozen=True, slots=True)
class Ready:
    agent_id: str


@dataclass(frozen=True, slots=True)
class Pause:
    agent_id: str
    reason: str
    after_call: bool = False


@dataclass(frozen=True, slots=True)
class Logout:
    agent_id: str


@dataclass(frozen=True, slots=True)
class Disposition:
    """The agent's result for a call; ends wrap-up. `fields` carries disposition details
    (refusal reason, callback time and owner, notes); `script_path` the script branches walked."""

    agent_id: str
    call_id: str
    code: str
    fields: dict[str, str] = field(default_factory=dict)
    script_path: tuple[str, ...] = ()


AgentCommand = Login | Ready | Pause | Logout | Disposition

_Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Login(_Base):
    type: Literal["login"]
    extension: _Id
    campaign_id: _Id


class _Ready(_Base):
    type: Literal["ready"]


class _Pause(_Base):
    type: Literal["pause"]
    reason: Annotated[str, Field(min_length=1, max_length=64)]
    after_call: bool = False


class _Logout(_Base):
    type: Literal["logout"]


class _Disposition(_Base):
    type: Literal["disposition"]
    call_id: Annotated[str, Field(min_length=1, max_length=64)]
    code: Annotated[str, Field(min_length=1, max_length=40)]
    fields: dict[str, Annotated[str, Field(max_length=2000)]] = {}
    script_path: list[Annotated[str, Field(max_length=64)]] = []


_Payload = Annotated[_Login | _Ready | _Pause | _Logout | _Disposition, Field(discriminator="type")]
_ADAPTER: TypeAdapter[_Payload] = TypeAdapter(_Payload)


def parse_agent_command(agent_id: str, raw: bytes | str) -> AgentCommand:
    """Validate one JSON command from agent `agent_id`. Raises pydantic.ValidationError with the
    field and the reason when the payload is bad."""
    p = _ADAPTER.validate_json(raw)
    if isinstance(p, _Login):
        return Login(agent_id, p.extension, p.campaign_id)
    if isinstance(p, _Ready):
        return Ready(agent_id)
    if isinstance(p, _Pause):
        return Pause(agent_id, p.reason, p.after_call)
    if isinstance(p, _Logout):
        return Logout(agent_id)
    return Disposition(agent_id, p.call_id, p.code, dict(p.fields), tuple(p.script_path))
