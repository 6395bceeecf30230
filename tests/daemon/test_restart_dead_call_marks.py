"""A daemon killed (kill -9) while its dial rang; the person answered while no daemon ran, waited in
`dialer-connect`'s silence and hung up before the restart. Asterisk has no channel of that call any more, but the
dialplan marked the answer in AstDB (`dialer_ans/<UTC day>/<call id>`), and the dead process kept the call's id on
its take. The restarted daemon reads the mark before it records the take: a person is an abandoned call (its
record, the abandon in the compliance ledger at the answer's time, the number locked 72 hours), a machine a
machine, no mark (or marks Asterisk refuses to read, with a WARNING) lost as before; a call the dead process had
already recorded is not counted again. Dialing waits for it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator
from typing import Any

from daemon_fakes import ami_side, db_get_answer, ready_agent
from test_orphan_calls import CAMPAIGN, LIMIT, NOON_ET, AsteriskAfterCrash, settled

from dialer.ami import actions
from dialer.ami import events as ev
from dialer.ami.marks import MARK_FAMILY, mark_key
from dialer.campaigns.loader import load_campaign
from dialer.config import CampaignSettings
from dialer.daemon import DEAD_TAKES_HOLD, Daemon
from dialer.engine.records import CallRecord
from dialer.hopper import Hopper, LeadStore
from dialer.hopper.views import S
from dialer.hopper_source import HopperLeadSource
from dialer.leads.demo import load_demo_leads
from dialer.ledger_store import LedgerStore, parse_ledger
from dialer.policy.contact import ContactPolicy
from dialer.store import RedisStore
from pacing.ledger import LedgerEntry, LedgerEntryKind

CID = "upsell-fiber"
RESTART = NOON_ET + 600  # ten minutes after the crash
ANSWER_AFTER_S = 8.0  # the person answered 8 s after the dial


class Asterisk(AsteriskAfterCrash):
    """The dead and the new process's Asterisk: no channel of the dead process's call left, its answer mark (if
    any) in AstDB, read with DBGet as Asterisk 22's main/db.c answers it; Originates kept."""

    def __init__(self) -> None:
        super().__init__([], {})
        self.astdb: dict[str, str] = {}  # "<family>/<key>" -> value
        self.db_refusal = ""  # an Error answer to DBGet ("Permission denied": the AMI user may not)
        self.db_gate: asyncio.Event | None = None  # DBGet answers only once set
        self.db_asked = asyncio.Event()  # a DBGet was sent
        self.originates: list[actions.OriginateAction] = []

    def submit_originate(self, action: actions.OriginateAction) -> None:
        self.originates.append(action)

    async def send(self, action: actions.AmiAction, timeout: float = 10.0, *, check: bool = False) -> Any:
        if action.name != "DBGet":
            return await super().send(action, timeout, check=check)
        self.sent.append(action)
        self.db_asked.set()
        if self.db_gate is not None:
            await self.db_gate.wait()
        return db_get_answer(self.astdb, dict(action.headers), self.db_refusal)


def hopper(client: object, prefix: str, run_id: str) -> Hopper:
    config = load_campaign(CAMPAIGN)
    return Hopper(client, config, ContactPolicy(config), prefix=prefix, run_id=run_id)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def daemon(redis_url: str, prefix: str, run_id: str, ami: Asterisk, client: object,
                 start: float) -> AsyncIterator[tuple[Daemon, HopperLeadSource]]:
    """A daemon process (its own hopper run) on the campaign's Redis, connected to AMI once (its first look)."""
    source = HopperLeadSource(hopper(client, prefix, run_id))
    async with ami_side(redis_url, CampaignSettings(id=CID), source, ami, prefix, start, speed=1.0) as d:
        await ami.feed(ev.AmiConnected(reconnect=False))
        await settled(d)
        yield d, source


