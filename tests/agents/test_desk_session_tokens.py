"""Desk session tokens (PyJWT, HS256): whatever string arrives as a token, the signer accepts one it issued
or raises SessionInvalid, with the same words as before the library took over (routes turn it into a 401);
nothing else escapes, tampered, expired, wrong-key and malformed tokens included."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import warnings

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.desk.auth import Session, SessionInvalid, SessionSigner

T0 = 1_800_000_000.0
SIGNATURE = "signature does not match"
MALFORMED = "malformed"


class Clock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def signer(secret: str = "s3cret", ttl_s: float = 3600, clock: Clock | None = None) -> SessionSigner:
    return SessionSigner(secret, ttl_s, now=clock or Clock())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(obj: object) -> str:
    return b64(json.dumps(obj).encode())


def refused(s: SessionSigner, token: str, match: str | None = None) -> None:
    with pytest.raises(SessionInvalid, match=match):
        s.verify(token)


def claims(**over: object) -> dict[str, object]:
    return {"sub": "ann", "exp": int(T0) + 60, "jti": "j1", **over}


def forge(body: dict[str, object], key: str | bytes | None, algorithm: str) -> str:
    """A token as someone else would sign it: PyJWT warns of keys short for the algorithm; the forger does
    not care."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jwt.encode(body, key, algorithm=algorithm)


# ------------------------------------------------------------------ what a token is


def test_a_token_is_an_hs256_jwt_carrying_sub_exp_and_jti():
    s = signer()
    issued = s.issue("ann")
    assert jwt.get_unverified_header(issued.token) == {"alg": "HS256", "typ": "JWT"}
    body = jwt.decode(issued.token, options={"verify_signature": False})
    assert body == {"sub": "ann", "exp": int(T0) + 3600, "jti": issued.jti}
    assert len({s.issue("ann").jti for _ in range(20)}) == 20  # every login its own id, for the logout list


def test_the_key_is_derived_from_the_secret_not_the_secret_itself():
    # the same secret used elsewhere (another HS256 JWT, a plain HMAC) never signs a token the desk accepts
    s = signer("s3cret")
    refused(s, forge(claims(), "s3cret", "HS256"), SIGNATURE)
    refused(s, forge(claims(), b"s3cret".ljust(32, b"\0"), "HS256"), SIGNATURE)
    derived = hmac.new(b"telecom-dialer agent-desk session v1", b"s3cret", hashlib.sha256).digest()
    assert s.verify(jwt.encode(claims(), derived, algorithm="HS256")).agent_id == "ann"  # the derivation as before


# ------------------------------------------------------------------ forged and tampered


def test_tokens_of_another_secret_are_refused_both_ways():
    a, b = signer("one secret"), signer("another secret")
    refused(a, b.issue("ann").token, SIGNATURE)
    refused(b, a.issue("ann").token, SIGNATURE)


def test_an_edited_header_payload_or_signature_is_refused():
    s = signer()
    header, payload, sig = s.issue("ann").token.split(".")
    edits = {
        "payload as bob": f"{header}.{b64json(claims(sub='bob'))}.{sig}",
        "payload's expiry pushed back": f"{header}.{b64json(claims(exp=int(T0) + 10**9))}.{sig}",
        "header naming HS512": f"{b64json({'alg': 'HS512', 'typ': 'JWT'})}.{payload}.{sig}",
        "signature of another token": f"{header}.{payload}.{s.issue('ann').token.split('.')[2]}",
        "signature's first character": f"{header}.{payload}.{'B' if sig[0] == 'A' else 'A'}{sig[1:]}",
    }
    for name, token in edits.items():
        with pytest.raises(SessionInvalid, match=SIGNATURE):
            s.verify(token)
        assert name


