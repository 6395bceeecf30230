"""Agents' passwords and API tokens may be kept hashed in the config file, and those kept in clear are warned of.

Before, `[[agents]] password` and `[[api_tokens]] token` were the only way, in clear: whoever read a copied,
committed or backed-up config could log in as any agent or call the API. Now `password_hash` (Argon2id) and
`token_sha256` take their place, exactly one of the two per entry; a malformed hash is refused when the config
is read, naming the agent, not found out when the agent cannot log in.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher, Type

from dialer.cli import main
from dialer.config import check_credentials, load_settings
from dialer.credentials import check_password_hash, hash_token
from dialer.errors import ConfigError

CAMPAIGN = Path(__file__).resolve().parents[2] / "examples" / "campaigns" / "base_upsell.toml"
# cheap parameters: the test checks what is accepted, not how slow a guess is
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
GOOD = FAST.hash("ann-pw")
TOKEN = "a-long-random-token-for-the-floor-supervisor"


def config(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "d.toml"
    p.write_text(text + f"\n[[campaigns]]\nid = 'base_upsell'\nfile = '{CAMPAIGN}'\n")
    return p


def agent(**secret: str) -> str:
    return "[[agents]]\nid = 'ann'\nextension = '1001'\n" + "".join(f"{k} = '{v}'\n" for k, v in secret.items())


def token(**secret: str) -> str:
    return "[[api_tokens]]\nname = 'lead'\nrole = 'supervisor'\n" + "".join(f"{k} = '{v}'\n" for k, v in secret.items())


def test_a_hashed_password_and_a_hashed_token_load_without_a_warning(tmp_path):
    text = agent(password_hash=GOOD) + token(token_sha256=hash_token(TOKEN).upper())
    settings = load_settings(config(tmp_path, text))
    assert settings.agents[0].password_hash == GOOD
    assert settings.agents[0].password is None
    assert settings.api_tokens[0].token_sha256 == hash_token(TOKEN)  # hex digits in either case, kept lower
    assert check_credentials(settings) == []


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (agent(), "agent ann: set exactly one of password_hash"),
        (agent(password="pw", password_hash=GOOD), "agent ann: set exactly one of password_hash"),
        (token(), "api token 'lead': set exactly one of token_sha256"),
        (token(token="t", token_sha256=hash_token(TOKEN)), "api token 'lead': set exactly one of token_sha256"),
        (token(token_sha256="abc123"), "api token 'lead': token_sha256 must be the 64 hex digits"),
        (token(token_sha256="g" * 64), "api token 'lead': token_sha256 must be the 64 hex digits"),
    ],
)
def test_exactly_one_of_clear_and_hashed_is_required_naming_the_entry(tmp_path, capsys, text, words):
    with pytest.raises(ConfigError) as err:
        load_settings(config(tmp_path, text))
    assert words in str(err.value)
    assert main(["run", "--config", str(config(tmp_path, text)), "--check-config"]) == 1
    assert words in capsys.readouterr().err


_SALT, _DIGEST = GOOD.split("$")[-2:]


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ("ann-pw", "not an Argon2 hash"),
        ("$2b$12$abcdefghijklmnopqrstuu", "not an Argon2 hash"),  # bcrypt
        (PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.I).hash("x"),
         "is an argon2i hash; the dialer takes Argon2id"),
        (f"$argon2id$v=16$m=8,t=1,p=1${_SALT}${_DIGEST}", "version 16, not 19"),
        (f"$argon2id$m=8,t=1,p=1${_SALT}${_DIGEST}", "version 18, not 19"),  # the old v1.2 spelling
        (f"$argon2id$v=19$m=4,t=1,p=1${_SALT}${_DIGEST}", "parameters Argon2 refuses (m=4, t=1, p=1"),
        (f"$argon2id$v=19$m=8,t=0,p=1${_SALT}${_DIGEST}", "parameters Argon2 refuses"),
        (f"$argon2id$v=19$m=16,t=1,p=0${_SALT}${_DIGEST}", "parameters Argon2 refuses"),
        (f"$argon2id$v=19$m=4194304,t=1,p=1${_SALT}${_DIGEST}", "more than 2097152 (2 GiB)"),
        (f"$argon2id$v=19$m=8,t=1,p=1${_SALT}${_DIGEST}=", "not unpadded base64"),
        (f"$argon2id$v=19$m=8,t=1,p=1${_SALT[:4]}${_DIGEST}", "not unpadded base64 of at least 8"),
        (f"$argon2id$v=19$m=8,t=1,p=1${_SALT}${_DIGEST[:-1]}B", "cannot be decoded"),  # stray low bits
        (f"$argon2id$v=19$m=8,t=1,p=1${_SALT}${_DIGEST}AB", "cannot be decoded"),  # 1 mod 4 characters
    ],
)
def test_a_malformed_hash_is_refused_when_the_config_is_read_naming_the_agent(tmp_path, bad, words):
    with pytest.raises(ConfigError) as err:
        load_settings(config(tmp_path, agent(password_hash=bad)))
    assert "setting agents.0: Value error, agent ann: password_hash" in str(err.value)
    assert words in str(err.value)
    assert "dialer hash-password" in str(err.value)


def test_the_hash_check_agrees_with_what_the_library_verifies():
    assert check_password_hash(GOOD) == GOOD
    assert check_password_hash(PasswordHasher().hash("x")).startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_passwords_and_tokens_in_clear_still_work_but_are_warned_of_once_each(tmp_path, capsys):
    text = (agent(password="pw") + "[[agents]]\nid = 'bob'\nextension = '1002'\n"
            f"password_hash = '{GOOD}'\n" + token(token="change-me-token"))
    settings = load_settings(config(tmp_path, text))
    assert settings.agents[0].password is not None
    assert settings.agents[0].password.get_secret_value() == "pw"
    warnings = check_credentials(settings)
    assert len(warnings) == 2
    assert warnings[0].startswith("agent ann: the password is stored in clear")
    assert "dialer hash-password" in warnings[0]
    assert warnings[1].startswith("api token 'lead': the token is stored in clear")
    assert "dialer hash-token" in warnings[1]
    assert main(["run", "--config", str(config(tmp_path, text)), "--check-config"]) == 0
    err = capsys.readouterr().err
    assert err.count("stored in clear") == 2
    assert "WARNING: agent ann: the password is stored in clear" in err
    assert "change-me-token" not in err  # the warning never repeats the secret


def test_the_hashed_lines_commented_in_examples_dialer_toml_stand_for_its_clear_ones(tmp_path):
    text = (Path(__file__).resolve().parents[2] / "examples" / "dialer.toml").read_text()
    hashed = (text.replace('password = "change-me-agent"\n', "").replace("# password_hash = ", "password_hash = ")
              .replace('token = "change-me-token"\n', "").replace("# token_sha256 = ", "token_sha256 = "))
    p = tmp_path / "hashed.toml"
    p.write_text(hashed)
    settings = load_settings(p)
    [ann] = settings.agents
    assert ann.password is None
    assert PasswordHasher().verify(ann.password_hash or "", "change-me-agent")
    [lead] = settings.api_tokens
    assert (lead.token, lead.token_sha256) == (None, hash_token("change-me-token"))
    assert check_credentials(settings) == []


def test_dialer_hash_password_uses_owasp_s_argon2id_minimum_so_a_shift_s_logins_do_not_queue():
    # the desk verifies one login at a time: the library's RFC 9106 profile (64 MiB, t 3, p 4) costs about
    # five times as much per login
    from argon2 import extract_parameters

    from dialer.credentials import hash_password, verify_password

    made = hash_password("s3cret pass")
    p = extract_parameters(made)
    assert (p.type, p.memory_cost, p.time_cost, p.parallelism) == (Type.ID, 19 * 1024, 2, 1)
    assert check_password_hash(made) == made
    assert verify_password(made, "s3cret pass")
    assert not verify_password(made, "s3cret pas")
