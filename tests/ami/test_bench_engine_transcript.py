"""bench.engine's parse-throughput part reads the transcript fixture in the repository (a fresh clone has no
../shared/ami/ beside it: `python3 tasks.py bench-engine` crashed with FileNotFoundError)."""

from __future__ import annotations

from panoramisk.message import Message

from bench.engine import ROOT, TRANSCRIPT, transcript_event_blocks
from dialer.ami.events import MalformedEvent
from dialer.ami.parse import parse_event


def test_bench_reads_the_transcript_fixture_inside_the_repository() -> None:
    assert TRANSCRIPT.is_relative_to(ROOT)
    blocks = transcript_event_blocks()
    assert len(blocks) > 500
    assert not [b for b in blocks if isinstance(parse_event(Message.from_line(b)), MalformedEvent)]