def test_a_token_naming_another_algorithm_or_none_is_refused_whatever_it_carries():
    s = signer()
    key = s._key
    unsigned = forge(claims(), None, "none")  # the classic JWT forgery: alg none, no signature
    refused(s, unsigned, SIGNATURE)
    refused(s, unsigned + "c2ln", SIGNATURE)
    refused(s, forge(claims(), key, "HS512"), SIGNATURE)  # the right key, an algorithm not pinned
    refused(s, forge(claims(), key, "HS384"), SIGNATURE)
    no_alg = f"{b64json({'typ': 'JWT'})}.{b64json(claims())}.{s.issue('ann').token.split('.')[2]}"
    refused(s, no_alg, SIGNATURE)


# ------------------------------------------------------------------ expired


def test_a_token_is_accepted_until_its_expiry_second_and_refused_from_it():
    clock = Clock()
    s = signer(ttl_s=60, clock=clock)
    token = s.issue("ann").token
    clock.t = T0 + 59.999
    assert s.verify(token).expires_at == T0 + 60
    clock.t = T0 + 60  # exp <= now: expired, as before
    refused(s, token, "expired")
    clock.t = T0 + 10**6
    refused(s, token, "expired")


def test_expiry_follows_the_signers_clock_not_the_wall_clock():
    # PyJWT would compare exp with the wall clock; the desk compares it with the signer's clock
    past = Clock(1_000_000.0)  # 1970
    assert signer(clock=past).verify(signer(clock=past).issue("ann").token).agent_id == "ann"
    future = Clock(4_000_000_000.0)  # 2096
    token = signer(clock=Clock(T0)).issue("ann").token
    refused(signer(clock=future), token, "expired")


async def test_check_refuses_an_expired_token_as_verify_does():
    clock = Clock()
    s = signer(ttl_s=60, clock=clock)
    token = s.issue("ann").token
    clock.t += 61
    with pytest.raises(SessionInvalid, match="expired"):
        await s.check(token)


# ------------------------------------------------------------------ correctly signed, wrong claims


@pytest.mark.parametrize("body", [
    {"exp": int(T0) + 60, "jti": "j"},  # no sub
    {"sub": "ann", "jti": "j"},  # no exp
    {"sub": "ann", "exp": int(T0) + 60},  # no jti
    claims(sub=None), claims(exp=None), claims(jti=None),
    claims(sub=7), claims(sub=["ann"]), claims(jti=7), claims(jti={"a": 1}),
    claims(exp="1800000060"), claims(exp=1800000060.5), claims(exp=True), claims(exp=[1]), claims(exp={"a": 1}),
])
def test_a_correctly_signed_token_without_the_three_claims_as_issued_is_malformed(body):
    s = signer()
    refused(s, jwt.encode(body, s._key, algorithm="HS256"), MALFORMED)


def test_a_correctly_signed_payload_that_is_not_a_json_object_is_malformed():
    s = signer()
    for payload in (b"not json", b"[1, 2]", b'"ann"', b"", b"[" * 5000 + b"]" * 5000):
        token = jwt.api_jws.encode(payload, s._key, algorithm="HS256")
        refused(s, token, None)


def test_an_expiry_far_beyond_any_clock_is_a_long_session_or_malformed_never_a_crash():
    s = signer()
    assert s.verify(jwt.encode(claims(exp=10**30), s._key, algorithm="HS256")).expires_at == 1e30
    refused(s, jwt.encode(claims(exp=10**400), s._key, algorithm="HS256"), MALFORMED)  # no float holds it


# ------------------------------------------------------------------ malformed


