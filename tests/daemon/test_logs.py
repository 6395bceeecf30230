"""Logs are JSON lines with ids, and never carry a full phone number or a secret."""

from __future__ import annotations

import io
import json
import logging

from dialer.logs import configure_logging


def test_json_logs_mask_numbers_and_drop_secrets():
    buf = io.StringIO()
    configure_logging("INFO", stream=buf)
    log = logging.getLogger("dialer.test")
    log.info("dialing +14155550123 for lead", extra={"call_id": "c-1", "campaign_id": "base", "agent_id": "a7",
                                                      "secret": "hunter2"})
    log.warning("number 4155550123 refused", extra={"lead_id": "L9"})
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert lines[0]["call_id"] == "c-1"
    assert lines[0]["campaign_id"] == "base"
    assert lines[0]["agent_id"] == "a7"
    text = buf.getvalue()
    assert "4155550123" not in text
    assert "hunter2" not in text
    assert lines[0]["msg"] == "dialing 14***23 for lead"
    logging.getLogger().handlers.clear()


def test_the_login_limit_extras_reach_the_log_with_the_client_address_unmasked():
    # a client address of 12 digits matches the phone pattern; one that is not an address is masked as any text
    buf = io.StringIO()
    configure_logging("INFO", stream=buf)
    log = logging.getLogger("agents.desk.core")
    log.warning("desk login locked", extra={"agent_id": "ann", "client": "192.168.100.200", "scope": "agent",
                                            "for_s": 296})
    log.warning("desk login refused", extra={"agent_id": "ann", "client": "+1 415 555 0123"})
    log.warning("desk login unlocked", extra={"agent_id": "ann", "by": "sup", "was_locked": True,
                                              "token": "hunter2"})
    logging.getLogger().handlers.clear()
    locked, refused, unlocked = (json.loads(x) for x in buf.getvalue().splitlines())
    assert (locked["client"], locked["scope"], locked["for_s"]) == ("192.168.100.200", "agent", 296)
    assert refused["client"] == "14***23"
    assert (unlocked["by"], unlocked["was_locked"]) == ("sup", True)
    assert "hunter2" not in buf.getvalue()