async def killed_while_ringing(redis_url: str, prefix: str, client: Any) -> tuple[str, str, float]:
    """The dead process: an agent ready, one pacing step dials one lead, and the process dies (no shutdown: its
    call's record is never written). Its lead id, call id and when it dialed."""
    await load_demo_leads(LeadStore(client, prefix=prefix), load_campaign(CAMPAIGN), 3, 7, NOON_ET)
    ami = Asterisk()
    async with daemon(redis_url, prefix, "dead", ami, client, NOON_ET) as (d, source):
        ready_agent(d, "a1", "1001", campaign=CID)
        await d._pace_once(CID, source)
        await settled(d)
        [call] = d.engine.calls.values()
        assert len(ami.originates) == 1
        return call.lead_id, call.call_id, call.dialed_at


def marked(ami: Asterisk, call_id: str, dialed_at: float, status: str) -> float:
    """The dialplan's mark of the answer (`${EPOCH}`: whole seconds), as dialer-connect writes it."""
    at = float(round(dialed_at + ANSWER_AFTER_S))
    ami.astdb[f"{MARK_FAMILY}/{mark_key(call_id, at)}"] = f"{at:.0f}:{status}"
    return at


async def ledger_at(d: Daemon, minute_of: float) -> tuple[float, float]:
    """The live answers and abandons Redis's ledger holds for the minute of `minute_of` (the outbox written)."""
    await d.store.flush()
    pending = d.ledgers.read(CID, d.clock.now())
    await d.store.flush()
    hours, us, audit = await pending
    bucket = parse_ledger(CID, hours, us, audit, d.clock.now()).ledger.bucket(math.floor(minute_of / 60))
    return (0.0, 0.0) if bucket is None else (bucket.lives, bucket.abandons)


async def records_of(d: Daemon, call_id: str) -> list[dict[str, str]]:
    await d.store.flush()
    return [r for r in await d.store.call_records() if r.get("call_id") == call_id]


async def test_the_dead_process_keeps_its_dials_call_id_on_the_take(client, redis_url):
    lead, call_id, _ = await killed_while_ringing(redis_url, "deadmarks0", client)
    state = await LeadStore(client, prefix="deadmarks0").lead_state(CID, lead)
    assert (state[S.TAKEN_RUN], state[S.DIALED]) == ("dead", call_id)


async def test_a_person_who_answered_while_no_daemon_ran_is_an_abandon_in_the_ledger_and_locked(client, redis_url):
    prefix = "deadmarks1"
    lead, call_id, dialed_at = await killed_while_ringing(redis_url, prefix, client)
    ami = Asterisk()
    answered = marked(ami, call_id, dialed_at, "HUMAN")
    async with daemon(redis_url, prefix, "next", ami, client, RESTART) as (d, source):
        [record] = await records_of(d, call_id)
        got = CallRecord.from_fields(record)
        assert (got.outcome, got.abandoned, got.lead_id) == ("abandoned", True, lead)
        assert got.answered_at == got.human_at == answered
        assert d.engine.campaigns[CID].pacer.ledger.total_abandons == 1  # counted now, not at the next restart
        assert await ledger_at(d, answered) == (1.0, 1.0)  # in Redis, at the minute of the answer
        info = await source.hopper.explain(lead, d.clock.now())
        assert (info["where"]["queue"], info["last_outcome"], info["attempts"]) == ("retry", "abandoned", 1)
        locks = [n["locked_until"] for n in info["numbers"] if n["locked_until"]]
        assert locks
        assert min(locks) >= RESTART + 71 * 3600  # the 72-hour abandon lock
        assert not d.engine.ami_link.hold


async def test_a_machine_that_answered_while_no_daemon_ran_is_a_machine(client, redis_url):
    prefix = "deadmarks2"
    lead, call_id, dialed_at = await killed_while_ringing(redis_url, prefix, client)
    ami = Asterisk()
    marked(ami, call_id, dialed_at, "MACHINE")
    async with daemon(redis_url, prefix, "next", ami, client, RESTART) as (d, source):
        [record] = await records_of(d, call_id)
        assert (record["outcome"], record["abandoned"]) == ("machine", "0")
        assert d.engine.campaigns[CID].pacer.ledger.total_abandons == 0
        info = await source.hopper.explain(lead, d.clock.now())
        assert (info["last_outcome"], info["attempts"]) == ("machine", 1)
        assert not any(n["locked_until"] for n in info["numbers"])


