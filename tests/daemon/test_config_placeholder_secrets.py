"""The daemon refuses to serve beyond this machine with a published placeholder secret.

Before, docker/dialer.toml as shipped (port 8080 published on every address) accepted `Bearer
CHANGE_ME-supervisor-token` as a supervisor and desk sessions signed with the built-in session secret:
whoever had read the repository could run the floor. Only the default session secret was warned of. Now
`dialer run` (and `--check-config`) stops with a ConfigError naming each key whose value contains CHANGE_ME
(any case, `-` or `_`) or is a built-in default, and how to set it, when [http] host is not a loopback
address; on loopback (the demo, tests, a proxy on the same host) each is a warning.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from dialer.cli import main
from dialer.config import (
    DEFAULT_SESSION_SECRET,
    AmiSettings,
    ApiToken,
    DialerSettings,
    HttpSettings,
    check_placeholder_secrets,
    load_settings,
)
from dialer.credentials import hash_token
from dialer.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN = ROOT / "examples" / "campaigns" / "base_upsell.toml"
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
REAL = "q3J9vVn1s0mH2yTb7cXwZkPe4LrA8uGd"


def config(tmp_path: Path, host: str, *, secret: str = REAL, ami: str = REAL, password: str = "pw-of-ann-7",
           token: str = REAL) -> Path:
    p = tmp_path / "d.toml"
    p.write_text(f"""
[ami]
host = "pbx1"
secret = "{ami}"
[redis]
url = "redis://r:6379/0"
[mqtt]
url = "mqtt://m:1883"
[http]
host = "{host}"
session_secret = "{secret}"
[[agents]]
id = "ann"
extension = "1001"
password = "{password}"
[[api_tokens]]
name = "lead"
role = "supervisor"
token = "{token}"
[[campaigns]]
id = "base_upsell"
file = "{CAMPAIGN}"
""")
    return p


PLACEHOLDERS = dict(secret=DEFAULT_SESSION_SECRET, ami="CHANGE_ME-dialer-ami-secret", password="Change_Me-agent",
                    token="change-me-token")


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "::", "dialer.example.com"])
def test_placeholders_beyond_loopback_are_refused_naming_each_key_and_how_to_set_it(tmp_path, capsys, host):
    settings = load_settings(config(tmp_path, host, **PLACEHOLDERS))
    with pytest.raises(ConfigError) as err:
        check_placeholder_secrets(settings)
    text = str(err.value)
    for key in ("[http] session_secret", "[ami] secret", "[[agents]] ann password", "[[api_tokens]] 'lead' token"):
        assert key in text
    assert "secrets.token_urlsafe(32)" in text
    assert "dialer hash-password" in text
    assert "dialer hash-token" in text
    for value in PLACEHOLDERS.values():
        assert value not in text  # names the keys, never repeats a secret
    assert main(["run", "--config", str(config(tmp_path, host, **PLACEHOLDERS)), "--check-config"]) == 1
    assert "[http] session_secret" in capsys.readouterr().err


@pytest.mark.parametrize("key", sorted(PLACEHOLDERS))
def test_each_placeholder_alone_is_enough_to_refuse(tmp_path, key):
    settings = load_settings(config(tmp_path, "0.0.0.0", **{key: PLACEHOLDERS[key]}))
    with pytest.raises(ConfigError) as err:
        check_placeholder_secrets(settings)
    assert err.value.args[0].count("\n  [") == 1  # that key alone


def test_the_built_in_defaults_count_as_placeholders(tmp_path):
    with pytest.raises(ConfigError) as err:
        check_placeholder_secrets(DialerSettings(ami=AmiSettings(host="pbx1"), http=HttpSettings(host="0.0.0.0")))
    assert "[http] session_secret" in str(err.value)
    assert "[ami] secret" in str(err.value)


def test_docker_dialer_toml_as_shipped_does_not_start(capsys):
    with pytest.raises(ConfigError) as err:
        check_placeholder_secrets(load_settings(ROOT / "docker" / "dialer.toml"))
    text = str(err.value)
    for key in ("[http] session_secret", "[ami] secret", "[[agents]] agent1001 password",
                "[[agents]] agent1003 password", "[[api_tokens]] 'supervisor' token"):
        assert key in text
    # the loopback way out is not one here: 127.0.0.1 inside the container makes the published port unreachable
    assert '[http] host = "127.0.0.1"' in text
    assert "outside a container" in text
    assert main(["run", "--config", str(ROOT / "docker" / "dialer.toml"), "--check-config"]) == 1
    assert "configuration error" in capsys.readouterr().err


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "localhost"])
def test_on_loopback_each_placeholder_is_a_warning(tmp_path, capsys, host):
    warnings = check_placeholder_secrets(load_settings(config(tmp_path, host, **PLACEHOLDERS)))
    assert len(warnings) == 4
    assert all("published placeholder" in w for w in warnings)
    assert main(["run", "--config", str(config(tmp_path, host, **PLACEHOLDERS)), "--check-config"]) == 0
    err = capsys.readouterr().err
    assert "WARNING: [http] session_secret" in err
    assert "change-me-token" not in err


def test_with_the_http_server_off_only_warnings(tmp_path):
    settings = load_settings(config(tmp_path, "0.0.0.0", **PLACEHOLDERS))
    off = settings.model_copy(update={"http": settings.http.model_copy(update={"enabled": False})})
    warnings = check_placeholder_secrets(off)
    assert len(warnings) == 3  # the session secret signs nothing then


def test_real_values_start_beyond_loopback(tmp_path, capsys):
    hashed = FAST.hash("pw-of-ann-7")
    p = config(tmp_path, "0.0.0.0")
    p.write_text(p.read_text().replace('password = "pw-of-ann-7"', f'password_hash = "{hashed}"')
                 .replace(f'token = "{REAL}"', f'token_sha256 = "{hash_token(REAL)}"'))
    settings = load_settings(p)
    assert check_placeholder_secrets(settings) == []
    assert main(["run", "--config", str(p), "--check-config"]) == 0
    assert "placeholder" not in capsys.readouterr().err


def test_the_embedded_simulator_s_ami_secret_is_no_placeholder(tmp_path):
    settings = DialerSettings(http=HttpSettings(host="0.0.0.0", session_secret=REAL),  # type: ignore[arg-type]
                              api_tokens=[ApiToken(name="t", token=REAL)])  # type: ignore[arg-type]
    assert settings.ami.host == "embedded"
    assert check_placeholder_secrets(settings) == []


def test_examples_dialer_toml_checks_and_warns_on_loopback(capsys):
    settings = load_settings(ROOT / "examples" / "dialer.toml")
    assert settings.http.host == "127.0.0.1"
    assert check_placeholder_secrets(settings)  # its change-me values, warned of


def test_the_desk_warns_of_the_default_session_secret_saying_how_to_make_one(caplog):
    from types import SimpleNamespace

    from agents.desk import build_desk

    class _Daemon(SimpleNamespace):  # weak-referenceable and hashable, as a real daemon is
        __hash__ = object.__hash__

    daemon = _Daemon(settings=DialerSettings(), engine=SimpleNamespace(screenpop=None))
    with caplog.at_level(logging.WARNING, logger="agents.desk"):
        build_desk(daemon)  # type: ignore[arg-type]
    assert "default session secret" in caplog.text
    assert "secrets.token_urlsafe(32)" in caplog.text
