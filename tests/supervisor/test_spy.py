"""Listen, whisper, barge: the outcome is the OriginateResponse's, not the first answer's.

An Async Originate resolves to [ack, OriginateResponse]; `AmiClient.send` keeps the ack as the reply and
the OriginateResponse in `events`. "Originate successfully queued" only means Asterisk will try: a
`Response: Failure` OriginateResponse (the supervisor's phone did not answer) is no listen-in.
"""

from __future__ import annotations

import httpx
import pytest
from sup_fakes import AUTH, Rig, put_on_call

from dialer.ami.client import AmiResponse
from dialer.supervisor.spy import spy_outcome

SUP, ADMIN = AUTH["supervisor"], AUTH["admin"]
QUEUED = (("response", "Success"), ("actionid", "spy-1"), ("message", "Originate successfully queued"))


def reply(*events: tuple[tuple[str, str], ...], ok: bool = True,
          message: str = "Originate successfully queued") -> AmiResponse:
    return AmiResponse(ok=ok, response="Success" if ok else "Error", message=message, fields=QUEUED, events=events)


def originate_response(response: str, reason: str) -> tuple[tuple[str, str], ...]:
    return (("event", "OriginateResponse"), ("privilege", "call,all"), ("actionid", "spy-1"),
            ("response", response), ("channel", "PJSIP/2001"), ("reason", reason), ("uniqueid", "<null>"))


@pytest.mark.parametrize(
    ("answer", "ok", "says"),
    [
        (reply(originate_response("Success", "4")), True, "Originate successfully queued"),
        (reply(originate_response("Failure", "3")), False, "Reason 3: no answer"),
        (reply(originate_response("Failure", "5")), False, "Reason 5: busy"),
        (reply(originate_response("Failure", "0")), False, "Reason 0: failed"),
        (reply(ok=False, message="Extension does not exist."), False, "Extension does not exist."),
        (reply((("event", "OriginateResponse"), ("response", "Maybe"))), False, "no readable OriginateResponse"),
        (reply(), True, "Originate successfully queued"),  # a port that resolves on the first answer
        (None, False, "no answer to read from Asterisk"),  # nothing readable is no listen-in
    ],
)
def test_the_spy_outcome_is_read_from_the_last_message(answer: AmiResponse | None, ok: bool, says: str) -> None:
    got_ok, message = spy_outcome(answer)
    assert got_ok is ok
    assert says in message


async def test_a_supervisor_phone_that_does_not_answer_is_audited_as_failed_not_started(
    client: httpx.AsyncClient, rig: Rig
) -> None:
    rig.login("a1", "1001")
    put_on_call(rig)
    rig.ami.reply = reply(originate_response("Failure", "3"))  # type: ignore[assignment]
    r = await client.post("/api/agents/a1/spy", headers=SUP, json={"mode": "listen", "extension": "2001"})
    assert r.status_code == 409
    assert "2001 was not connected" in r.json()["detail"]
    assert "Reason 3: no answer" in r.json()["detail"]
    audit = (await client.get("/api/audit", headers=ADMIN)).json()
    assert [a["action"] for a in audit] == ["spy.listen.failed", "spy.listen"]
    assert "Reason 3" in audit[0]["details"]["message"]
    assert _spy_sessions(rig) == 0.0


async def test_an_answered_supervisor_phone_is_audited_as_started(client: httpx.AsyncClient, rig: Rig) -> None:
    rig.login("a1", "1001")
    put_on_call(rig)
    rig.ami.reply = reply(originate_response("Success", "4"))  # type: ignore[assignment]
    r = await client.post("/api/agents/a1/spy", headers=SUP, json={"mode": "barge", "extension": "2001"})
    assert r.status_code == 200, r.text
    audit = (await client.get("/api/audit", headers=ADMIN)).json()
    assert [a["action"] for a in audit] == ["spy.barge.started", "spy.barge"]
    assert _spy_sessions(rig) == 1.0


async def test_an_unreadable_answer_is_audited_as_refused_not_started(client: httpx.AsyncClient, rig: Rig) -> None:
    rig.login("a1", "1001")
    put_on_call(rig)
    rig.ami.reply = None
    r = await client.post("/api/agents/a1/spy", headers=SUP, json={"mode": "listen", "extension": "2001"})
    assert r.status_code == 409
    assert "no answer to read from Asterisk" in r.json()["detail"]
    audit = (await client.get("/api/audit", headers=ADMIN)).json()
    assert [a["action"] for a in audit] == ["spy.listen.refused", "spy.listen"]
    assert _spy_sessions(rig) == 0.0


def _spy_sessions(rig: Rig) -> float:
    registry = rig.daemon.metrics.registry
    return registry.get_sample_value("dialer_supervisor_spy_sessions_total", {"campaign": "upsell"}) or 0.0
