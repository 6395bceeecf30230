"""manager.conf: the `dialer` AMI user can do exactly what the daemon does, and nothing dangerous."""

from __future__ import annotations

import ipaddress

import pytest
from astconf_files import as_dict, csv_set, load, one, value, values

# Classes Asterisk requires per action (main/manager.c and main/features.c, Asterisk 20/22):
# the action runs when the user's write classes share one with these; empty = no right needed.
ACTION_CLASSES = {
    "Originate": {"originate"},
    "Redirect": {"call"},
    "Hangup": {"system", "call"},
    "Bridge": {"call"},
    "Ping": set(),
    "Status": {"system", "call", "reporting"},
    "CoreShowChannels": {"system", "reporting"},
    "Getvar": {"call", "reporting"},  # a call an earlier process left: its campaign and lead (DIALER_*)
    "CoreSettings": {"system", "reporting"},
    "DBGet": {"system", "reporting"},  # main/db.c: the answer marks read back after an AMI outage
    "Logoff": set(),
}
# Classes of the events the daemon relies on (the real transcript in tests/fixtures/ami/ shows them):
# Newchannel, Newstate, Dial*, OriginateResponse, Bridge*, Hangup* are `call`; UserEvent is `user`;
# FullyBooted (the daemon waits for it after a login: Asterisk opens AMI before loading its modules) and
# Shutdown are `system`.
NEEDED_EVENT_CLASSES = {"call", "user", "system"}
# Writing `system`, `command` or `config` lets a client run shell commands, rewrite configuration or
# restart the PBX. Reading a class only decides which events arrive, so `system` may be read.
NEVER = {"write": {"system", "command", "config", "all"}, "read": {"command", "config", "all"}}
KNOWN_CLASSES = {
    "system", "call", "log", "verbose", "command", "agent", "user", "config", "dtmf", "reporting",
    "cdr", "dialplan", "originate", "agi", "cc", "aoc", "test", "security", "message", "all",
}  # fmt: skip


@pytest.fixture(scope="module")
def manager():
    return load("manager.conf")


def users(manager) -> list:
    return [c for c in manager.categories if c.name != "general"]


def test_ami_is_enabled_without_http(manager):
    general = as_dict(one(manager, "general"))
    assert general["enabled"] == "yes"
    assert general["webenabled"] == "no"
    assert general["port"] == "5038"
    assert general["timestampevents"] == "yes"


def test_the_dialer_user_is_the_only_user(manager):
    assert [u.name for u in users(manager)] == ["dialer"]


@pytest.mark.parametrize("action", sorted(ACTION_CLASSES))
def test_every_action_the_daemon_sends_is_allowed(manager, action):
    write = csv_set(value(one(manager, "dialer"), "write"))
    required = ACTION_CLASSES[action]
    assert not required or required & write, f"{action} needs one of {sorted(required)}, write is {write}"


def test_every_event_class_the_daemon_needs_is_readable(manager):
    read = csv_set(value(one(manager, "dialer"), "read"))
    assert read >= NEEDED_EVENT_CLASSES


def test_rights_are_the_minimal_set(manager):
    user = one(manager, "dialer")
    read, write = csv_set(value(user, "read")), csv_set(value(user, "write"))
    assert read <= {"call", "user", "system"}
    assert write <= {"originate", "call", "reporting"}
    # Each write class is needed by some action that no other granted class already allows.
    for cls in write:
        rest = write - {cls}
        assert any(req and not (req & rest) for req in ACTION_CLASSES.values()), f"write {cls} is unused"


@pytest.mark.parametrize("key", ["read", "write"])
def test_no_user_gets_dangerous_rights(manager, key):
    for user in users(manager):
        for text in values(user, key):
            granted = csv_set(text)
            assert granted <= KNOWN_CLASSES, f"[{user.name}] {key} has unknown classes"
            assert not granted & NEVER[key], f"[{user.name}] {key} grants {sorted(granted & NEVER[key])}"


def test_only_the_dialer_host_may_log_in(manager):
    user = one(manager, "dialer")
    assert values(user, "deny") == ["0.0.0.0/0.0.0.0"]
    permits = values(user, "permit")
    assert permits, "no permit: nobody could log in"
    for permit in permits:
        net = ipaddress.ip_network(permit.replace("/255.255.255.255", "/32"), strict=True)
        assert net.num_addresses == 1, f"permit {permit} opens more than the dialer's host"
    lines = [item.name for item in user.items if item.name in ("deny", "permit")]
    assert lines[0] == "deny", "deny everything first, then permit the dialer"


def test_secret_is_an_obvious_placeholder(manager):
    secret = value(one(manager, "dialer"), "secret")
    assert "CHANGE_ME" in secret


def test_dialplan_noise_is_filtered(manager):
    user = one(manager, "dialer")
    filters = {item.name.replace(" ", "") for item in user.items if item.name.startswith("eventfilter")}
    for event in ("Newexten", "VarSet"):
        assert f"eventfilter(action(exclude),name({event}))" in filters
    assert "dialplan" not in csv_set(value(user, "read"))


def test_write_timeout_tolerates_a_busy_client(manager):
    assert int(value(one(manager, "dialer"), "writetimeout")) >= 1000
