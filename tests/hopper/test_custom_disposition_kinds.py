"""A campaign's own disposition codes mean what their *kind* says (docs/AGENT_DESKTOP.md "Dispositions"):
the hopper source looks each code up in the campaign's disposition set, so a custom callback code keeps
the promised callback, a custom sale code is a sale and a custom refusal suppresses the offer. A code it
cannot place is `other`, with a WARNING."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from hopper_helpers import at, campaign, hopper, store
from redis.asyncio import Redis

from agents.commands import Disposition as AgentDisposition
from agents.dispositions import DEFAULT_DISPOSITIONS, DispositionKind, DispositionSet, DispositionSpec
from dialer.config import CampaignSettings
from dialer.engine.commands import DispositionMade
from dialer.engine.records import CallRecord
from dialer.hopper import DialTarget, Hopper, LeadStore
from dialer.hopper.views import S
from dialer.hopper_source import HopperLeadSource, open_hopper_source
from dialer.policy import Block

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

SPECS = DispositionSet((
    DispositionSpec("upgrade", "Upgraded", DispositionKind.SALE),
    DispositionSpec("ring_me_later", "Call back", DispositionKind.CALLBACK),
    DispositionSpec("no_thanks", "Refused", DispositionKind.REFUSED),
    DispositionSpec("confirmed", "Confirmed", DispositionKind.SALE),
))
NOW = at(2025, 6, 3, 12)  # a Tuesday, noon in New York


def _record(t: DialTarget, now: float) -> CallRecord:
    return CallRecord(call_id="call1", campaign_id=t.campaign_id, lead_id=t.lead_id, number=t.number_e164,
                      attempt=t.attempt, outcome="connected", abandoned=False, created_at=now,
                      originated_at=now, answered_at=now, human_at=now, connected_at=now, ended_at=now + 60,
                      agent_id="ann", amd_status=None, dial_status=None, hangup_cause=None, wait_s=0.0,
                      talk_s=60.0)


async def _dispose(redis: Redis, prefix: str, code: str, fields: dict[str, str], *,
                   specs: DispositionSet = SPECS, **over: Any) -> tuple[Hopper, LeadStore, DialTarget]:
    c = campaign("c1", **over)
    st = store(redis, prefix)
    await st.import_rows(c, [{"mobile": "+12125550111", "name": "Ann"}], now=NOW)
    h = hopper(redis, c, prefix)
    src = HopperLeadSource(h, dispositions=specs)
    await h.fill(NOW)
    (t,) = await h.take(1, NOW)
    await src.record_result(_record(t, NOW), t, NOW + 60)
    cmd = specs.validate(AgentDisposition(agent_id="ann", call_id="call1", code=code, fields=fields), NOW + 60)
    made = DispositionMade(call_id="call1", agent_id="ann", code=cmd.code, fields=dict(cmd.fields),
                           script_path=(), at=NOW + 60, target=t, campaign_id="c1")
    await src.record_disposition(made, NOW + 60)
    return h, st, t


async def test_custom_callback_code_schedules_the_callback(redis: Redis, prefix: str) -> None:
    promised = at(2025, 6, 4, 15)  # tomorrow 15:00 New York, inside calling hours
    _h, st, t = await _dispose(redis, prefix, "ring_me_later",
                               {"callback_at": f"{promised:.0f}", "callback_owner": "mine"})
    state = await st.lead_state("c1", t.lead_id)
    assert state.get(S.FINISHED) is None, f"the callback was dropped: lead finished {state.get(S.FINISHED)!r}"
    assert float(state[S.CB_AT]) == promised


async def test_custom_sale_code_counts_as_a_sale(redis: Redis, prefix: str) -> None:
    h, st, t = await _dispose(redis, prefix, "upgrade", {})
    state = await st.lead_state("c1", t.lead_id)
    assert state.get(S.FINISHED) == "sale"
    assert (await h.outcome_counts()).get("disposition:sale") == 1


async def test_custom_refusal_code_suppresses_the_offer(redis: Redis, prefix: str) -> None:
    _h, st, t = await _dispose(redis, prefix, "no_thanks", {"reason": "too_expensive"},
                               offer="fiber", decline_suppress_days=90, counts_as_base=False)
    state = await st.lead_state("c1", t.lead_id)
    assert state.get(S.FINISHED) == "refused"
    # the same offer in another campaign is held back by the decline
    other = campaign("c2", offer="fiber", counts_as_base=False)
    await st.import_rows(other, [{"mobile": "+12125550111", "id": "b"}], now=NOW + 3600)
    h2 = hopper(redis, other, prefix)
    later = at(2025, 6, 10, 12)
    await h2.fill(later)
    assert await h2.take(1, later) == []
    verdict = (await h2.explain("b", later))["verdict"]
    assert verdict["block"] == Block.SUPPRESSED
    assert "declined_offer:fiber" in verdict["detail"]


async def test_confirmed_keeps_its_own_word(redis: Redis, prefix: str) -> None:
    # a confirmation campaign's `confirmed` (kind sale) is the policy's `confirmed`, not a second sale
    _h, st, t = await _dispose(redis, prefix, "confirmed", {})
    assert (await st.lead_state("c1", t.lead_id)).get(S.FINISHED) == "confirmed"


async def test_unknown_code_is_other_with_a_warning(redis: Redis, prefix: str,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    # the source was given the default set: the campaign's own code is unknown to it
    caplog.set_level(logging.WARNING, logger="dialer.hopper_source")
    loose = DispositionSet((DispositionSpec("upgrade", "Upgraded", DispositionKind.SALE),))
    c = campaign("c1")
    st = store(redis, prefix)
    await st.import_rows(c, [{"mobile": "+12125550111"}], now=NOW)
    h = hopper(redis, c, prefix)
    src = HopperLeadSource(h, dispositions=DEFAULT_DISPOSITIONS)
    await h.fill(NOW)
    (t,) = await h.take(1, NOW)
    await src.record_result(_record(t, NOW), t, NOW + 60)
    cmd = loose.validate(AgentDisposition(agent_id="ann", call_id="call1", code="upgrade", fields={}), NOW + 60)
    await src.record_disposition(DispositionMade("call1", "ann", cmd.code, dict(cmd.fields), (), NOW + 60, t,
                                                 campaign_id="c1"), NOW + 60)
    assert (await st.lead_state("c1", t.lead_id)).get(S.FINISHED) == "other"
    assert any("unknown to the campaign's dispositions" in r.getMessage() for r in caplog.records)


async def test_open_hopper_source_reads_the_scripts_dispositions(redis: Redis, prefix: str) -> None:
    settings = CampaignSettings(id="confirm-order", file=EXAMPLES / "campaigns" / "confirmation.yaml",
                                script=EXAMPLES / "scripts" / "confirmation.yaml")
    source = await open_hopper_source(settings, redis, prefix)
    spec = source.dispositions.get("not_confirmed")
    assert spec is not None
    assert spec.kind is DispositionKind.REFUSED
    plain = await open_hopper_source(CampaignSettings(id="confirm-order", file=settings.file), redis, prefix)
    assert plain.dispositions is DEFAULT_DISPOSITIONS