GARBAGE = [
    "", " ", ".", "..", "...", "a.b", "a.b.c", "a.b.c.d", "Bearer x", "null", "{}", "[]",
    "eyJhbGciOiJIUzI1NiJ9", "eyJhbGciOiJIUzI1NiJ9..", "!!!.@@@.###", "a\x00b.c.d", "\n.\n.\n",
    f"{b64json([1, 2])}.{b64json(claims())}.c2ln",  # header not an object
    f"{b64json('HS256')}.{b64json(claims())}.c2ln",
    f"{b64(b'{')}.{b64json(claims())}.c2ln",  # header not JSON
    f"{b64json({'alg': 'HS256', 'kid': 7})}.{b64json(claims())}.c2ln",  # kid must be a string
    f"{b64json({'alg': ['HS256']})}.{b64json(claims())}.c2ln",  # unhashable alg
    f"{b64json({'alg': {'a': 1}})}.{b64json(claims())}.c2ln",
    f"{b64json({'alg': 'HS256', 'b64': False})}..c2ln",  # detached payload asked for
    f"{b64json({'alg': 'HS256', 'b64': False, 'crit': ['b64']})}..c2ln",
    f"{b64(b'[' * 700)}.{b64json(claims())}.c2ln",  # nested as deep as the length cap allows
    f"{b64json({'alg': 'HS256'})}.{b64json(claims())}.====",
    f"{b64json({'alg': 'HS256'})}.!!!!.c2ln",
]


@pytest.mark.parametrize("bad", GARBAGE)
def test_garbage_is_refused(bad):
    refused(signer(), bad)


@pytest.mark.parametrize("bad", [
    "é", "ünïcödé.tökén.sïg", "\ud800", "a.\udfff.b", "\u202e.\u202e.\u202e", "😀" * 10,
])
def test_non_ascii_tokens_are_malformed(bad):
    refused(signer(), bad, MALFORMED)


def test_a_valid_token_with_non_ascii_anywhere_is_malformed():
    token = signer().issue("ann").token
    for at in (0, len(token) // 2, len(token)):
        for odd in ("é", "\ud800", "\x80"):
            refused(signer(), token[:at] + odd + token[at:], MALFORMED)


def test_every_truncation_of_a_valid_token_is_refused():
    s = signer()
    token = s.issue("ann").token
    for n in range(len(token)):
        refused(s, token[:n])
        refused(s, token[n + 1:])


def test_huge_tokens_are_malformed():
    s = signer()
    token = s.issue("ann").token
    for huge in (token + "A" * 1024, "A" * 1025, "x." * 600_000, token + "." + token * 10):
        refused(s, huge, MALFORMED)
    assert len(s.issue("a" * 64).token) < 1024  # the longest agent id leaves room under the cap


# ------------------------------------------------------------------ any string


def same(a: Session, b: Session) -> bool:
    return (a.agent_id, a.expires_at, a.jti) == (b.agent_id, b.expires_at, b.jti)


_S = signer()
_ISSUED = _S.issue("ann")


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.text(max_size=1200))
def test_any_string_is_refused_with_session_invalid(text):
    with pytest.raises(SessionInvalid):
        _S.verify(text)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/", max_size=400))
def test_any_string_of_token_characters_is_refused_with_session_invalid(text):
    with pytest.raises(SessionInvalid):
        _S.verify(text)


@settings(max_examples=600, deadline=None, derandomize=True)
@given(st.data())
def test_an_edited_token_is_refused_or_reads_exactly_as_issued(data):
    """Replace, insert or delete characters anywhere: SessionInvalid, or (an edit of base64's unused last
    bits) the very session that was issued, never another one and never another error."""
    token = _ISSUED.token
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(token)))
        char = data.draw(st.characters(codec="utf-8") | st.sampled_from("AQgw.-_=+/"))
        match data.draw(st.sampled_from(["replace", "insert", "delete"])):
            case "replace":
                token = token[:at] + char + token[at + 1:]
            case "insert":
                token = token[:at] + char + token[at:]
            case _:
                token = token[:at] + token[at + 1:]
    try:
        got = _S.verify(token)
    except SessionInvalid:
        return
    assert same(got, _ISSUED)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.text(max_size=300))
async def test_check_refuses_any_string_with_session_invalid(text):
    with pytest.raises(SessionInvalid):
        await _S.check(text)
