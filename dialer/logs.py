"""Structured JSON logs that carry campaign, call and agent ids, and never a full phone number or secret.

Call sites pass ids through `extra=`: `log.info("connected", extra={"call_id": c, "agent_id": a})`. A
filter masks anything that looks like a phone number in the message and in the extras, as a second line
of defence behind code that should already log `mask_number(...)`.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import re
import sys
import time
from typing import Any, TextIO

__all__ = ["JsonFormatter", "RedactingFilter", "configure_logging"]

_PHONE = re.compile(r"\+?\d[\d\s().-]{6,}\d")
_CONTEXT_KEYS = ("campaign_id", "call_id", "agent_id", "lead_id", "action", "event", "error",
                 "scope", "by")  # written as masked text
_VALUE_KEYS = ("for_s", "was_locked")  # written as they are when a number or true/false, else as masked text
_SECRET_KEYS = re.compile(r"secret|password|token", re.IGNORECASE)


def _mask(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group(0))
        return f"{digits[:2]}***{digits[-2:]}" if len(digits) >= 7 else m.group(0)

    return _PHONE.sub(repl, text)


def _address(text: str) -> str:
    """A client address as it is (192.168.100.200 looks like a phone number to `_mask`); anything else that
    came as one (a proxy's header may say anything) masked like any text."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return _mask(text)
    return text


class RedactingFilter(logging.Filter):
    """Masks phone numbers in messages and extras; drops any extra whose name says secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _mask(record.msg)
        if record.args:
            record.args = tuple(_mask(a) if isinstance(a, str) else a for a in record.args)  # type: ignore[union-attr]
        for key in list(vars(record)):
            if _SECRET_KEYS.search(key):
                setattr(record, key, "***")
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": _mask(record.getMessage()),
        }
        for key in _CONTEXT_KEYS:
            val = getattr(record, key, None)
            if val is not None:
                out[key] = _mask(str(val))
        client = getattr(record, "client", None)
        if client is not None:
            out["client"] = _address(str(client))
        for key in _VALUE_KEYS:
            val = getattr(record, key, None)
            if isinstance(val, bool | int) or (isinstance(val, float) and math.isfinite(val)):
                out[key] = val
            elif val is not None:
                out[key] = _mask(str(val))
        if record.exc_info:
            out["exc"] = _mask(self.formatException(record.exc_info))
        return json.dumps(out, separators=(",", ":"))


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.Formatter.converter = time.gmtime
    for noisy in ("amqtt", "transitions", "panoramisk", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
