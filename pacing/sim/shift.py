"""The discrete-event shift simulator: the same pacing objects as the daemon, on a virtual clock.

Theory of operation. One run is a campaign with `agents` agents over one or more shifts. Every dial's
fate (what answers, after how long, what AMD says and when, how long the person would talk, how long
they are willing to wait) is drawn from the `TrafficModel` in vectorised blocks with a seeded numpy
Generator; the pacing policy only ever sees what a dialer would see, through `CampaignSnapshot`s and
`Observation`s, exactly as the daemon feeds it.

Call lifecycle: originate -> ring (until answer, failure, or our ring timeout) -> on answer, AMD
listens (human verdict after 1-2.5 s, machine after 2.5-5 s; with AMD off the verdict is immediate) ->
a human verdict is a live answer: it goes to the longest-ready agent at once, or waits; if no agent
frees within the hold time (2 s), or the person hangs up first (patience), it is abandoned. A machine
verdict is hung up (a person taken for a machine is a false positive). Agents: talk, then wrap-up,
then ready; at the end of wrap-up the agent's disposition says whether a person or an answering
machine took the call (`ContactClassified`). An answering machine that reaches an agent (AMD off, or
AMD missed it) costs the agent a few seconds and is not a contact.

The policy decides on a timer (`decide_every_s`) and whenever an agent becomes ready or a dial resolves
while ready agents are not all covered by dials in flight.
"""

from __future__ import annotations

import bisect
import time
from collections import deque
from typing import Protocol

import numpy as np

from pacing.ledger import false_positives_per_screened
from pacing.sim.engine import EventQueue
from pacing.sim.result import DAY_S, ShiftResult
from pacing.sim.scenario import Scenario
from pacing.types import (
    CampaignSnapshot,
    ContactClassified,
    Decision,
    DialObserved,
    LiveAnswerObserved,
    Observation,
    TalkObserved,
    WrapupObserved,
)

__all__ = ["PacingPolicy", "simulate"]

# event kinds
_TICK, _RESOLVE, _VERDICT, _EXPIRE, _TALK_END, _WRAP_END, _SHIFT_END = range(7)
# truth outcome codes follow pacing.traffic.OUTCOME_CODES
_LIVE, _MACHINE, _BUSY, _CONGESTION, _INVALID, _NO_ANSWER = range(6)
_SEEN = ("live", "machine", "busy", "congestion", "invalid", "no_answer")
# dial slot phases
_FREE, _RINGING, _SCREENING, _WAITING = range(4)
# agent states
_READY, _TALK, _WRAP, _OFF = range(4)

_BLOCK = 4096
_SLOT_SPACE = 1 << 24


class PacingPolicy(Protocol):
    """What the simulator (and the daemon) needs from a pacing policy."""

    def observe(self, obs: Observation) -> None: ...

    def decide(self, snap: CampaignSnapshot) -> Decision: ...


class _Fates:
    """Pre-drawn blocks of every random quantity a dial may need, consumed in order."""

    def __init__(self, sc: Scenario, rng: np.random.Generator) -> None:
        self.sc = sc
        self.rng = rng
        self.i = _BLOCK
        self._draw()
        self.i = 0

    def _draw(self) -> None:
        tm, rng, n = self.sc.traffic, self.rng, _BLOCK
        self.u = rng.random(n).tolist()
        self.live_ring = tm.live_ring.sample(rng, n).tolist()
        self.machine_ring = tm.machine_ring.sample(rng, n).tolist()
        self.fail = rng.uniform(*tm.fail_after_s, n).tolist()
        self.noans = rng.uniform(*tm.remote_noanswer_s, n).tolist()
        self.u_amd = rng.random(n).tolist()
        self.h_delay = rng.uniform(*tm.amd.human_delay_s, n).tolist()
        self.m_delay = rng.uniform(*tm.amd.machine_delay_s, n).tolist()
        self.talk = tm.talk.sample(rng, n).tolist()
        self.patience = tm.patience.sample(rng, n).tolist()
        self.wrap = tm.sample_wrapup(rng, n).tolist()
        self.m_talk = rng.uniform(*self.sc.machine_talk_s, n).tolist()
        self.m_wrap = rng.uniform(*self.sc.machine_wrap_s, n).tolist()

    def next(self) -> int:
        if self.i >= _BLOCK:
            self._draw()
            self.i = 0
        i = self.i
        self.i += 1
        return i


