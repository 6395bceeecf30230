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