async def test_a_dial_with_no_mark_stays_lost(client, redis_url):
    prefix = "deadmarks3"
    lead, call_id, _ = await killed_while_ringing(redis_url, prefix, client)
    ami = Asterisk()
    async with daemon(redis_url, prefix, "next", ami, client, RESTART) as (d, source):
        assert [dict(a.headers)["Family"] for a in ami.sent if a.name == "DBGet"] == [MARK_FAMILY]  # looked for
        assert await records_of(d, call_id) == []
        info = await source.hopper.explain(lead, d.clock.now())
        assert (info["where"]["queue"], info["last_outcome"], info["attempts"]) == ("retry", "no_answer", 1)


async def test_a_call_the_dead_process_recorded_before_it_died_is_not_counted_again(client, redis_url):
    prefix = "deadmarks4"
    lead, call_id, dialed_at = await killed_while_ringing(redis_url, prefix, client)
    # what the dead process wrote before it died: the ledger's abandon, then the record (one outbox, in order);
    # the lead's result it never wrote
    answered = float(round(dialed_at + ANSWER_AFTER_S))
    old = RedisStore(client, prefix=prefix)  # type: ignore[arg-type]
    LedgerStore(old).record(CID, LedgerEntry(answered + 5, LedgerEntryKind.ABANDONED))
    old.append_call_record(CallRecord(
        call_id=call_id, campaign_id=CID, lead_id=lead, number="", attempt=1, outcome="abandoned", abandoned=True,
        created_at=dialed_at, originated_at=dialed_at, answered_at=answered, human_at=answered, connected_at=None,
        ended_at=answered + 5, agent_id=None, amd_status="HUMAN", dial_status=None, hangup_cause=None, wait_s=5.0,
        talk_s=None))
    await old.flush()
    ami = Asterisk()
    marked(ami, call_id, dialed_at, "HUMAN")
    async with daemon(redis_url, prefix, "next", ami, client, RESTART) as (d, source):
        assert len(await records_of(d, call_id)) == 1  # the dead process's, no second one
        assert d.engine.campaigns[CID].pacer.ledger.total_abandons == 0  # nothing counted anew
        assert await ledger_at(d, answered) == (1.0, 1.0)  # the dead process's abandon only
        assert [a for a in ami.sent if a.name == "DBGet"] == []  # its record says it all
        info = await source.hopper.explain(lead, d.clock.now())
        assert (info["last_outcome"], info["attempts"]) == ("abandoned", 1)  # the result it never wrote
        assert any(n["locked_until"] for n in info["numbers"])


async def test_an_abandon_the_dead_process_counted_but_never_recorded_is_not_counted_again(client, redis_url):
    prefix = "deadmarks6"
    lead, call_id, dialed_at = await killed_while_ringing(redis_url, prefix, client)
    # the dead process's outbox wrote the ledger's abandon and died before the call's record (two queued writes)
    answered = float(round(dialed_at + ANSWER_AFTER_S))
    old = RedisStore(client, prefix=prefix)  # type: ignore[arg-type]
    LedgerStore(old).record(CID, LedgerEntry(answered + 5, LedgerEntryKind.ABANDONED), call_id=call_id)
    await old.flush()
    ami = Asterisk()
    marked(ami, call_id, dialed_at, "HUMAN")
    async with daemon(redis_url, prefix, "next", ami, client, RESTART) as (d, source):
        [record] = await records_of(d, call_id)  # the record it never wrote, from the mark
        assert (record["outcome"], record["abandoned"]) == ("abandoned", "1")
        assert d.engine.campaigns[CID].pacer.ledger.total_abandons == 0  # counted once, by the dead process
        assert await ledger_at(d, answered) == (1.0, 1.0)
        info = await source.hopper.explain(lead, d.clock.now())
        assert info["last_outcome"] == "abandoned"
        assert any(n["locked_until"] for n in info["numbers"])


