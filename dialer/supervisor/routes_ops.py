"""Routes for the live shift: campaigns, pacing knobs and decision log, agents, status, calls, audit.

A campaign move is stored (`Supervisor.save`, `dialer.overrides`) before the route answers, so a 200 means it
survives a restart; when Redis does not take it, the change still applies, the answer says it is not stored
(`overrides.stored`, `overrides.warning`) and the audit entry carries `stored: false`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query

from agents.desk.core import DeskError
from dialer.supervisor.auth import Principal, Role
from dialer.supervisor.context import Ctx
from dialer.supervisor.control import knobs_view
from dialer.supervisor.errors import NotFound, http_errors
from dialer.supervisor.records import CallQuery, query_calls, read_call
from dialer.supervisor.schemas import (
    AgentOut,
    AgentPause,
    AmdAuditReset,
    CampaignCreate,
    CampaignEdit,
    CampaignOut,
    CampaignPath,
    DecisionLog,
    PacingPatch,
    Problem,
    SpyRequest,
)
from dialer.supervisor.spy import start_spy

__all__ = ["ops_routes"]

AgentPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
CallPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
IdQuery = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Cursor = Annotated[str | None, Query(max_length=41, pattern=r"^\d{1,20}-\d{1,20}$",
                                     description="`next` from the previous page")]
AgentStateName = Literal["paused", "ready", "reserved", "previewing", "dialing", "talking", "wrapup", "logged_out"]


def ops_routes(ctx: Ctx, r: APIRouter) -> None:
    """Add these routes to `r`."""
    sup, audit, board = ctx.sup, ctx.audit, ctx.board
    reader, supervisor, admin = ctx.who(Role.READ_ONLY), ctx.who(Role.SUPERVISOR), ctx.who(Role.ADMIN)

    # ------------------------------------------------------------------ who and what
    @r.get("/api/whoami", tags=["status"])
    async def whoami(who: Principal = reader) -> dict[str, str]:
        """The caller's token name and role."""
        return {"name": who.name, "role": who.role.label}

    @r.get("/api/status", tags=["status"])
    async def status(who: Principal = reader) -> dict[str, Any]:
        """The daemon at a glance: running or stopping (`dialing`), the PBX (AMI) link, every campaign's state and
        why it dials as it does."""
        camps = sup.campaigns_view()
        totals: dict[str, int] = {}
        for c in camps:
            for state, n in c["agents"].items():
                totals[state] = totals.get(state, 0) + n
        return {
            "now": sup.now(),
            "dialing": bool(ctx.daemon.dialing),
            "pbx": sup.pbx_view(),
            "agents": totals,
            "campaigns": [
                {"id": c["id"], "name": c["name"], "status": c["status"], "mode": c["pacing"]["mode"],
                 "ratio": c["pacing"]["ratio"], "agents": c["agents"], "calls": c["calls"],
                 "dial_level": c["dial_level"], "amd_audit": c["amd_audit"],
                 "why": c["why"]}
                for c in camps
            ],
        }

    # ------------------------------------------------------------------ campaigns
    @r.get("/api/campaigns", tags=["campaigns"], response_model=list[CampaignOut])
    async def list_campaigns(who: Principal = reader) -> list[dict[str, Any]]:
        """Every campaign with its status, pacing knobs, live calls and agents, and the last decision."""
        return sup.campaigns_view()

    @r.post("/api/campaigns", tags=["campaigns"], response_model=CampaignOut, status_code=201,
            responses={501: {"model": Problem, "description": "the daemon cannot add campaigns while running"}})
    async def create_campaign(body: CampaignCreate, who: Principal = admin) -> dict[str, Any]:
        """Add a campaign to the running daemon. It starts paused, and is re-created at each restart."""
        with http_errors():
            await sup.restored()
            await sup.create(body.settings())
        await _store_and_audit(ctx, who, "campaign.create", body.id, **body.model_dump(mode="json"))
        return sup.campaign_view(body.id)

    @r.get("/api/campaigns/{campaign_id}", tags=["campaigns"], response_model=CampaignOut)
    async def show_campaign(campaign_id: CampaignPath, who: Principal = reader) -> dict[str, Any]:
        with http_errors():
            return sup.campaign_view(campaign_id)

    @r.patch("/api/campaigns/{campaign_id}", tags=["campaigns"], response_model=CampaignOut)
    async def edit_campaign(campaign_id: CampaignPath, body: CampaignEdit, who: Principal = admin) -> dict[str, Any]:
        """Change AMD, ring timeout, caller ID, recording, the wrap-up timeout and what follows it, or the name.
        Dial settings apply from the next dial, wrap-up ones from the next wrap-up; they survive a restart
        (until the config file changes that setting)."""
        with http_errors():
            await sup.restored()
            sup.edit(campaign_id, body.changes(), by=who.name)
        await _store_and_audit(ctx, who, "campaign.edit", campaign_id, **body.changes())
        return sup.campaign_view(campaign_id)

    @r.delete("/api/campaigns/{campaign_id}/overrides", tags=["campaigns"], response_model=CampaignOut)
    async def revert_campaign(
        campaign_id: CampaignPath, who: Principal = supervisor,
        run_state: Annotated[Literal["keep", "config"], Query(
            description="keep (default): the campaign stays running, paused or stopped as it is; config: it runs "
                        "again as the config file starts it (a campaign created at run time: paused)")] = "keep",
    ) -> dict[str, Any]:
        """Drop the supervisor's changes to the campaign's pacing knobs and settings: the configured values
        apply again at once, and after a restart. A campaign created at run time stays (back to the settings
        it was created with)."""
        with http_errors():
            await sup.restored()
            dropped = sup.revert(campaign_id, run_state=run_state, by=who.name)
        await _store_and_audit(ctx, who, "campaign.revert", campaign_id, run_state=run_state, dropped=dropped)
        return sup.campaign_view(campaign_id)

    for verb in ("start", "pause", "stop"):
        r.add_api_route(f"/api/campaigns/{{campaign_id}}/{verb}", _move(ctx, verb), methods=["POST"],
                        tags=["campaigns"], response_model=CampaignOut, name=f"{verb}_campaign",
                        summary=f"{verb.capitalize()} a campaign",
                        description={"start": "Resume dialing (also after stop).",
                                     "pause": "No new dials; live calls and agents go on.",
                                     "stop": "No new dials, and every agent of the campaign is paused "
                                             "(after their current call)."}[verb]
                        + " Survives a restart.")

    # ------------------------------------------------------------------ pacing
    @r.get("/api/campaigns/{campaign_id}/pacing", tags=["pacing"])
    async def show_pacing(campaign_id: CampaignPath, who: Principal = reader) -> dict[str, Any]:
        with http_errors():
            return knobs_view(sup.campaign(campaign_id).pacer.knobs)

    @r.patch("/api/campaigns/{campaign_id}/pacing", tags=["pacing"])
    async def set_pacing(campaign_id: CampaignPath, body: PacingPatch, who: Principal = supervisor) -> dict[str, Any]:
        """Change pacing knobs live; the campaign's next pacing decision uses them, and they survive a restart
        (until the config file changes that knob)."""
        with http_errors():
            await sup.restored()
            before, after = sup.patch_knobs(campaign_id, body.changes(), by=who.name)
        ctx.daemon.metrics.pacing_changes.labels(campaign_id).inc()
        await _store_and_audit(ctx, who, "pacing.set", campaign_id, changes=body.changes(), before=knobs_view(before))
        return {"campaign": campaign_id, "before": knobs_view(before), "pacing": knobs_view(after),
                "overrides": sup.overrides_view(campaign_id)}

    @r.post("/api/campaigns/{campaign_id}/amd_audit/reset", tags=["pacing"])
    async def reset_amd_audit(campaign_id: CampaignPath, body: AmdAuditReset,
                              who: Principal = supervisor) -> dict[str, Any]:
        """Forget the campaign's AMD audit sample (after AMD was tuned, the old sample no longer says how it
        errs): the false-positive share goes back to the configured one until `amd_audit_min_samples` new
        audits are in. Recorded in the audit log with the reason and the sample forgotten."""
        with http_errors():
            persons, audited = sup.reset_amd_audit(campaign_id)
            view = sup.amd_audit_view(sup.campaign(campaign_id))
        await audit.record(who, "amd_audit.reset", campaign_id, reason=body.reason, forgotten_persons=persons,
                           forgotten_audits=audited)
        board.poke()
        return {"campaign": campaign_id, "forgotten": {"persons": persons, "audited": audited}, "amd_audit": view}

    @r.get("/api/campaigns/{campaign_id}/decisions", tags=["pacing"], response_model=DecisionLog)
    async def decisions(campaign_id: CampaignPath, who: Principal = reader,
                        limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> dict[str, Any]:
        """The pacing decision log, newest first: why it is dialing this much, or not dialing."""
        with http_errors():
            return sup.decisions(campaign_id, limit)

    # ------------------------------------------------------------------ agents
    @r.get("/api/agents", tags=["agents"], response_model=list[AgentOut])
    async def list_agents(who: Principal = reader, campaign: IdQuery = None,
                          state: AgentStateName | None = None) -> list[dict[str, Any]]:
        with http_errors():
            return sup.agents_view(campaign, state)

    @r.get("/api/agents/{agent_id}", tags=["agents"], response_model=AgentOut)
    async def show_agent(agent_id: AgentPath, who: Principal = reader) -> dict[str, Any]:
        with http_errors():
            return sup.agent_view(sup.agent(agent_id), sup.now())

    @r.post("/api/agents/{agent_id}/pause", tags=["agents"], response_model=AgentOut)
    async def pause_agent(agent_id: AgentPath, body: AgentPause, who: Principal = supervisor) -> dict[str, Any]:
        """Pause an agent now, or after the current call when on one (`pending_pause`)."""
        with http_errors():
            view = sup.force_pause(agent_id, body.reason)
        await audit.record(who, "agent.pause", agent_id, reason=body.reason)
        board.poke()
        return view

    @r.post("/api/agents/{agent_id}/logout", tags=["agents"], response_model=AgentOut)
    async def logout_agent(agent_id: AgentPath, who: Principal = supervisor) -> dict[str, Any]:
        """Log an agent out now, or after the current call when on one (`pending_logout`)."""
        with http_errors():
            view = sup.force_logout(agent_id)
        await audit.record(who, "agent.logout", agent_id)
        board.poke()
        return view

    @r.post("/api/agents/{agent_id}/login-unlock", tags=["agents"])
    async def unlock_agent_login(agent_id: AgentPath, who: Principal = supervisor) -> dict[str, Any]:
        """Lift the agent's desk login lock (too many wrong passwords from one address) and slow-down (from
        many addresses), everywhere at once: their next login is checked at once. `was_locked` says whether
        one was on. A client address's own lock (wrong passwords for many agents from there) stays until it
        runs out. Recorded in the audit log."""
        desk = ctx.desk
        if desk is None:
            raise HTTPException(501, "this daemon serves no agent desk, so no desk login can be locked")
        try:
            was = desk.unlock_login(agent_id, by=who.name)
        except DeskError as exc:
            raise HTTPException(exc.status, str(exc)) from None
        await audit.record(who, "agent.login_unlock", agent_id, was_locked=was)
        return {"agent_id": agent_id, "was_locked": was}

    @r.post("/api/agents/{agent_id}/spy", tags=["agents"])
    async def spy(agent_id: AgentPath, body: SpyRequest, who: Principal = supervisor) -> dict[str, Any]:
        """Ring the supervisor's phone into the agent's live call: listen, whisper (agent hears) or barge
        (both hear). Recorded in the audit log before the call is placed."""
        with http_errors():
            return await start_spy(ctx.daemon, audit, who, agent_id, body.mode, body.extension)

    # ------------------------------------------------------------------ call records and audit
    @r.get("/api/calls", tags=["calls"])
    async def calls(
        who: Principal = reader,
        campaign: IdQuery = None,
        outcome: Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_]+$")] = None,
        agent: IdQuery = None,
        lead: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
        abandoned: bool | None = None,
        since: Annotated[float | None, Query(ge=0, le=1e11, description="ended at or after (epoch s)")] = None,
        until: Annotated[float | None, Query(ge=0, le=1e11, description="ended before (epoch s)")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        before: Cursor = None,
    ) -> dict[str, Any]:
        """Call records, newest first; numbers are masked for read-only tokens. Page with `before=next`."""
        q = CallQuery(campaign=campaign, outcome=outcome, agent=agent, lead=lead, abandoned=abandoned,
                      since=since, until=until, limit=limit, before=before)
        with http_errors():
            return await query_calls(ctx.daemon.store, q, mask=not who.may(Role.SUPERVISOR))

    @r.get("/api/calls/{call_id}", tags=["calls"])
    async def call(call_id: CallPath, who: Principal = reader) -> dict[str, Any]:
        """One call record with its disposition."""
        with http_errors():
            found = await read_call(ctx.daemon.store, call_id, mask=not who.may(Role.SUPERVISOR))
            if found is None:
                raise NotFound(f"no call record {call_id!r}")
            return found

    @r.get("/api/audit", tags=["status"])
    async def audit_log(who: Principal = admin, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                        before: Cursor = None) -> list[dict[str, Any]]:
        """Who changed what, and who listened to whom, newest first."""
        with http_errors():
            return await audit.read(limit, before)



def _move(ctx: Ctx, verb: str) -> Any:
    sup, supervisor = ctx.sup, ctx.who(Role.SUPERVISOR)

    async def move(campaign_id: CampaignPath, who: Principal = supervisor) -> dict[str, Any]:
        with http_errors():
            await sup.restored()
            if verb == "start":
                sup.start(campaign_id, by=who.name)
                extra: dict[str, Any] = {}
            elif verb == "pause":
                sup.pause(campaign_id, by=who.name)
                extra = {}
            else:
                extra = {"agents_paused": sup.stop(campaign_id, by=who.name)}
        await _store_and_audit(ctx, who, f"campaign.{verb}", campaign_id, **extra)
        return sup.campaign_view(campaign_id)

    return move


async def _store_and_audit(ctx: Ctx, who: Principal, action: str, campaign_id: str, **fields: Any) -> None:
    """After a campaign move: store its overrides, audit it (saying so when Redis did not take it, since a
    restart before the retried write lands would undo it), and refresh the wallboard."""
    stored = await ctx.sup.save(campaign_id)
    await ctx.audit.record(who, action, campaign_id, **fields, **({} if stored else {"stored": False}))
    ctx.board.poke()
