"""A do-not-call request from the agent desk is final at once, for every campaign's hopper.

The desk's DNC button (POST /api/desk/dnc) goes to the daemon, which puts the person on the global
do-not-call lists the contact policy reads; each hopper re-checks them right before every dial.
"""

from __future__ import annotations

import httpx
from hopper_helpers import RedisTarget, campaign, hopper, row, store
from redis.asyncio import Redis
from test_hopper import NOW

from agents.desk.harness import DeskHarness

NY1, NY2 = "2125550142", "2125550143"


async def test_a_dnc_request_from_the_desk_stops_every_campaign_from_dialing_the_number(
        redis: Redis, redis_target: RedisTarget) -> None:
    url = redis_target.url or f"unix://{redis_target.socket}"
    async with DeskHarness(redis_url=url, serve_http=False) as h:
        prefix = h.daemon.store.prefix
        s = store(redis, prefix)
        c1, c2 = campaign("c1"), campaign("c2", kind="cold", require_consent=False)
        await s.import_rows(c1, [row(NY1, id="a"), row(NY2, id="b")], now=NOW)
        await s.import_rows(c2, [row(NY1, id="x")], now=NOW)
        h1, h2 = hopper(redis, c1, prefix), hopper(redis, c2, prefix)
        assert ((await h1.fill(NOW)).moved, (await h2.fill(NOW)).moved) == (2, 1)  # queued before the request
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=h.app), base_url="http://desk.test") as c:
            r = await c.post("/api/desk/login", json={"agent_id": "ann", "password": "ann-secret-1"})
            assert r.status_code == 200
            await c.post("/api/desk/command", json={"type": "ready"})
            cid = h.place_call({"first_name": "Anna"}, number="+1" + NY1)
            h.human(cid)
            h.bridge(cid)
            r = await c.post("/api/desk/dnc", json={"call_id": cid, "notes": "never call again"})
            assert r.json() == {"recorded": True, "call_id": cid}
        got1, got2 = await h1.take(5, NOW), await h2.take(5, NOW)
        assert [t.number_e164 for t in got1] == ["+1" + NY2]
        assert got2 == []
        assert await s.is_dnc("+1" + NY1)
        assert (await h2.status(NOW)).finished_by_reason == {"do not call": 1}
        # Later fills and imports do not bring it back either.
        await s.import_rows(c2, [row(NY1, id="y")], now=NOW + 60)
        await h2.fill(NOW + 86400)
        assert await h2.take(5, NOW + 86400) == []
