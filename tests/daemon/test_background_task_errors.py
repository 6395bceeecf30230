"""What the daemon hands to a task of its own (`Daemon._later`: a lead given back, a call's result or a
disposition for the lead source, an AMI action...) may fail: Redis is away, the lead was deleted while in
flight, or a bug. The task's error is logged with what it was doing and counted; the daemon goes on
dialing, and its stop still drains (every call record written). Before, the error ended the daemon's task
group: the daemon died without its drain, and what was queued was lost."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from daemon_fakes import daemon_logs, one_campaign_daemon, ready_agent, stopping, talk_and_hang_up

from agents import commands as ac
from dialer.daemon import Daemon
from dialer.engine.commands import DispositionMade, ReturnLead
from dialer.engine.core import DialRequest
from dialer.engine.records import CallRecord
from dialer.errors import LeadError, StateStoreError
from dialer.leadsource import InMemoryLeadSource

T0 = 1_795_000_000.0
LIMIT = 10.0  # real seconds: only turns a hang into a failure


class FailingLeads(InMemoryLeadSource):
    """Its writes fail as the hopper's do: Redis away, a lead deleted while in flight, and a bug."""

    async def give_back(self, request: DialRequest, now: float) -> None:
        raise StateStoreError(f"Redis failed while giving lead {request.lead_id} back: Connection refused")

    async def record_result(self, record: CallRecord, target: object | None, now: float) -> None:
        raise LeadError(f"lead {record.lead_id} does not exist in campaign {record.campaign_id}")

    async def record_disposition(self, disposition: DispositionMade, now: float) -> None:
        raise RuntimeError("a bug in the lead source")


def make_daemon(client: Any, prefix: str) -> Daemon:
    return one_campaign_daemon(client, prefix, FailingLeads([]), T0)


async def alive_until(seen: asyncio.Event, daemon: asyncio.Task[None]) -> None:
    """Until `seen` is set, failing at once if the daemon ends meanwhile."""
    waiter = asyncio.ensure_future(seen.wait())
    try:
        await asyncio.wait({waiter, daemon}, timeout=LIMIT, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    assert not daemon.done(), f"the daemon died: {daemon.exception()!r}"
    assert seen.is_set()


def message(part: str) -> Any:
    return lambda r: part in r.getMessage()


async def test_a_failing_task_is_logged_and_counted_and_the_daemon_goes_on_and_drains(client, caplog):
    caplog.set_level(logging.INFO, logger="dialer.daemon")
    d = make_daemon(client, "tasks1")
    stop, task = await stopping(d)
    try:
        now = d.clock.now()
        with daemon_logs(message("give-back failed")) as given_back:
            d.execute([ReturnLead("uk", "uk-1-x", DialRequest("L0", "+442075550100"), "AMI down")], now)
            await alive_until(given_back, task)
        assert not task.done()
        ready_agent(d)
        with daemon_logs(message("record-result failed")) as recorded:
            cid = talk_and_hang_up(d, 1)  # its result: the lead was deleted meanwhile
            await alive_until(recorded, task)
        with daemon_logs(message("disposition crashed")) as crashed:
            d.agent_command(ac.Disposition("a1", cid, "sale"))
            await alive_until(crashed, task)
        assert not task.done()
        assert (d.task_failures, d.task_crashes) == (2, 1)
    finally:
        stop.set()
        if not task.done():
            async with asyncio.timeout(LIMIT):
                await task  # a clean stop: no ExceptionGroup
    assert await client.hget(f"tasks1:call:{cid}", "disposition") == "sale"  # drained
    by_message = {r.getMessage().split(":")[0]: r for r in caplog.records if r.name == "dialer.daemon"}
    failed = by_message["give-back failed"]
    assert (failed.levelno, failed.lead_id, failed.campaign_id, failed.call_id) == (  # type: ignore[attr-defined]
        logging.ERROR, "L0", "uk", "uk-1-x")
    assert "Connection refused" in failed.getMessage()
    assert by_message["record-result failed"].call_id == cid  # type: ignore[attr-defined]
    bug = next(r for r in caplog.records if r.getMessage() == "disposition crashed")
    assert bug.exc_info is not None
    assert "a bug in the lead source" in str(bug.exc_info[1])
