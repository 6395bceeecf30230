"""How fast the demo runs by default: here, not in dialer.demo, so that `dialer --help` states the cap without
importing the daemon."""

from __future__ import annotations

__all__ = ["MAX_AGENTS_X_SPEED", "default_speed"]

# Agents x speed the default speed stays under. Every millisecond between "a person answered" and "the
# agent is connected" is `speed` ms of the simulated person's wait, and the work per real second grows
# with agents x speed: on 2 cores, 20 agents x 8 h at 274x (fitted into 105 s) abandoned 7 % of live
# answers, 105 of the 110 connected after the 2 s; at 100x 1.8 %, 2 of them late. It was 2000 until a
# slower 2-core host (session 22) gave 5 to 29 % abandoned at the default demo's 137x, nearly all
# connected late, and 1.9 % at 70x.
MAX_AGENTS_X_SPEED = 700.0


def default_speed(agents: int, hours: float, real_seconds: float = 105.0) -> float:
    """The shift fitted into about `real_seconds`, unless that is faster than `MAX_AGENTS_X_SPEED` allows."""
    return max(1.0, min(hours * 3600.0 / real_seconds, MAX_AGENTS_X_SPEED / agents))
