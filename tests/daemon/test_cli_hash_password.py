"""`dialer hash-password` and `dialer hash-token` print the config lines of hashed credentials.

The password comes from the terminal without echo (asked twice) or, for scripts, from standard input; the
line printed is pasted into [[agents]] (password_hash) or [[api_tokens]] (token_sha256) and loads as such.
"""

from __future__ import annotations

import getpass
import hashlib
import io
import tomllib

import pytest
from argon2 import PasswordHasher

from dialer.cli import main
from dialer.config import AgentAccount, ApiToken


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(monkeypatch, capsys, argv: list[str], stdin: io.StringIO) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", stdin)
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_hash_password_reads_stdin_and_prints_a_line_the_library_verifies(monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, ["hash-password"], io.StringIO("  pass with spaces \r\nignored\n"))
    assert code == 0
    [line] = out.splitlines()
    stored = tomllib.loads(line)["password_hash"]
    assert stored.startswith("$argon2id$v=19$")
    assert PasswordHasher().verify(stored, "  pass with spaces ")
    account = AgentAccount(id="ann", extension="1001", password_hash=stored)  # pasted, it loads
    assert account.password is None


def test_hash_password_on_a_terminal_asks_twice_without_echo(monkeypatch, capsys):
    answers = iter(["s3cret", "s3cret"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt: next(answers))
    code, out, _ = run(monkeypatch, capsys, ["hash-password"], Tty())
    assert code == 0
    assert PasswordHasher().verify(tomllib.loads(out)["password_hash"], "s3cret")

    answers = iter(["s3cret", "s3cre"])
    code, out, err = run(monkeypatch, capsys, ["hash-password"], Tty())
    assert (code, out) == (1, "")
    assert "the two passwords differ" in err


def test_an_empty_password_prints_nothing(monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, ["hash-password"], io.StringIO(""))
    assert (code, out) == (1, "")
    assert "empty password" in err


def test_hash_token_prints_the_sha256_line_and_warns_of_a_short_token(monkeypatch, capsys):
    token = "Zm9vYmFyLWxvbmctcmFuZG9tLXRva2Vu"
    code, out, err = run(monkeypatch, capsys, ["hash-token"], io.StringIO(token + "\n"))
    assert (code, err) == (0, "")
    digest = tomllib.loads(out)["token_sha256"]
    assert digest == hashlib.sha256(token.encode()).hexdigest()
    assert ApiToken(name="lead", token_sha256=digest).token_sha256 == digest

    code, out, err = run(monkeypatch, capsys, ["hash-token"], io.StringIO("short\n"))
    assert code == 0
    assert tomllib.loads(out)["token_sha256"] == hashlib.sha256(b"short").hexdigest()
    assert "the token is 5 characters long" in err


@pytest.mark.parametrize("command", ["hash-password", "hash-token"])
def test_help_says_where_the_line_goes(capsys, command):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert ("[[agents]]" if command == "hash-password" else "[[api_tokens]]") in out
    assert "first line of standard input" in out