async def test_a_person_the_dead_process_connected_in_time_is_no_abandon(client, redis_url):
    prefix = "deadmarks7"
    lead, call_id, dialed_at = await killed_while_ringing(redis_url, prefix, client)
    # connected within 2 s: the ledger counted a live answer, not an abandon; the record never written
    answered = float(round(dialed_at + ANSWER_AFTER_S))
    old = RedisStore(client, prefix=prefix)  # type: ignore[arg-type]
    LedgerStore(old).record(CID, LedgerEntry(answered + 1, LedgerEntryKind.LIVE), call_id=call_id)
    await old.flush()
    ami = Asterisk()
    marked(ami, call_id, dialed_at, "HUMAN")
    async with daemon(redis_url, prefix, "next", ami, client, RESTART) as (d, source):
        assert await records_of(d, call_id) == []
        assert d.engine.campaigns[CID].pacer.ledger.total_abandons == 0
        assert await ledger_at(d, answered) == (1.0, 0.0)
        info = await source.hopper.explain(lead, d.clock.now())
        assert info["last_outcome"] == "no_answer"  # recorded lost, as without a mark: no 72-hour lock
        assert not any(n["locked_until"] for n in info["numbers"])


async def test_marks_refused_leave_the_dial_lost_and_say_to_grant_the_right(client, redis_url, caplog):
    prefix = "deadmarks5"
    lead, call_id, dialed_at = await killed_while_ringing(redis_url, prefix, client)
    ami = Asterisk()
    marked(ami, call_id, dialed_at, "HUMAN")
    ami.db_refusal = "Permission denied"
    caplog.set_level(logging.WARNING, logger="dialer.ami.marks")
    async with daemon(redis_url, prefix, "next", ami, client, RESTART) as (d, source):
        assert await records_of(d, call_id) == []
        info = await source.hopper.explain(lead, d.clock.now())
        assert (info["last_outcome"], info["attempts"]) == ("no_answer", 1)
        assert d.engine.campaigns[CID].pacer.ledger.total_abandons == 0
    [warning] = [r for r in caplog.records if r.name == "dialer.ami.marks"]
    assert warning.levelno == logging.WARNING
    said = warning.getMessage()
    assert "Permission denied" in said
    assert "write=reporting" in said
    assert "earlier daemon process" in said


async def test_no_dial_until_the_dead_processs_calls_are_settled(client, redis_url):
    prefix = "deadmarks6"
    _lead, call_id, dialed_at = await killed_while_ringing(redis_url, prefix, client)
    ami = Asterisk()
    marked(ami, call_id, dialed_at, "HUMAN")
    ami.db_gate = asyncio.Event()  # Asterisk slow to answer DBGet
    source = HopperLeadSource(hopper(client, prefix, "next"))
    async with ami_side(redis_url, CampaignSettings(id=CID), source, ami, prefix, RESTART, speed=1.0) as d:
        await ami.feed(ev.AmiConnected(reconnect=False))
        async with asyncio.timeout(LIMIT):
            await ami.db_asked.wait()
        ready_agent(d, "a1", "1001", campaign=CID)
        await d._pace_once(CID, source)
        decision = d.engine.campaigns[CID].pacer.decisions[-1]
        assert decision.launch == 0
        assert DEAD_TAKES_HOLD in decision.detail
        assert ami.originates == []
        ami.db_gate.set()
        await settled(d)
        assert not d.engine.ami_link.hold
        assert d.engine.campaigns[CID].pacer.ledger.total_abandons == 1
        await d._pace_once(CID, source)
        assert len(ami.originates) == 1  # dialing goes on
