"""What agents (their desktop, or the demo's simulated agents) ask the daemon to do.

Parsed and validated at the edge (MQTT or HTTP) with pydantic, then handed to the engine as these
frozen dataclasses, so the engine never sees raw JSON.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

__all__ = [
    "AgentCommand",
    "Disposition",
    "Login",
    "Logout",
    "Pause",
    "PreviewCommand",
    "PreviewDial",
    "PreviewSkip",
    "Ready",
    "RecentCommands",
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


@dataclass(frozen=True, slots=True)
class PreviewDial:
    """Dial the lead on the agent's preview screen (the number the contact policy cleared)."""

    agent_id: str
    lead_id: str
    number_index: int = 0


@dataclass(frozen=True, slots=True)
class PreviewSkip:
    """Give the lead on the agent's preview screen back, with a reason."""

    agent_id: str
    lead_id: str
    reason: str = "skipped"


# Preview commands go through the daemon's preview hooks (they re-check the contact policy in Redis), not
# through the engine's agent commands.
PreviewCommand = PreviewDial | PreviewSkip

_Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # the client's id for this command: the same id again (MQTT QoS 1 delivers at least once, a page may
    # send a request again) is dropped (`RecentCommands`)
    id: _Id | None = None


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


class _PreviewDial(_Base):
    type: Literal["preview_dial"]
    lead_id: Annotated[str, Field(min_length=1, max_length=128)]
    number_index: Annotated[int, Field(ge=0, le=19)] = 0


class _PreviewSkip(_Base):
    type: Literal["preview_skip"]
    lead_id: Annotated[str, Field(min_length=1, max_length=128)]
    reason: Annotated[str, Field(min_length=1, max_length=64)] = "skipped"


class _Disposition(_Base):
    type: Literal["disposition"]
    call_id: Annotated[str, Field(min_length=1, max_length=64)]
    code: Annotated[str, Field(min_length=1, max_length=40)]
    fields: dict[str, Annotated[str, Field(max_length=2000)]] = {}
    script_path: list[Annotated[str, Field(max_length=64)]] = []


_Payload = Annotated[_Login | _Ready | _Pause | _Logout | _Disposition | _PreviewDial | _PreviewSkip,
                     Field(discriminator="type")]
_ADAPTER: TypeAdapter[_Payload] = TypeAdapter(_Payload)


def parse_agent_command(agent_id: str, raw: bytes | str) -> tuple[AgentCommand | PreviewCommand, str | None]:
    """Validate one JSON command from agent `agent_id`: the command and its client-given `id` (None
    without one). Raises pydantic.ValidationError with the field and the reason when the payload is bad."""
    p = _ADAPTER.validate_json(raw)
    cmd: AgentCommand | PreviewCommand
    if isinstance(p, _PreviewDial):
        cmd = PreviewDial(agent_id, p.lead_id, p.number_index)
    elif isinstance(p, _PreviewSkip):
        cmd = PreviewSkip(agent_id, p.lead_id, p.reason)
    elif isinstance(p, _Login):
        cmd = Login(agent_id, p.extension, p.campaign_id)
    elif isinstance(p, _Ready):
        cmd = Ready(agent_id)
    elif isinstance(p, _Pause):
        cmd = Pause(agent_id, p.reason, p.after_call)
    elif isinstance(p, _Logout):
        cmd = Logout(agent_id)
    else:
        cmd = Disposition(agent_id, p.call_id, p.code, dict(p.fields), tuple(p.script_path))
    return cmd, p.id


class RecentCommands:
    """The last `keep` command ids of each agent, to apply a command once when its client sends it again
    with the same id: an MQTT QoS 1 command whose acknowledgement a broken connection lost comes again.
    Without the id such a repeat is applied again (a ready changes nothing; a second login or disposition
    is refused with an error event). A refused command's id is forgotten (`forget`): its repeat is judged
    again, and refused again, rather than answered as if it had been taken (the desk's page, whose 422 the
    network lost, showed "Saved" for a disposition the dialer never took)."""

    def __init__(self, keep: int = 256) -> None:
        self._keep = keep
        self._ids: dict[str, OrderedDict[str, None]] = {}

    def repeated(self, agent_id: str, command_id: str | None) -> bool:
        """True when this agent already sent `command_id`; otherwise remember it and return False."""
        if command_id is None:
            return False
        ids = self._ids.setdefault(agent_id, OrderedDict())
        if command_id in ids:
            ids.move_to_end(command_id)
            return True
        ids[command_id] = None
        if len(ids) > self._keep:
            ids.popitem(last=False)
        return False

    def forget(self, agent_id: str, command_id: str | None) -> None:
        """The command with this id was refused: a repeat of it is a new attempt."""
        if command_id is not None:
            self._ids.get(agent_id, OrderedDict()).pop(command_id, None)
