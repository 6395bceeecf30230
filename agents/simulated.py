"""Simulated agents for the demo and the benchmarks: real MQTT clients of the daemon.

One MQTT session carries every simulated agent (a real desktop would have one each; the daemon cannot
tell the difference). They log in, go ready, read their screen-pops, and when the customer hangs up
they take a wrap-up time drawn from the traffic model and send a disposition, in virtual time. With
`own_callback_share`, that share of their callbacks is kept for themselves ("me") and set 20 to 40
minutes ahead; the daemon offers each back to them as a preview when due, and they dial it after a
few seconds of reading (MQTT `preview_dial`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import logging
from dataclasses import dataclass, field
from urllib.parse import urlparse

import aiomqtt
import numpy as np

from dialer.clock import Clock
from pacing.traffic import LognormalSpec

__all__ = ["SimAgent", "SimulatedAgents"]

log = logging.getLogger(__name__)

REFUSALS = ("not_interested", "too_expensive", "has_competitor")  # the default disposition set's codes


@dataclass(frozen=True, slots=True)
class SimAgent:
    agent_id: str
    extension: str
    campaign_id: str


@dataclass(slots=True)
class SimStats:
    screenpops: int = 0
    dispositions: int = 0
    errors: list[str] = field(default_factory=list)
    max_seq_gap: int = 0
    own_callbacks_set: int = 0  # callbacks kept for the agent who set them
    callbacks_retimed: int = 0  # callback times refused (outside the person's hours) and set a day later
    previews_dialed: int = 0


class SimulatedAgents:
    def __init__(
        self,
        mqtt_url: str,
        agents: list[SimAgent],
        *,
        clock: Clock,
        wrapup: LognormalSpec,
        seed: int = 0,
        sale_rate: float = 1 / 12,
        own_callback_share: float = 0.0,
    ) -> None:
        u = urlparse(mqtt_url)
        self._host, self._port = u.hostname or "127.0.0.1", u.port or 1883
        self._agents = {a.agent_id: a for a in agents}
        self._clock = clock
        self._wrapup = wrapup
        self._rng = np.random.default_rng(seed)
        self._sale_rate = sale_rate
        self._own_share = own_callback_share
        self._last_seq: dict[str, int] = {}
        self._reasons: dict[str, tuple[str, ...]] = {}
        self._timed_out: set[str] = set()
        self._callbacks: dict[str, tuple[dict[str, object], int]] = {}  # the last callback each agent set
        self._ids = itertools.count(1)
        self.stats = SimStats()
        self.logged_in = asyncio.Event()

    async def run(self) -> None:
        """Log every agent in and work until cancelled."""
        async with aiomqtt.Client(self._host, self._port, identifier="simulated-agents") as client:
            await client.subscribe("agents/+/events", qos=1)
            await client.subscribe("agents/+/screenpop", qos=1)
            for a in self._agents.values():
                await self._send(client, a.agent_id, {"type": "login", "extension": a.extension,
                                                      "campaign_id": a.campaign_id})
                await self._send(client, a.agent_id, {"type": "ready"})
            self.logged_in.set()
            async with asyncio.TaskGroup() as tg:
                async for msg in client.messages:
                    agent_id = str(msg.topic).split("/")[1]
                    if agent_id not in self._agents:
                        continue
                    body = json.loads(msg.payload if isinstance(msg.payload, (bytes, str)) else b"{}")
                    self._check_seq(agent_id, int(body.get("seq", 0)))
                    kind = body.get("kind")
                    if kind == "screenpop":
                        self.stats.screenpops += 1
                        reasons = body.get("dispositions", {}).get("reasons", [])
                        codes = tuple(r["code"] for r in reasons if r.get("code") != "other")
                        self._reasons[str(body.get("call_id"))] = codes or REFUSALS
                    elif kind == "customer_hung_up":
                        tg.create_task(self._wrap_up(client, agent_id, str(body["call_id"])))
                    elif kind == "preview":
                        tg.create_task(self._dial_preview(client, agent_id, body))
                    elif kind == "state" and body.get("state") == "paused" and body.get("reason") == "wrapup_timeout":
                        self._timed_out.add(agent_id)  # ready again once the late disposition is sent
                    elif kind == "error" and body.get("field") == "fields.callback_at" and (
                            retry := self._callback_again(agent_id, str(body.get("call_id")))) is not None:
                        # as an agent does when the desk refuses the time: pick another (a day later)
                        self.stats.callbacks_retimed += 1
                        tg.create_task(self._send(client, agent_id, retry))
                    elif kind == "error":
                        self.stats.errors.append(f"{agent_id}: {body.get('error')}")

    def _check_seq(self, agent_id: str, seq: int) -> None:
        last = self._last_seq.get(agent_id, 0)
        if seq > last + 1:
            self.stats.max_seq_gap = max(self.stats.max_seq_gap, seq - last - 1)
        self._last_seq[agent_id] = max(last, seq)

    async def _wrap_up(self, client: aiomqtt.Client, agent_id: str, call_id: str) -> None:
        await self._clock.sleep(float(self._wrapup.sample(self._rng, 1)[0]))
        reasons = self._reasons.pop(call_id, REFUSALS)
        u = float(self._rng.random())
        if u < self._sale_rate:
            code, fields = "sale", {"notes": "upgrade accepted"}
        elif u < self._sale_rate + 0.08:
            own = float(self._rng.random()) < self._own_share
            ahead = float(self._rng.uniform(1200.0, 2400.0)) if own else 86400.0
            when = dt.datetime.fromtimestamp(self._clock.now() + ahead, dt.UTC).isoformat(timespec="seconds")
            code, fields = "callback", {"callback_owner": "mine" if own else "anyone", "callback_at": when}
            self.stats.own_callbacks_set += own
        else:
            code, fields = "refused", {"reason": reasons[int(self._rng.integers(len(reasons)))]}
        command: dict[str, object] = {"type": "disposition", "call_id": call_id, "code": code, "fields": fields}
        if code == "callback":
            self._callbacks[agent_id] = (command, 0)
        await self._send(client, agent_id, command)
        self.stats.dispositions += 1
        if agent_id in self._timed_out:
            self._timed_out.discard(agent_id)
            await self._send(client, agent_id, {"type": "ready"})

    def _callback_again(self, agent_id: str, call_id: str) -> dict[str, object] | None:
        """The agent's last callback disposition of `call_id` a day later (at most three times), or None."""
        sent = self._callbacks.get(agent_id)
        if sent is None or sent[0]["call_id"] != call_id or sent[1] >= 3:
            return None
        command, tries = sent
        fields = dict(command["fields"])  # type: ignore[call-overload]
        later = dt.datetime.fromisoformat(str(fields["callback_at"])) + dt.timedelta(days=1)
        fields["callback_at"] = later.isoformat(timespec="seconds")
        again = {**command, "fields": fields}
        self._callbacks[agent_id] = (again, tries + 1)
        return again

    async def _dial_preview(self, client: aiomqtt.Client, agent_id: str, body: dict[str, object]) -> None:
        """A lead on the agent's screen (their own callback, or a preview campaign's lead): read, then dial."""
        await self._clock.sleep(float(self._rng.uniform(2.0, 6.0)))
        await self._send(client, agent_id, {"type": "preview_dial", "lead_id": str(body["lead_id"]),
                                            "number_index": int(str(body.get("number_index", 0)))})
        self.stats.previews_dialed += 1

    async def _send(self, client: aiomqtt.Client, agent_id: str, body: dict[str, object]) -> None:
        # the id lets the daemon apply a command QoS 1 delivers twice once
        body = {**body, "id": f"sim-{next(self._ids)}"}
        await client.publish(f"agents/{agent_id}/commands", json.dumps(body).encode(), qos=1)
