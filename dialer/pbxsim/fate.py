"""Who answers: the far end of one dial, drawn from the traffic model, reproducible from the seed.

The generator for a dial is seeded from (simulator seed, dialled number, nth dial of that number), never
from a shared stream, so the order in which Originates arrive over TCP cannot change who answers: the
3rd dial of 5551234 under seed 7 is the same person in every run. The live-answer share of the traffic
model may follow the time of the shift; that time is taken in whole `profile_quantum_s` steps so that
jitter of a few milliseconds does not move a dial into another step (with a flat profile, the
default, the fate depends on the seed, the number and n alone).

The draw also fixes what the traffic model does not carry: how long a machine's greeting lasts (it
hangs up after it), whether a live person hangs up during AMD, and the AMDCAUSE text.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass

import numpy as np

from pacing.traffic import AmdVerdict, DialFate, DialOutcome, TrafficModel

__all__ = ["FarEnd", "FarEndOptions", "draw_far_end"]

_U64 = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class FarEndOptions:
    """Far-end behaviour the traffic model leaves open. Seconds are virtual."""

    machine_greeting_s: tuple[float, float] = (20.0, 30.0)
    early_hangup_share: float = 0.0  # share of live answers that hang up while AMD listens
    profile_quantum_s: float = 60.0
    optout_share: float = 0.0  # share of people who press the opt-out key after a message that offers it

    def __post_init__(self) -> None:
        lo, hi = self.machine_greeting_s
        if not 0 < lo <= hi:
            raise ValueError(f"machine_greeting_s must be 0 < low <= high, got {self.machine_greeting_s}")
        if not 0.0 <= self.early_hangup_share <= 1.0:
            raise ValueError(f"early_hangup_share must be within [0, 1], got {self.early_hangup_share}")
        if not 0.0 <= self.optout_share <= 1.0:
            raise ValueError(f"optout_share must be within [0, 1], got {self.optout_share}")
        if self.profile_quantum_s <= 0:
            raise ValueError(f"profile_quantum_s must be positive, got {self.profile_quantum_s}")


@dataclass(frozen=True, slots=True)
class FarEnd:
    """One dial's far end. `fate.amd_verdict` is what AMD will say on this dial (SKIPPED when off)."""

    fate: DialFate
    greeting_s: float
    early_hangup_s: float | None
    amd_cause: str
    opts_out: bool = False  # presses the opt-out key when a message offers it


def number_key(number: str) -> int:
    """A stable 64-bit key for a dialled number (not Python's salted `hash`)."""
    return int.from_bytes(hashlib.blake2b(number.encode(), digest_size=8).digest(), "big")


def draw_far_end(
    traffic: TrafficModel,
    options: FarEndOptions,
    *,
    seed: int,
    number: str,
    nth: int,
    shift_t: float,
    amd_on: bool,
) -> FarEnd:
    """Draw the far end of the `nth` dial (1-based) of `number` at shift time `shift_t`."""
    rng = np.random.default_rng(np.random.SeedSequence([seed & _U64, number_key(number), nth]))
    t = (shift_t // options.profile_quantum_s) * options.profile_quantum_s
    fate = traffic.sample_one(rng, t)
    # Always the same number of extra draws, whatever the branch, so the stream stays aligned (a draw
    # added at the end leaves the earlier ones as they were).
    u_cause, u_early, u_when, u_greet, u_delay, u_optout = (float(x) for x in rng.random(6))
    answered = fate.outcome in (DialOutcome.LIVE, DialOutcome.MACHINE)
    verdict, delay = fate.amd_verdict, fate.amd_delay_s
    if not answered or not amd_on:
        verdict, delay = AmdVerdict.SKIPPED, 0.0
    elif verdict is AmdVerdict.SKIPPED:
        # The model has AMD switched off, yet this dial asked for it: a perfect detector.
        live = fate.outcome is DialOutcome.LIVE
        verdict = AmdVerdict.HUMAN if live else AmdVerdict.MACHINE
        lo, hi = traffic.amd.human_delay_s if live else traffic.amd.machine_delay_s
        delay = lo + (hi - lo) * u_delay
    fate = dataclasses.replace(fate, amd_verdict=verdict, amd_delay_s=delay)
    lo, hi = options.machine_greeting_s
    early: float | None = None
    if fate.outcome is DialOutcome.LIVE and delay > 0 and u_early < options.early_hangup_share:
        early = delay * (0.3 + 0.6 * u_when)
    greeting = lo + (hi - lo) * u_greet
    return FarEnd(fate=fate, greeting_s=greeting, early_hangup_s=early, amd_cause=_cause(verdict, u_cause),
                  opts_out=fate.outcome is DialOutcome.LIVE and u_optout < options.optout_share)


def _cause(verdict: AmdVerdict, u: float) -> str:
    """AMDCAUSE as Asterisk's app_amd words it."""
    if verdict is AmdVerdict.HUMAN:
        return "HUMAN-800-800"
    if verdict is AmdVerdict.MACHINE:
        return "MAXWORDS-3-2" if u < 0.6 else f"LONGGREETING-{1500 + int(u * 1000)}-1500"
    if verdict is AmdVerdict.NOTSURE:
        return "TOOLONG-5000"
    return "none" if verdict is AmdVerdict.SKIPPED else ""
