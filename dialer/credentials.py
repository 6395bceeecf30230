"""Hashed credentials in the config file: agents' passwords (Argon2id) and API tokens (SHA-256).

Config files get copied, committed and backed up, so what they hold must not log anyone in. An agent's
`password_hash` is an Argon2id hash (argon2-cffi's `PasswordHasher`): a password a person chose is short
and guessable, so its hash must be slow to try. `dialer hash-password` makes it with OWASP's recommended
minimum (19 MiB, 2 passes, 1 lane), not the library's RFC 9106 low-memory profile (64 MiB, 3 passes, 4
lanes): the desk verifies one login at a time (so a burst of guesses meets the rate limit in turn), and at
a shift's start a hundred agents log in within a minute: about 0.03 s each instead of 0.17 s on our
machines. A hash made with other parameters keeps them; the login verifies what the hash says. An API token's
`token_sha256` is the hex SHA-256 of the token: tokens are long random strings, which no amount of
guessing reaches, so a fast hash is enough and every request can afford it.

`dialer hash-password` and `dialer hash-token` print the lines to paste into the config. A hash is checked
in full when the config is read (`check_password_hash`), so a malformed one is a config error naming the
agent, never a login that fails for a reason nobody can see.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections import Counter
from collections.abc import Iterable

from argon2 import PasswordHasher, Type, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from dialer.errors import ConfigError

__all__ = [
    "HASH_PASSWORD_HINT",
    "HASH_TOKEN_HINT",
    "MAX_MEMORY_KIB",
    "check_password_hash",
    "check_token_sha256",
    "decoy_hash",
    "hash_password",
    "hash_token",
    "token_digest",
    "verify_password",
]

HASH_PASSWORD_HINT = "run `dialer hash-password` and paste the password_hash line it prints"
HASH_TOKEN_HINT = "run `dialer hash-token` and paste the token_sha256 line it prints"

# RFC 9106's first recommended option (2 GiB, its most memory-hungry); a hash asking more would have
# every login allocate it, and fail at login where the memory is not there
MAX_MEMORY_KIB = 2 * 1024 * 1024
_MAX_LANES = 2**24 - 1  # the Argon2 reference implementation's limit on parallelism
_B64 = re.compile(r"^[A-Za-z0-9+/]+$")
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
# OWASP Password Storage Cheat Sheet, Argon2id: m=19 MiB, t=2, p=1 (see the module's docstring)
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_password(password: str) -> str:
    """The Argon2id hash of `password` (OWASP's minimum parameters), as `password_hash` takes it."""
    return _hasher.hash(password)


def check_password_hash(text: str) -> str:
    """`text` when it is an Argon2id hash the login can verify, else ValueError saying what is wrong.

    The library's own decoder reads the salt and hash parts (verifying against the hash's salt and
    digest at the smallest cost, so this takes microseconds, not a login's worth of work); the
    parameters are checked here, against the limits the verification would refuse them by."""
    try:
        params = extract_parameters(text)
    except InvalidHashError:
        raise ValueError("password_hash is not an Argon2 hash ($argon2id$v=19$m=...,t=...,p=...$<salt>$<hash>); "
                         + HASH_PASSWORD_HINT) from None
    if params.type is not Type.ID:
        raise ValueError(f"password_hash is an {text.split('$')[1]} hash; the dialer takes Argon2id: "
                         + HASH_PASSWORD_HINT)
    if params.version != 0x13:
        raise ValueError(f"password_hash has Argon2 version {params.version}, not 19; " + HASH_PASSWORD_HINT)
    m, t, p = params.memory_cost, params.time_cost, params.parallelism
    if not 1 <= p <= _MAX_LANES or t < 1 or m < 8 * p:
        raise ValueError(f"password_hash has parameters Argon2 refuses (m={m}, t={t}, p={p}: t and p at least 1, "
                         "m at least 8 * p); " + HASH_PASSWORD_HINT)
    if m > MAX_MEMORY_KIB:
        raise ValueError(f"password_hash asks m={m} KiB of memory for every login, more than {MAX_MEMORY_KIB} "
                         "(2 GiB); " + HASH_PASSWORD_HINT)
    salt, digest = text.split("$")[-2:]
    if not _B64.match(salt) or not _B64.match(digest) or params.salt_len < 8 or params.hash_len < 4:
        raise ValueError("password_hash: its salt or hash part is not unpadded base64 of at least 8 and 4 bytes; "
                         + HASH_PASSWORD_HINT)
    try:
        _hasher.verify(f"$argon2id$v=19$m=8,t=1,p=1${salt}${digest}", "")
    except VerifyMismatchError:
        pass  # decoded: the only outcome expected (an empty password matching is one in 2**32 at worst)
    except (VerificationError, InvalidHashError) as exc:
        raise ValueError(f"password_hash cannot be decoded ({exc}); " + HASH_PASSWORD_HINT) from None
    return text


def verify_password(password_hash: str, password: str | bytes) -> bool:
    """Whether `password` is the one `password_hash` (checked by `check_password_hash`) was made from.
    Raises ConfigError when the hash cannot be verified at all (memory refused, say)."""
    try:
        return _hasher.verify(password_hash, password)
    except VerifyMismatchError:
        return False
    except (VerificationError, InvalidHashError) as exc:
        raise ConfigError(f"a password_hash could not be verified ({exc}); {HASH_PASSWORD_HINT}") from None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def decoy_hash(hashes: Iterable[str]) -> str | None:
    """A hash no password matches, costing what verifying the accounts' hashes costs: their most common
    parameters, salt and hash lengths, with random bytes. Verified for an unknown agent id, so that its
    refusal takes as long as a wrong password's. None without hashes (the accounts' passwords are in clear)."""
    counts = Counter(
        (p.memory_cost, p.time_cost, p.parallelism, p.salt_len, p.hash_len)
        for p in (extract_parameters(h) for h in hashes)
    )
    if not counts:
        return None
    (m, t, p, salt_len, hash_len), _ = counts.most_common(1)[0]
    return (f"$argon2id$v=19$m={m},t={t},p={p}"
            f"${_b64(secrets.token_bytes(salt_len))}${_b64(secrets.token_bytes(hash_len))}")


def hash_token(token: str) -> str:
    """The hex SHA-256 of an API token, as `token_sha256` takes it."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_digest(token: str) -> bytes:
    """The SHA-256 of an API token, as `tokens_match` compares it."""
    return hashlib.sha256(token.encode()).digest()


def check_token_sha256(text: str) -> str:
    """`text` in lower case when it is 64 hex digits, else ValueError saying what to put there."""
    if not _HEX64.match(text):
        raise ValueError(f"token_sha256 must be the 64 hex digits of the token's SHA-256 (got {len(text)} "
                         "characters); " + HASH_TOKEN_HINT)
    return text.lower()
