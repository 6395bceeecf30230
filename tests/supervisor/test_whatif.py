"""What-if replay: fitting a recorded day, predicting a simulated shift, and the API around it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sup_fakes import AUTH, record

from dialer.engine.records import CallRecord
from dialer.supervisor.whatif import SEEN, fit, from_observations, from_records, replay
from pacing import Mode, Pacer, PacingKnobs
from pacing.sim import simulate, telecom_upsell

SUP, RO = AUTH["supervisor"], AUTH["read-only"]


class Recorder:
    """A pacing policy that remembers what it observed (the shift's recorded history)."""

    def __init__(self, pacer):
        self.pacer, self.obs = pacer, []

    def observe(self, obs):
        self.obs.append(obs)
        self.pacer.observe(obs)

    def decide(self, snap):
        return self.pacer.decide(snap)


# power as a plain ratio: what is checked is the fit; a governed ratio's first day of a period turns on the
# few abandons its own luck brings (the budget), which no replay of other seeds can match
PLAIN_POWER = PacingKnobs(mode=Mode.POWER, ratio=2.2, power_within_budget=False)


@pytest.mark.parametrize("knobs", [PacingKnobs(mode=Mode.PROGRESSIVE), PLAIN_POWER])
def test_replay_with_the_settings_used_predicts_the_recorded_shift(knobs):
    sc = dataclasses.replace(telecom_upsell(), agents=10, shift_s=3600.0)
    rec = Recorder(Pacer(knobs))
    truth = simulate(sc, rec, seed=11)
    h = from_observations(rec.obs, campaign="c", agents=sc.agents, shift_s=sc.shift_s,
                          ring_timeout_s=sc.ring_timeout_s, amd=True, hold_s=sc.hold_s)
    out = replay(h, [("as run", knobs)], seeds=3, first_seed=100)
    [v] = out["variants"]
    assert v["talk_share"] == pytest.approx(truth.talk_s / truth.logged_in_s, abs=0.04)
    assert v["abandon_rate"] == pytest.approx(truth.seen_abandons / truth.seen_lives, abs=0.02)
    assert v["contacts"] == pytest.approx(truth.contacts, rel=0.08)


def test_more_dialing_predicts_more_talk_and_more_abandons():
    sc = dataclasses.replace(telecom_upsell(), agents=10, shift_s=3600.0)
    rec = Recorder(Pacer(PacingKnobs(mode=Mode.PROGRESSIVE)))
    simulate(sc, rec, seed=3)
    h = from_observations(rec.obs, campaign="c", agents=10, shift_s=3600.0, ring_timeout_s=20.0, amd=True,
                          hold_s=2.0)
    rows = replay(h, [("1:1", PacingKnobs(mode=Mode.PROGRESSIVE)), ("3:1", PacingKnobs(mode=Mode.POWER, ratio=3.0))],
                  seeds=2)["variants"]
    assert rows[1]["talk_share"] > rows[0]["talk_share"]
    assert rows[1]["abandon_rate"] > rows[0]["abandon_rate"]
    assert rows[0]["abandon_rate"] == 0.0


def synthetic_records(t0, n=400, agents=5):
    """An hour of dials: 30% live (connected, talk 100-140 s), 15% machines, 5% busy, the rest no answer;
    the live share is higher in the second half hour."""
    rng = np.random.default_rng(5)
    out = []
    for i in range(n):
        t = t0 + i * 3600.0 / n
        u = rng.random()
        live_cut = 0.2 if t < t0 + 1800 else 0.4
        if u < live_cut:
            r = record(f"w{i}", ended_at=t + 150, agent=f"a{i % agents}", talk=100 + 40 * rng.random(), lead=f"L{i}")
        elif u < live_cut + 0.15:
            r = record(f"w{i}", ended_at=t + 18, outcome="machine", live=False, lead=f"L{i}", ring=12)
        elif u < live_cut + 0.2:
            r = record(f"w{i}", ended_at=t + 7, outcome="busy", live=False, lead=f"L{i}", ring=2)
        else:
            r = record(f"w{i}", ended_at=t + 25, outcome="no_answer", live=False, lead=f"L{i}", ring=20)
        out.append(r)
    return out


def test_history_from_call_records():
    t0 = 1_700_000_000.0
    recs = [CallRecord.from_fields(r.to_fields()) for r in synthetic_records(t0)]  # as stored and read back
    talked = [r.call_id for r in recs if r.outcome == "connected"][:2]
    h = from_records(recs, dict(zip(talked, (12.0, 30.0), strict=True)), campaign="c", start=t0 - 60,
                     end=t0 + 3600)
    live = h.hourly[:, SEEN.index("live")].sum()
    assert h.dials == 400
    assert live == sum(1 for r in recs if r.outcome == "connected")
    assert h.agents == 5
    assert h.contacts == live == h.lives
    assert h.talk.mean() == pytest.approx(120, abs=5)
    assert h.live_ring.mean() == pytest.approx(10.0)
    assert sorted(h.wrap) == [12.0, 30.0]
    assert h.shift_s == 3660.0
    assert "no dispositions" not in " ".join(h.notes)
    sc = fit(h)
    assert sc.agents == 5
    assert sc.traffic.talk.mean == pytest.approx(h.talk.mean())
    assert sc.traffic.p_live == pytest.approx(live / 400, rel=0.02)  # ring 10 s, far from the 20 s timeout
    first, second = sc.traffic.profile.hourly
    assert second > first


async def test_whatif_api_compares_settings_side_by_side(client, rig):
    t0 = rig.clock.now() - 4000
    for r in synthetic_records(t0):
        rig.record(r)
    await rig.flush()
    body = {"since": t0 - 60, "until": t0 + 3800, "seeds": 1,
            "variants": [{"name": "power 2", "mode": "power", "ratio": 2.0}]}
    r = await client.post("/api/campaigns/upsell/whatif", headers=SUP, json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert [v["name"] for v in out["variants"]] == ["as run", "power 2"]
    assert out["settings"][0]["ratio"] == 1.0
    assert out["actual"]["dials"] == 400
    assert out["fitted"]["agents"] == 5
    for v in out["variants"]:
        assert 0.0 < v["talk_share"] < 1.0
        assert 0.0 <= v["abandon_rate"] < 0.5
    assert out["variants"][1]["talk_share"] >= out["variants"][0]["talk_share"]
    assert rig.engine.campaigns["upsell"].pacer.knobs.ratio == 1.0  # nothing changed


WHATIF_ERRORS = [
    ({"variants": []}, 422, "variants"),
    ({"variants": [{"ratio": 0.2}]}, 422, "ratio"),
    ({"variants": [{"mode": "power"}] * 7}, 422, "variants"),
    ({"variants": [{"ratio": 2}], "seeds": 50}, 422, "seeds"),
    ({"variants": [{"ratio": 2}], "since": 100, "until": 50}, 422, "must be after"),
    ({"variants": [{"ratio": 2}]}, 409, "no call records"),
]


async def test_whatif_bad_requests(client):
    for body, status, words in WHATIF_ERRORS:
        r = await client.post("/api/campaigns/upsell/whatif", headers=SUP, json=body)
        assert r.status_code == status, body
        assert words in r.text


async def test_whatif_needs_a_supervisor(client):
    r = await client.post("/api/campaigns/upsell/whatif", headers=RO, json={"variants": [{"ratio": 2}]})
    assert r.status_code == 403


def test_an_amd_audit_call_is_replayed_as_the_machine_verdict_it_was():
    t0 = 1_700_000_000.0
    recs = synthetic_records(t0)
    plain = from_records(recs, {}, campaign="c", start=t0 - 60, end=t0 + 3600)
    audit = dataclasses.replace(record("audit1", ended_at=t0 + 900, agent="a1", talk=20.0, lead="LA"),
                                human_at=None, amd_status="MACHINE", wait_s=None, amd_audit=True)
    stored = CallRecord.from_fields(audit.to_fields())
    assert stored.amd_audit is True
    h = from_records([*recs, stored], {}, campaign="c", start=t0 - 60, end=t0 + 3600)
    assert h.dials == plain.dials + 1
    assert h.hourly[:, SEEN.index("machine")].sum() == plain.hourly[:, SEEN.index("machine")].sum() + 1
    assert (h.lives, h.contacts, len(h.talk)) == (plain.lives, plain.contacts, len(plain.talk))


def test_agentless_calls_count_as_answers_but_not_as_live_answers_offered_to_agents():
    # a campaign switched to agentless for part of the day: its people answered, nobody was offered to agents
    t0 = 1_700_000_000.0
    recs = synthetic_records(t0)
    plain = from_records(recs, {}, campaign="c", start=t0 - 60, end=t0 + 3600)
    extra = []
    for i, outcome in enumerate(("delivered", "hung_up_before_message", "machine_message")):
        live = outcome != "machine_message"
        r = record(f"x{i}", ended_at=t0 + 1000 + i, outcome=outcome, live=live, agent=None, talk=None, lead=f"X{i}")
        extra.append(dataclasses.replace(r, message="outage-notice"))
    h = from_records([*recs, *extra], {}, campaign="c", start=t0 - 60, end=t0 + 3600)
    assert h.dials == plain.dials + 3
    assert h.hourly[:, SEEN.index("live")].sum() == plain.hourly[:, SEEN.index("live")].sum() + 2
    assert h.hourly[:, SEEN.index("machine")].sum() == plain.hourly[:, SEEN.index("machine")].sum() + 1
    assert (h.lives, h.abandons, h.contacts) == (plain.lives, plain.abandons, plain.contacts)
