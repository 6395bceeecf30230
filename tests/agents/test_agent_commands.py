"""Agents' commands as they arrive (JSON over MQTT or HTTP): parsed once at the edge, with their ids."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agents.commands import (
    Disposition,
    Pause,
    PreviewDial,
    PreviewSkip,
    Ready,
    RecentCommands,
    parse_agent_command,
)


def test_a_command_parses_with_and_without_its_id():
    assert parse_agent_command("a1", b'{"type": "ready"}') == (Ready("a1"), None)
    cmd, cid = parse_agent_command("a1", '{"type": "disposition", "call_id": "c1", "code": "sale", "id": "k-1"}')
    assert (cmd, cid) == (Disposition("a1", "c1", "sale"), "k-1")
    assert parse_agent_command("a1", b'{"type": "pause", "reason": "lunch", "id": "7"}') == (Pause("a1", "lunch"), "7")


def test_preview_commands_parse_for_agents_without_the_desk():
    assert parse_agent_command("a1", b'{"type": "preview_dial", "lead_id": "L7", "number_index": 1, "id": "p1"}') == (
        PreviewDial("a1", "L7", 1), "p1")
    assert parse_agent_command("a1", b'{"type": "preview_skip", "lead_id": "L7"}') == (
        PreviewSkip("a1", "L7", "skipped"), None)
    with pytest.raises(ValidationError) as err:
        parse_agent_command("a1", b'{"type": "preview_dial", "lead_id": "L7", "number_index": -1}')
    assert err.value.errors()[0]["loc"][-1] == "number_index"


@pytest.mark.parametrize("bad", ['{"type": "ready", "id": ""}', '{"type": "ready", "id": "has space"}',
                                 '{"type": "ready", "id": 5}', '{"type": "ready", "id": "' + "x" * 65 + '"}'])
def test_a_bad_command_id_is_refused_with_the_field_named(bad):
    with pytest.raises(ValidationError) as err:
        parse_agent_command("a1", bad)
    assert err.value.errors()[0]["loc"][-1] == "id"


def test_an_id_is_applied_once_per_agent_and_the_memory_is_bounded():
    seen = RecentCommands(keep=3)
    assert not seen.repeated("a1", "x")
    assert seen.repeated("a1", "x")
    assert not seen.repeated("a2", "x")  # another agent's ids are its own
    assert not seen.repeated("a1", None)  # no id: nothing to recognise a repeat by
    assert not seen.repeated("a1", None)
    for cid in ("y", "z", "w"):
        assert not seen.repeated("a1", cid)
    assert not seen.repeated("a1", "x")  # the oldest of more than `keep` is forgotten
    assert seen.repeated("a1", "w")
