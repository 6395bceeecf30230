"""AMI wire framing, sans-IO: bytes in, header blocks out; header blocks in, bytes out.

AMI is a line protocol: a banner line (`Asterisk Call Manager/11.0.0`), then blocks of `Key: Value`
lines ended by an empty line, with CRLF line endings (LF alone is tolerated on input). Keys repeat
(an Originate may carry several `Variable:` lines), so a block is an ordered tuple of pairs, not a dict.

A line without `": "` is not valid AMI. The framer does not raise on it: it records it in
`Block.errors` with its line number, so the caller can log it and go on, and the rest of the stream
keeps flowing. Both the PBX simulator and the tests use this framer; the daemon reads AMI through
panoramisk, whose messages are turned into typed events by `dialer.ami.events`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["Block", "Framer", "encode_block"]

CRLF = b"\r\n"
MAX_LINE = 64 * 1024


@dataclass(slots=True)
class Block:
    """One AMI message as it came off the wire: ordered header pairs, plus unreadable lines."""

    headers: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def get(self, key: str, default: str | None = None) -> str | None:
        """First value of `key` (case-insensitive), as AMI keys are."""
        low = key.lower()
        for k, v in self.headers:
            if k.lower() == low:
                return v
        return default

    def get_all(self, key: str) -> list[str]:
        """Every value of a repeated key, in order."""
        low = key.lower()
        return [v for k, v in self.headers if k.lower() == low]

    def as_dict(self) -> dict[str, str]:
        """First value of each key; for logs and simple lookups."""
        out: dict[str, str] = {}
        for k, v in self.headers:
            out.setdefault(k, v)
        return out


class Framer:
    """Feed bytes, get complete blocks. Keeps the banner apart from the blocks."""

    def __init__(self, expect_banner: bool = False) -> None:
        self._buf = b""
        self._expect_banner = expect_banner
        self._lineno = 0
        self.banner: str | None = None
        self._cur = Block()

    def feed(self, data: bytes) -> list[Block]:
        """Add bytes from the socket; return every block they complete."""
        self._buf += data
        out: list[Block] = []
        while True:
            idx = self._buf.find(b"\n")
            if idx < 0:
                if len(self._buf) > MAX_LINE:
                    self._cur.errors.append(f"line {self._lineno + 1}: longer than {MAX_LINE} bytes, dropped")
                    self._buf = b""
                break
            raw, self._buf = self._buf[:idx], self._buf[idx + 1 :]
            self._lineno += 1
            line = raw.rstrip(b"\r").decode("utf-8", errors="replace")
            if self._expect_banner and self.banner is None:
                self.banner = line
                continue
            if not line:
                if self._cur.headers or self._cur.errors:
                    out.append(self._cur)
                    self._cur = Block()
                continue
            key, sep, value = line.partition(": ")
            if not sep:
                if line.endswith(":") and " " not in line:
                    self._cur.headers.append((line[:-1], ""))
                else:
                    self._cur.errors.append(f"line {self._lineno}: not a 'Key: Value' line: {line[:80]!r}")
                continue
            self._cur.headers.append((key, value))
        return out


def encode_block(headers: Iterable[tuple[str, str]] | Mapping[str, str]) -> bytes:
    """Serialise one AMI message, CRLF line endings, ended by an empty line."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return b"".join(f"{k}: {v}".encode() + CRLF for k, v in pairs) + CRLF