def simulate(sc: Scenario, policy: PacingPolicy, seed: int, policy_name: str = "") -> ShiftResult:
    """Run the scenario with `policy` and return what happened."""
    return _Run(sc, policy, seed, policy_name).run()


class _Run:
    def __init__(self, sc: Scenario, policy: PacingPolicy, seed: int, policy_name: str) -> None:
        self.sc = sc
        self.policy = policy
        self.seed = seed
        self.policy_name = policy_name or type(policy).__name__
        self.rng = np.random.default_rng(seed)
        self.fates = _Fates(sc, self.rng)
        self.q = EventQueue(0.0)
        n = sc.agents
        self.a_state = np.full(n, _OFF, dtype=np.int8)
        self.a_since = np.zeros(n)
        self.a_person = [False] * n
        self.a_fate = [0] * n
        self.a_connected_at = [0.0] * n  # when the agent's current call was connected (its live answer)
        self.a_free_at = np.zeros(n)  # truth: when each busy agent will be ready (for clairvoyant bounds only)
        # a policy with `peek_agents_free_at` is shown that truth before each decision: no dialer knows
        # it, so such a policy only measures how much better perfect agent forecasts could do
        self.peek = getattr(policy, "peek_agents_free_at", None)
        self.ready: deque[int] = deque()
        cap = max(64, 8 * n)
        self.d_phase = np.zeros(cap, dtype=np.int8)
        self.d_start = np.zeros(cap)
        self.d_answer = np.zeros(cap)
        self.d_outcome = [0] * cap
        self.d_fate = [0] * cap
        self.d_token = [0] * cap
        self.d_machine = [False] * cap
        self.d_live_at = [0.0] * cap
        self.free_slots = list(range(cap - 1, -1, -1))
        self.waiting: deque[int] = deque()
        self.wait_seq = 0
        self.n_ringing = 0
        self.n_screening = 0
        self.n_waiting = 0
        self.recent_launch: deque[float] = deque()
        self.day_start = 0.0
        self.shift_on = False
        self.cum_shares: list[float] = []
        self.cum_at = -1.0
        # measurements
        self.dials = 0
        self.contacts = 0
        self.talk_s = 0.0
        self.idle_s = 0.0
        self.lives = 0
        self.abandons = 0
        self.fps = 0
        self.seen_lives = 0
        self.seen_abandons = 0
        self.waits: list[float] = []
        self.waits_t: list[float] = []
        self.day_marks: list[tuple[float, ...]] = []  # cumulative counters at the end of each day
        self.ev_t: list[float] = []
        self.ev_ab: list[bool] = []
        self.ev_fp: list[bool] = []
        self.decisions = 0
        self.hangups = 0  # ringing dials the policy hung up (`Decision.hangup`)
        self.hangup_lives = 0  # of those, the ones a person would still have answered
        self.dial_seq = 0  # tells a dial's resolve event from a stale one of a slot hung up and reused

    # ------------------------------------------------------------------ helpers
    def _shift_end(self) -> float:
        return self.day_start + self.sc.shift_s

    def _grow(self) -> None:
        cap = self.d_phase.shape[0]
        self.d_phase = np.concatenate([self.d_phase, np.zeros(cap, dtype=np.int8)])
        self.d_start = np.concatenate([self.d_start, np.zeros(cap)])
        self.d_answer = np.concatenate([self.d_answer, np.zeros(cap)])
        self.d_outcome += [0] * cap
        self.d_fate += [0] * cap
        self.d_token += [0] * cap
        self.d_machine += [False] * cap
        self.d_live_at += [0.0] * cap
        self.free_slots.extend(range(2 * cap - 1, cap - 1, -1))

    def _snapshot(self, now: float) -> CampaignSnapshot:
        st = self.a_state
        since = self.a_since
        ph = self.d_phase
        talking = now - since[st == _TALK]
        wrapping = now - since[st == _WRAP]
        ringing = now - self.d_start[ph == _RINGING] if self.n_ringing else _EMPTY
        screening = now - self.d_answer[ph == _SCREENING] if self.n_screening else _EMPTY
        rl = self.recent_launch
        while rl and rl[0] <= now - 1.0:
            rl.popleft()
        in_calls = int(talking.shape[0])
        return CampaignSnapshot(
            now=now,
            ready_agents=len(self.ready),
            logged_in_agents=self.sc.agents,
            talking_elapsed=talking,
            wrapup_elapsed=wrapping,
            ringing_elapsed=ringing,
            screening_elapsed=screening,
            waiting_humans=self.n_waiting,
            lines_in_use=self.n_ringing + self.n_screening + self.n_waiting + in_calls,
            dials_last_second=len(rl),
        )

    def _decide(self, now: float) -> None:
        if not self.shift_on:
            return
        if self.peek is not None:
            busy = (self.a_state == _TALK) | (self.a_state == _WRAP)
            self.peek(self.a_free_at[busy] - now)
        d = self.policy.decide(self._snapshot(now))
        self.decisions += 1
        if d.hangup:
            self._hang_up(now, d.hangup)
        if d.launch > 0:
            self._launch(now, d.launch)

    def _launch(self, now: float, n: int) -> None:
        sc = self.sc
        if self.cum_at != now:
            shares = sc.traffic.shares_at(now - self.day_start)
            self.cum_shares = np.cumsum(shares)[:-1].tolist()
            self.cum_at = now
        cum = self.cum_shares
        f = self.fates
        timeout = sc.ring_timeout_s
        q = self.q
        for _ in range(n):
            if not self.free_slots:
                self._grow()
            s = self.free_slots.pop()
            i = f.next()
            o = bisect.bisect_right(cum, f.u[i])
            if o == _LIVE:
                ring = f.live_ring[i]
            elif o == _MACHINE:
                ring = f.machine_ring[i]
            elif o == _NO_ANSWER:
                ring = f.noans[i]
            else:
                ring = f.fail[i]
            if ring > timeout:
                ring = timeout
                o_seen = _NO_ANSWER if o in (_LIVE, _MACHINE, _NO_ANSWER) else o
            else:
                o_seen = o
            self.d_phase[s] = _RINGING
            self.d_start[s] = now
            self.d_outcome[s] = o if o_seen == o else -1 - o_seen  # negative: timed out before answer
            self.d_fate[s] = i
            self.n_ringing += 1
            self.dials += 1
            self.dial_seq += 1
            self.d_token[s] = self.dial_seq
            q.at(now + ring, _RESOLVE, self.dial_seq * _SLOT_SPACE + s)
        self.recent_launch.extend([now] * n)

    def _hang_up(self, now: float, which: tuple[int, ...]) -> None:
        """Hang up ringing dials, by their index in the snapshot's `ringing_elapsed` (slot order)."""
        slots = np.flatnonzero(self.d_phase == _RINGING)
        for k in which:
            s = int(slots[k])
            ring = now - self.d_start[s]
            self.n_ringing -= 1
            self.hangups += 1
            self.hangup_lives += int(self.d_outcome[s] == _LIVE)
            self.policy.observe(DialObserved(at=now, outcome="no_answer", ring_s=ring, hung_up=True))
            self._free(s)

    def _free(self, s: int) -> None:
        self.d_phase[s] = _FREE
        self.free_slots.append(s)

    def _person_event(self, t: float, abandoned: bool, fp: bool) -> None:
        self.ev_t.append(t)
        self.ev_ab.append(abandoned)
        self.ev_fp.append(fp)

    # ------------------------------------------------------------------ event handlers
    def _resolve(self, now: float, arg: int) -> None:
        tok, s = divmod(arg, _SLOT_SPACE)
        if self.d_phase[s] != _RINGING or self.d_token[s] != tok:
            return  # hung up while it rang
        self.n_ringing -= 1
        o = self.d_outcome[s]
        ring = now - self.d_start[s]
        if o < 0 or o >= _BUSY:
            seen = _SEEN[-1 - o] if o < 0 else _SEEN[o]
            self.policy.observe(DialObserved(at=now, outcome=seen, ring_s=ring))
            self._free(s)
            if self.shift_on and len(self.ready) > self.n_ringing + self.n_screening + self.n_waiting:
                self._decide(now)
            return
        self.d_answer[s] = now
        self.d_phase[s] = _SCREENING
        self.n_screening += 1
        amd = self.sc.traffic.amd
        if not amd.enabled:
            self._verdict(now, s)
            return
        i = self.d_fate[s]
        u = self.fates.u_amd[i]
        machine = u < amd.false_positive if o == _LIVE else u >= amd.false_negative
        self.d_machine[s] = machine
        delay = self.fates.m_delay[i] if machine else self.fates.h_delay[i]
        self.q.at(now + delay, _VERDICT, s)

    def _verdict(self, now: float, s: int) -> None:
        self.n_screening -= 1
        o = self.d_outcome[s]
        ring = self.d_answer[s] - self.d_start[s]
        amd_on = self.sc.traffic.amd.enabled
        delay = now - self.d_answer[s] if amd_on else None
        if amd_on and self.d_machine[s]:
            self.policy.observe(
                DialObserved(at=now, outcome="machine", ring_s=ring, amd_delay_s=delay, amd_machine=True)
            )
            if o == _LIVE:
                self.fps += 1
                self._person_event(now, False, True)
            self._free(s)
            if self.shift_on and len(self.ready) > self.n_ringing + self.n_screening + self.n_waiting:
                self._decide(now)
            return
        self.policy.observe(DialObserved(at=now, outcome="live", ring_s=ring, amd_delay_s=delay))
        self.d_live_at[s] = now
        if o == _LIVE:
            self.lives += 1
        self.seen_lives += 1
        if self.ready:
            self._connect(now, s, self.ready.popleft())
            return
        self.d_phase[s] = _WAITING
        self.n_waiting += 1
        self.wait_seq += 1
        self.d_token[s] = self.wait_seq  # tells this wait from a stale expiry of an earlier use of the slot
        hold = self.sc.hold_s
        if o == _LIVE:
            hold = min(hold, self.fates.patience[self.d_fate[s]])
        self.waiting.append(s)
        self.q.at(now + hold, _EXPIRE, self.wait_seq * _SLOT_SPACE + s)

    def _expire(self, now: float, arg: int) -> None:
        tok, s = divmod(arg, _SLOT_SPACE)
        if self.d_phase[s] != _WAITING or self.d_token[s] != tok:
            return
        self.n_waiting -= 1
        self.waiting.remove(s)
        wait = now - self.d_live_at[s]
        self.policy.observe(LiveAnswerObserved(at=now, abandoned=True, wait_s=wait))
        self.seen_abandons += 1
        if self.d_outcome[s] == _LIVE:
            self.abandons += 1
            self._person_event(now, True, False)
        self._free(s)

    def _connect(self, now: float, s: int, agent: int) -> None:
        person = self.d_outcome[s] == _LIVE
        i = self.d_fate[s]
        f = self.fates
        wait = now - self.d_live_at[s]
        self.policy.observe(LiveAnswerObserved(at=now, abandoned=False, wait_s=wait))
        end = self._shift_end()
        if self.a_state[agent] == _READY:
            self.idle_s += max(0.0, min(now, end) - self.a_since[agent])
        talk = f.talk[i] if person else f.m_talk[i]
        self.a_free_at[agent] = now + talk + (f.wrap[i] if person else f.m_wrap[i])
        if person:
            self.contacts += int(now < end)
            self.waits.append(wait)
            self.waits_t.append(now)
            self._person_event(now, False, False)
            self.talk_s += max(0.0, min(now + talk, end) - now)
        self.a_state[agent] = _TALK
        self.a_since[agent] = now
        self.a_person[agent] = person
        self.a_fate[agent] = i
        self.a_connected_at[agent] = now
        self.q.at(now + talk, _TALK_END, agent)
        self._free(s)

    def _talk_end(self, now: float, agent: int) -> None:
        talk = now - self.a_since[agent]
        self.policy.observe(TalkObserved(at=now, talk_s=talk))
        i = self.a_fate[agent]
        wrap = self.fates.wrap[i] if self.a_person[agent] else self.fates.m_wrap[i]
        self.a_state[agent] = _WRAP
        self.a_since[agent] = now
        self.q.at(now + wrap, _WRAP_END, agent)

    def _wrap_end(self, now: float, agent: int) -> None:
        self.policy.observe(WrapupObserved(at=now, wrap_s=now - self.a_since[agent]))
        # the disposition: agents tell a person from an answering machine (the strict count uses it)
        self.policy.observe(ContactClassified(at=now, connected_at=self.a_connected_at[agent],
                                              person=self.a_person[agent]))
        self._agent_ready(now, agent)
        if self.shift_on and len(self.ready) > self.n_ringing + self.n_screening + self.n_waiting:
            self._decide(now)

    def _agent_ready(self, now: float, agent: int) -> None:
        self.a_state[agent] = _READY
        self.a_since[agent] = now
        if self.waiting:
            s = self.waiting.popleft()
            self.n_waiting -= 1
            self._connect(now, s, agent)
            return
        self.ready.append(agent)

    # ------------------------------------------------------------------ main loop
    def run(self) -> ShiftResult:
        t0 = time.perf_counter()
        sc = self.sc
        q = self.q
        for day in range(sc.days):
            self.day_start = day * DAY_S
            q.now = max(q.now, self.day_start)
            self.shift_on = True
            for a in range(sc.agents):
                self._agent_ready(self.day_start, a)
            q.at(self._shift_end(), _SHIFT_END, 0)
            q.at(self.day_start, _TICK, 0)
            while q:
                now, kind, arg = q.pop()
                if kind == _TICK:
                    if self.shift_on:
                        self._decide(now)
                        nxt = now + sc.decide_every_s
                        if nxt < self._shift_end():
                            q.at(nxt, _TICK, 0)
                elif kind == _RESOLVE:
                    self._resolve(now, arg)
                elif kind == _VERDICT:
                    self._verdict(now, arg)
                elif kind == _EXPIRE:
                    self._expire(now, arg)
                elif kind == _TALK_END:
                    self._talk_end(now, arg)
                elif kind == _WRAP_END:
                    self._wrap_end(now, arg)
                else:
                    self._end_shift(now)
            self.ready.clear()
            self.a_state[:] = _OFF
            self.day_marks.append(self._counters())
        amd = sc.traffic.amd
        return ShiftResult(
            scenario=sc.name,
            policy=self.policy_name,
            seed=self.seed,
            agents=sc.agents,
            days=sc.days,
            shift_s=sc.shift_s,
            bound_talk_share=sc.bound_talk_share,
            dials=self.dials,
            contacts=self.contacts,
            talk_s=self.talk_s,
            idle_s=self.idle_s,
            lives=self.lives,
            abandons=self.abandons,
            false_positives=self.fps,
            seen_lives=self.seen_lives,
            seen_abandons=self.seen_abandons,
            waits=np.asarray(self.waits),
            waits_t=np.asarray(self.waits_t),
            per_day=np.diff(np.array([(0.0,) * 11, *self.day_marks]), axis=0),
            event_t=np.asarray(self.ev_t),
            event_abandoned=np.asarray(self.ev_ab, dtype=bool),
            event_fp=np.asarray(self.ev_fp, dtype=bool),
            decisions=self.decisions,
            wall_s=time.perf_counter() - t0,
            fp_estimate=false_positives_per_screened(amd.false_positive) if amd.enabled else 0.0,
            mean_talk_s=sc.traffic.talk.mean,
            machine_handle_s=sum(sc.machine_talk_s) / 2.0 + sum(sc.machine_wrap_s) / 2.0,
        )

    def _counters(self) -> tuple[float, ...]:
        return (
            self.dials,
            self.contacts,
            self.talk_s,
            self.idle_s,
            self.lives,
            self.abandons,
            self.fps,
            self.seen_lives,
            self.seen_abandons,
            self.hangups,
            self.hangup_lives,
        )

    def _end_shift(self, now: float) -> None:
        """Stop dialing; calls in flight still resolve and agents stay to take them (not measured)."""
        self.shift_on = False
        for a in self.ready:
            self.idle_s += max(0.0, now - self.a_since[a])
            self.a_since[a] = now


_EMPTY = np.zeros(0)
