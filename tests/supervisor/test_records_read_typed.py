"""The supervisor reads call records through CallRecord.from_fields: a record written by a newer version (an
extra field) and one written by an older version (without the newer fields) are both read; a malformed one is
skipped and logged, and the others are still counted."""

from __future__ import annotations

import logging
from typing import Any

from sup_fakes import AFTERNOON, AUTH, make_rig, record

from dialer.supervisor.tally import Tally

_NEWER_FIELDS = ("amd_audit", "kind", "transferred_from", "transfer_failures", "message", "surplus_hangup",
                 "recording", "callback_at", "callback_for", "zone", "lead_list")


def stored_variants() -> list[dict[str, str]]:
    newer = {**record("new", ended_at=AFTERNOON - 90, lead="L1").to_fields(), "written_by_a_newer_version": "7"}
    older = {k: v for k, v in record("old", ended_at=AFTERNOON - 60, lead="L2").to_fields().items()
             if k not in _NEWER_FIELDS}
    broken = {**record("bad", ended_at=AFTERNOON - 30, lead="L3").to_fields(), "abandoned": "maybe"}
    return [newer, older, broken]


async def write(rig: Any, entries: list[dict[str, str]]) -> None:
    store = rig.store
    for fields in entries:
        await store.r.xadd(store.key("calls"), fields)
        await store.r.hset(store.key("call", fields["call_id"]), mapping=fields)


async def test_the_tally_reads_newer_and_older_records_and_skips_a_malformed_one(redis, caplog):
    rig = make_rig(redis, start=AFTERNOON)
    await write(rig, stored_variants())
    tally = Tally(rig.store)
    with caplog.at_level(logging.WARNING, logger="dialer.supervisor.tally"):
        await tally.refresh()
    fig = tally.figures("upsell", AFTERNOON)
    assert (fig["last_hour"]["dialed"], fig["last_hour"]["live"], fig["last_hour"]["contacts"]) == (2, 2, 2)
    [warning] = [r.getMessage() for r in caplog.records]
    assert "(call bad): field 'abandoned' is 'maybe'" in warning
    assert warning.endswith("the record is not counted")



async def test_the_calls_api_lists_newer_and_older_records_and_skips_a_malformed_one(rig, client, caplog):
    await write(rig, stored_variants())
    with caplog.at_level(logging.WARNING, logger="dialer.supervisor.records"):
        got = (await client.get("/api/calls", headers=AUTH["supervisor"])).json()
    assert [c["call_id"] for c in got["calls"]] == ["old", "new"]
    assert got["scanned"] == 3
    old, new = got["calls"]
    assert new["written_by_a_newer_version"] == "7"
    assert (new["lead_list"], new["amd_audit"]) == (None, False)
    assert not {"lead_list", "amd_audit"} & set(old)  # what was stored, as before: no invented fields
    assert (old["abandoned"], old["talk_s"], old["attempt"]) == (False, 120.0, 1)
    [warning] = [r.getMessage() for r in caplog.records]
    assert warning.startswith("call records API: call record ")
    assert "(call bad): field 'abandoned' is 'maybe'" in warning


async def test_one_call_read_names_what_is_malformed(rig, client):
    await write(rig, stored_variants())
    assert (await client.get("/api/calls/old", headers=AUTH["supervisor"])).json()["talk_s"] == 120.0
    got = await client.get("/api/calls/bad", headers=AUTH["supervisor"])
    assert got.status_code == 500
    assert "field 'abandoned' is 'maybe'" in got.json()["detail"]
    assert "fix or delete" in got.json()["detail"]


async def test_the_reports_read_newer_and_older_records_and_skip_a_malformed_one(rig, caplog):
    from dialer.supervisor import reports as rp
    from dialer.supervisor.report_io import load

    await write(rig, stored_variants())
    with caplog.at_level(logging.WARNING, logger="dialer.supervisor.records"):
        got = await load(rig.store, campaign="upsell", since=AFTERNOON - 3600, until=AFTERNOON)
    assert [r.call_id for r in got.records] == ["new", "old"]
    [warning] = [r.getMessage() for r in caplog.records]
    assert warning.startswith("reports: call record ")
    assert "(call bad): field 'abandoned' is 'maybe'" in warning
    [row] = rp.list_results(got.records, got.disps)
    assert (row["list"], row["dials"], row["contacts"]) == (rp.UNKNOWN_LIST, 2, 2)  # the new one has no list
