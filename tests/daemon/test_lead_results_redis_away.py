"""A call's result or an agent's disposition (a callback, a sale) that reaches the hopper while Redis is away
is written again, with a backoff, until Redis takes it; before, it was logged and dropped, and the lead
stayed in flight until recovered as a lost attempt (the callback never made, the sale dialed again).
A lead that is gone (LeadError) or a write Redis refuses for good is still logged and dropped; the retry
ends when the daemon stops (cancellation); and each result waits on its own, holding up no other."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from daemon_fakes import daemon_logs
from redis.exceptions import ResponseError
from redis_blip import redis_blip

from dialer.campaigns.loader import load_campaign
from dialer.campaigns.vocab import Disposition, Outcome
from dialer.engine.commands import DispositionMade
from dialer.engine.records import CallRecord
from dialer.errors import LeadError, PolicyViolation, StateStoreError
from dialer.hopper import DialResult, Hopper, LeadStore
from dialer.hopper.types import DialTarget
from dialer.hopper.views import S
from dialer.hopper_source import HopperLeadSource
from dialer.leads.demo import load_demo_leads
from dialer.policy.contact import ContactPolicy
from dialer.store import connect_redis

CAMPAIGN = Path(__file__).resolve().parents[2] / "examples" / "campaigns" / "base_upsell.toml"
NOON_ET = dt.datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("America/New_York")).timestamp()
TOMORROW = NOON_ET + 86400
LIMIT = 10.0  # real seconds: only turns a hang into a failure


def away() -> StateStoreError:
    return StateStoreError("Redis failed while reading lead L1: Connection refused")


def refused() -> StateStoreError:
    """What `redis_call` raises for a command Redis refuses for good (WRONGTYPE)."""
    err = StateStoreError("Redis failed while writing lead L1: WRONGTYPE Operation against a key holding the "
                          "wrong kind of value")
    err.__cause__ = ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value")
    return err


class ScriptedHopper:
    """`record_result` and `amend_result` raise what `fails[lead]` holds next, then write (remembered); a
    lead whose script ends in None stays away for ever. `tried` is set at each try."""

    def __init__(self, fails: dict[str, list[BaseException | None]]) -> None:
        self.fails = {k: iter(v) for k, v in fails.items()}
        self.written: list[tuple[str, DialResult]] = []
        self.amended: list[tuple[str, DialResult]] = []
        self.tries = 0
        self.tried = asyncio.Event()

    def _next(self, lead_id: str) -> None:
        self.tries += 1
        self.tried.set()
        script: Iterator[BaseException | None] = self.fails.get(lead_id, iter(()))
        exc = next(script, False)
        if exc is None:  # away for ever
            self.fails[lead_id] = iter([None])
            raise away()
        if exc is not False:
            raise exc  # type: ignore[misc]

    async def record_result(self, target: DialTarget, result: DialResult, now: float) -> None:
        self._next(target.lead_id)
        self.written.append((target.lead_id, result))

    async def amend_result(self, target: DialTarget, result: DialResult, now: float) -> None:
        self._next(target.lead_id)
        self.amended.append((target.lead_id, result))


def target(lead_id: str = "L1") -> DialTarget:
    return DialTarget("upsell-fiber", lead_id, "+12125550142", 0, 1, {})


def talked(call_id: str, lead_id: str = "L1") -> CallRecord:
    return CallRecord(call_id=call_id, campaign_id="upsell-fiber", lead_id=lead_id, number="+12125550142",
                      attempt=1, outcome="connected", abandoned=False, created_at=NOON_ET, originated_at=NOON_ET,
                      answered_at=NOON_ET + 5, human_at=NOON_ET + 6, connected_at=NOON_ET + 6,
                      ended_at=NOON_ET + 60, agent_id="a1", amd_status=None, dial_status=None, hangup_cause=None,
                      wait_s=0.1, talk_s=54)


def callback(call_id: str, t: DialTarget, **kw: object) -> DispositionMade:
    return DispositionMade(call_id, "a1", "callback", {"callback_epoch": str(TOMORROW)}, (), NOON_ET + 90, t,
                           campaign_id="upsell-fiber", **kw)  # type: ignore[arg-type]


def source_of(hopper: ScriptedHopper) -> HopperLeadSource:
    return HopperLeadSource(hopper, retry_s=0.0, max_retry_s=0.0)  # type: ignore[arg-type]


async def test_a_callback_given_while_redis_is_away_is_written_once_it_is_back(caplog):
    hopper = ScriptedHopper({"L1": [away(), away()]})
    source = source_of(hopper)
    await source.record_result(talked("c1"), target(), NOON_ET + 60)
    await source.record_disposition(callback("c1", target()), NOON_ET + 90)
    [(lead, result)] = hopper.written
    assert (lead, result.outcome, result.disposition, result.callback_at) == (
        "L1", Outcome.LIVE, Disposition.CALLBACK, TOMORROW)
    assert hopper.tries == 3
    waits = [r for r in caplog.records if "not written yet" in r.getMessage()]
    assert len(waits) == 2
    assert {r.lead_id for r in waits} == {"L1"}  # type: ignore[attr-defined]


async def test_a_no_answer_and_a_late_disposition_are_retried_too():
    hopper = ScriptedHopper({"L1": [away()], "L2": [away()]})
    source = source_of(hopper)
    missed = dataclasses.replace(talked("c2", "L2"), outcome="no_answer", answered_at=None, human_at=None,
                                 connected_at=None)
    await source.record_result(missed, target("L2"), NOON_ET + 30)
    await source.record_disposition(callback("c1", target(), amends="no_disposition"), NOON_ET + 600)
    assert [(lead, r.outcome) for lead, r in hopper.written] == [("L2", Outcome.NO_ANSWER)]
    assert [(lead, r.disposition) for lead, r in hopper.amended] == [("L1", Disposition.CALLBACK)]


@pytest.mark.parametrize("error", [LeadError("lead L1 does not exist in campaign upsell-fiber"), refused()])
async def test_a_lead_gone_or_a_write_refused_for_good_is_logged_and_dropped(error, caplog):
    hopper = ScriptedHopper({"L1": [error]})
    source = source_of(hopper)
    await source.record_result(talked("c1"), target(), NOON_ET + 60)
    await source.record_disposition(callback("c1", target()), NOON_ET + 90)
    assert (hopper.tries, hopper.written) == (1, [])
    [logged] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "could not record a result" in logged.getMessage()


async def test_a_callback_the_policy_refuses_is_written_without_it_once_redis_is_back():
    hopper = ScriptedHopper({"L1": [PolicyViolation("a callback at 03:00 is outside calling hours"), away()]})
    source = source_of(hopper)
    await source.record_result(talked("c1"), target(), NOON_ET + 60)
    await source.record_disposition(callback("c1", target()), NOON_ET + 90)
    [(_lead, result)] = hopper.written
    assert (result.outcome, result.disposition) == (Outcome.LIVE, Disposition.OTHER)


async def test_the_retry_ends_when_the_daemon_stops_and_holds_up_no_other_result():
    hopper = ScriptedHopper({"L1": [None]})  # away for ever, for this lead
    source = source_of(hopper)
    await source.record_result(talked("c1"), target(), NOON_ET + 60)
    waiting = asyncio.create_task(source.record_disposition(callback("c1", target()), NOON_ET + 90))
    async with asyncio.timeout(LIMIT):
        await hopper.tried.wait()
    await source.record_result(talked("c2", "L2"), target("L2"), NOON_ET + 60)
    await source.record_disposition(callback("c2", target("L2")), NOON_ET + 90)  # its own task: not held up
    assert [lead for lead, _ in hopper.written] == ["L2"]
    assert not waiting.done()
    waiting.cancel()  # the daemon's task group, at the stop
    async with asyncio.timeout(LIMIT):
        with pytest.raises(asyncio.CancelledError):
            await waiting


async def test_a_callback_disposed_during_a_real_redis_blip_reaches_the_lead(redis_url, client):
    prefix = "blipresult"
    config = load_campaign(CAMPAIGN)
    await load_demo_leads(LeadStore(client, prefix=prefix), config, 5, 7, NOON_ET)
    async with redis_blip(redis_url) as blip:
        via = connect_redis(blip.url)
        try:
            source = HopperLeadSource(Hopper(via, config, ContactPolicy(config), prefix=prefix), retry_s=0.01,
                                      max_retry_s=0.05)
            assert await source.depth(NOON_ET) > 0
            [req] = await source.take(1, NOON_ET)
            await source.record_result(talked("c1", req.lead_id), req.target, NOON_ET + 60)
            await blip.away()  # a Redis restart, a failover, a network blip
            with daemon_logs(lambda r: "not written yet" in r.getMessage(), "dialer.hopper_source") as waiting:
                task = asyncio.create_task(source.record_disposition(callback("c1", req.target), NOON_ET + 90))
                async with asyncio.timeout(LIMIT):
                    await waiting.wait()
            assert not task.done()
            await blip.back()
            async with asyncio.timeout(LIMIT):
                await task
        finally:
            await via.aclose()
    state = await LeadStore(client, prefix=prefix).lead_state(config.id, req.lead_id)
    assert float(state[S.CB_AT]) == TOMORROW
    assert state[S.ATTEMPTS] == "1"
