"""Session tokens and logins: forged, tampered, expired and logged-out tokens are refused."""

from __future__ import annotations

import base64
import json

import pytest
from pydantic import SecretStr

from agents.desk.auth import Accounts, SessionInvalid, SessionSigner
from agents.desk.presence import Presence
from dialer.config import AgentAccount


class Clock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def b64(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_a_token_round_trips_and_carries_its_expiry():
    clock = Clock()
    s = SessionSigner("secret", 3600, now=clock)
    issued = s.issue("ann")
    got = s.verify(issued.token)
    assert (got.agent_id, got.expires_at, got.jti) == ("ann", clock.t + 3600, issued.jti)


def test_a_token_signed_with_another_secret_or_edited_is_forged():
    s = SessionSigner("secret", 3600, now=Clock())
    token = s.issue("ann").token
    payload, mac = token.split(".")
    other = SessionSigner("other-secret", 3600, now=Clock()).issue("ann").token
    as_bob = b64({"sub": "bob", "exp": 2_000_000, "jti": "x"}) + "." + mac
    # flip the MAC's second-to-last character (the last may carry unused base64 bits): always a change
    flipped = mac[:-2] + ("B" if mac[-2] == "A" else "A") + mac[-1]
    for forged in (other, as_bob, payload + "." + flipped):
        with pytest.raises(SessionInvalid, match="signature does not match"):
            s.verify(forged)


@pytest.mark.parametrize("bad", ["", "abc", ".", "abc.", ".abc", "x" * 2000])
def test_malformed_tokens_are_refused(bad):
    with pytest.raises(SessionInvalid):
        SessionSigner("secret", 60).verify(bad)


def test_a_correctly_signed_but_malformed_payload_is_refused():
    s = SessionSigner("secret", 60, now=Clock())
    for payload in (b64({"sub": "ann"}), b64({"sub": 1, "exp": 2_000_000, "jti": "j"}), "bm90IGpzb24"):
        token = f"{payload}.{s._mac(payload)}"
        with pytest.raises(SessionInvalid, match="malformed"):
            s.verify(token)


def test_expiry_and_logout_end_a_session():
    clock = Clock()
    s = SessionSigner("secret", 60, now=clock)
    a, b = s.issue("ann"), s.issue("ann")
    s.revoke(a)
    with pytest.raises(SessionInvalid, match="ended by logout"):
        s.verify(a.token)
    assert s.verify(b.token).agent_id == "ann"
    clock.t += 60
    with pytest.raises(SessionInvalid, match="expired"):
        s.verify(b.token)


def test_an_empty_secret_is_refused():
    with pytest.raises(ValueError, match="session_secret"):
        SessionSigner("", 60)


def test_accounts_check_passwords_and_treat_unknown_agents_like_wrong_passwords():
    acc = Accounts([AgentAccount(id="ann", extension="1001", password=SecretStr("pw-ann"))])
    assert acc.check("ann", "pw-ann").id == "ann"
    assert acc.check("ann", "pw-an") is None
    assert acc.check("ann", "pw-ann ") is None
    assert acc.check("zed", "pw-ann") is None
    assert [a.id for a in acc] == ["ann"]


def test_presence_goes_offline_without_a_sign_of_life_and_reports_it_once():
    clock = Clock(0.0)
    p = Presence(30.0, now=clock)
    assert p.seen("ann") is True
    assert p.seen("ann") is False
    p.stream_opened("ann")
    clock.t = 30.0
    assert p.sweep() == []
    assert p.online("ann")
    clock.t = 30.5
    assert not p.online("ann")
    assert p.sweep() == ["ann"]
    assert p.sweep() == []
    assert p.to_json("ann") == {"online": False, "streams": 1, "seen_s_ago": 30.5}
    assert p.seen("ann") is True  # back
    p.stream_closed("ann")
    p.forget("ann")
    assert p.to_json("ann") == {"online": False, "streams": 0, "seen_s_ago": None}
    with pytest.raises(ValueError, match="positive"):
        Presence(0)
