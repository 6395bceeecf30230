"""The callbacks agents kept for themselves ("me" on the desk), as supervisors see and move them (all of an
agent's at once, or one, in time or to another agent).

Such a callback comes back to its agent when due (`Daemon.offer_own_callbacks`), and goes to any agent
once it is the campaign's `personal_callback_wait_s` late, or never when that is null. An agent who is
away, or has left, therefore holds their customers' callbacks: a supervisor lists them and hands them
to another agent, or to anyone at once.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from dialer.engine.records import mask_number
from dialer.leadsource import OwnCallbackSource
from dialer.supervisor.auth import Principal, Role
from dialer.supervisor.context import Ctx
from dialer.supervisor.errors import Conflict, Invalid, http_errors
from dialer.supervisor.records import lead_pseudonym
from dialer.supervisor.schemas import AgentId, CampaignPath, _In

__all__ = ["callback_routes"]

AgentQuery = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class CallbackReassign(_In):
    from_agent: AgentId
    to_agent: AgentId | None = Field(None, description="the agent who keeps them from now on; null: any agent, "
                                                       "at once")


class CallbackMoveIn(_In):
    lead_id: str = Field(min_length=1, max_length=128)
    at: str | None = Field(None, min_length=1, max_length=40,
                           description="the new time, ISO-8601 with a UTC offset or epoch seconds; null: it stays")
    agent: AgentId | None = Field(None, description="the agent who keeps it from now on; null: any agent")


def callback_routes(ctx: Ctx, r: APIRouter) -> None:
    """Add these routes to `r`."""
    reader, supervisor = ctx.who(Role.READ_ONLY), ctx.who(Role.SUPERVISOR)

    @r.get("/api/campaigns/{campaign_id}/callbacks", tags=["callbacks"])
    async def agent_callbacks(campaign_id: CampaignPath, agent: AgentQuery = None,
                              limit: Annotated[int, Query(ge=1, le=500)] = 50,
                              who: Principal = reader) -> dict[str, Any]:
        """The scheduled callbacks `agent` kept for themselves in the campaign, earliest first; without
        `agent`, all the campaign's scheduled callbacks, each with `kept_for` (null: any agent's)."""
        with http_errors():
            ctx.sup.campaign(campaign_id)  # 404 for an unknown campaign
            if agent is None:
                got = await ctx.daemon.scheduled_callbacks(campaign_id, limit)
            else:
                got = await ctx.daemon.own_callbacks(agent, campaign_id, limit)
        if not who.may(Role.SUPERVISOR):  # as call records: a read-only token sees no number, nor the lead's data,
            # and its id as a pseudonym (an id an import gave is n<the number's digits> or s-<subscriber id>)
            got = [{**c, "number": mask_number(str(c.get("number") or "")), "lead": {},
                    "lead_id": lead_pseudonym(str(c.get("lead_id") or ""))} for c in got]
        return {"campaign_id": campaign_id, "agent": agent, "callbacks": got}

    @r.post("/api/campaigns/{campaign_id}/callbacks/reassign", tags=["callbacks"])
    async def reassign(campaign_id: CampaignPath, body: CallbackReassign,
                       who: Principal = supervisor) -> dict[str, Any]:
        """Hand every scheduled callback `from_agent` kept for themselves to `to_agent`, or to anyone (null).
        One being dialed or previewed right now stays where it is."""
        with http_errors():
            if body.to_agent == body.from_agent:
                raise Invalid("from_agent and to_agent are the same agent: nothing to move")
            ctx.sup.campaign(campaign_id)  # 404 for an unknown campaign
            _check_keeper(ctx, campaign_id, body.to_agent, "to_agent")
            src = ctx.daemon.leads.get(campaign_id)
            if not isinstance(src, OwnCallbackSource):  # the Redis hopper keeps callbacks for agents
                raise Conflict(f"campaign {campaign_id}'s leads do not come from the Redis hopper, which is what "
                               "keeps callbacks for agents: it has none to move")
            moved = await src.reassign_callbacks(body.from_agent, body.to_agent)
        await ctx.audit.record(who, "callbacks.reassign", campaign_id, from_agent=body.from_agent,
                               to_agent=body.to_agent or "anyone", moved=moved)
        return {"campaign_id": campaign_id, "from_agent": body.from_agent, "to_agent": body.to_agent,
                "moved": moved}

    @r.post("/api/campaigns/{campaign_id}/callbacks/move", tags=["callbacks"])
    async def move(campaign_id: CampaignPath, body: CallbackMoveIn, who: Principal = supervisor) -> dict[str, Any]:
        """Move one scheduled callback (kept for an agent or not) to another time and/or keep it for `agent`
        (null: any agent). One being dialed or previewed right now cannot move (409)."""
        with http_errors():
            ctx.sup.campaign(campaign_id)  # 404 for an unknown campaign
            _check_keeper(ctx, campaign_id, body.agent, "agent")
            got = await ctx.daemon.move_callback(campaign_id, body.lead_id, body.at, body.agent)
        await ctx.audit.record(who, "callbacks.move", campaign_id, lead_id=body.lead_id, at=got["at"],
                               agent=body.agent or "anyone")
        return {"campaign_id": campaign_id, **got}


def _check_keeper(ctx: Ctx, campaign_id: str, agent_id: str | None, field: str) -> None:
    """Where agent accounts are configured, a callback is kept only for one who may log in to its campaign: a
    typo's, or one for an agent whose account ties them to another campaign, would wait for nobody (for ever,
    with personal_callback_wait_s null). Without accounts (a simulated shift) any id goes."""
    accounts = {a.id: a for a in ctx.daemon.settings.agents}
    if agent_id is None or not accounts:
        return
    account = accounts.get(agent_id)
    if account is None:
        raise Invalid(f"{field}: {agent_id} is not a configured agent ([[agents]]): a callback kept for them would "
                      "wait for nobody; name one of the agents, or null for any agent")
    if account.campaign and account.campaign != campaign_id:  # the login refuses any other campaign
        raise Invalid(f"{field}: {agent_id}'s account ([[agents]] campaign) ties them to campaign "
                      f"{account.campaign}, so they can never log in to {campaign_id}: a callback kept for them "
                      f"would wait for nobody; name an agent who works {campaign_id}, or null for any agent (or "
                      f"change {agent_id}'s campaign in the config and restart)")
