"""Who answers depends on (seed, number, nth dial) only, never on the order or timing of Originates."""

from __future__ import annotations

import asyncio

import pytest
from pbxsim_client import AmiTestClient, originate, running

from dialer.pbxsim import FarEndOptions, draw_far_end
from pacing.traffic import AmdVerdict, DialOutcome, LiveProfile, TrafficModel

MODEL = TrafficModel(p_live=0.35, p_machine=0.2, p_busy=0.1, p_congestion=0.05, p_invalid=0.05)
OPTS = FarEndOptions()


def _draw(seed: int, number: str, nth: int, t: float = 0.0, amd_on: bool = True):
    return draw_far_end(MODEL, OPTS, seed=seed, number=number, nth=nth, shift_t=t, amd_on=amd_on)


def test_same_seed_number_and_nth_give_the_same_far_end():
    assert _draw(7, "5550001", 1) == _draw(7, "5550001", 1)
    assert _draw(7, "5550001", 1, t=12.3) == _draw(7, "5550001", 1, t=45.6)  # same profile step


def test_seed_number_and_nth_each_change_the_draw():
    base = [_draw(7, f"55500{i:02d}", 1) for i in range(40)]
    assert len({f.fate for f in base}) == 40
    assert [f.fate for f in base] != [_draw(8, f"55500{i:02d}", 1).fate for i in range(40)]
    assert [f.fate for f in base] != [_draw(7, f"55500{i:02d}", 2).fate for i in range(40)]


def test_the_draws_follow_the_traffic_model_shares():
    outcomes = [_draw(3, f"44{i:06d}", 1).fate.outcome for i in range(4000)]
    live = outcomes.count(DialOutcome.LIVE) / len(outcomes)
    busy = outcomes.count(DialOutcome.BUSY) / len(outcomes)
    assert live == pytest.approx(0.35, abs=0.03)
    assert busy == pytest.approx(0.10, abs=0.02)


def test_amd_off_means_skipped_and_no_early_hangup():
    far = FarEndOptions(early_hangup_share=1.0)
    for i in range(200):
        got = draw_far_end(MODEL, far, seed=1, number=f"33{i:04d}", nth=1, shift_t=0.0, amd_on=False)
        assert got.fate.amd_verdict is AmdVerdict.SKIPPED
        assert got.fate.amd_delay_s == 0.0
        assert got.early_hangup_s is None


def test_an_early_hangup_comes_before_the_amd_verdict():
    far = FarEndOptions(early_hangup_share=1.0)
    lives = [draw_far_end(MODEL, far, seed=2, number=f"22{i:04d}", nth=1, shift_t=0.0, amd_on=True) for i in range(300)]
    lives = [f for f in lives if f.fate.outcome is DialOutcome.LIVE]
    assert lives
    assert all(f.early_hangup_s is not None and 0 < f.early_hangup_s < f.fate.amd_delay_s for f in lives)


def test_the_live_profile_is_read_in_whole_steps():
    halving = TrafficModel(p_live=0.6, profile=LiveProfile(kind="halving", at_s=600.0))
    opts = FarEndOptions(profile_quantum_s=60.0)

    def shares(t: float) -> float:
        fates = [
            draw_far_end(halving, opts, seed=5, number=f"1{i:05d}", nth=1, shift_t=t, amd_on=True) for i in range(800)
        ]
        return sum(f.fate.outcome is DialOutcome.LIVE for f in fates) / len(fates)

    assert shares(0.0) == shares(59.9)
    assert shares(0.0) > shares(900.0) + 0.15


async def _dial_all(order: list[str], seed: int) -> dict[tuple[str, int], object]:
    async with running(MODEL, seed=seed, scale=2000.0) as sim:
        client = await AmiTestClient.connect(sim.port)
        await client.login(events="off")
        ids = []
        for n, number in enumerate(order):
            call_id = f"{number}-{n}"
            ids.append(call_id)
            await client.action(originate(call_id, number, timeout_ms=15000))
            if n % 3 == 0:  # end some before the next dial, leave others ringing: different timings
                record = await sim.wait_call_ended(call_id)
                assert record.done
        await asyncio.gather(*(_end(sim, client, call_id) for call_id in ids))
        await client.close()
        return {(r.number, r.nth): r.fate for r in sim.calls.values()}


async def _end(sim, client: AmiTestClient, call_id: str) -> None:
    if call_id in sim.pbx.by_uid:
        client.send({"Action": "Hangup", "Channel": call_id})
    await sim.wait_call_ended(call_id)


async def test_fates_over_tcp_do_not_depend_on_dial_order_or_timing():
    numbers = ["5551111", "5552222", "5553333", "5554444"]
    forward = [numbers[i % 4] for i in range(12)]
    backward = list(reversed(forward))
    first = await _dial_all(forward, seed=11)
    second = await _dial_all(backward, seed=11)
    assert first == second
    assert len(first) == 12
    other = await _dial_all(forward, seed=12)
    assert other != first
