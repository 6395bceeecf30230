"""Prometheus metrics of the daemon, on a registry of its own (no process-global state).

Naming follows Prometheus conventions: `dialer_` prefix, `_total` counters, seconds, ratios 0-1, and
only the `campaign` label (never per-agent or per-number labels, which would explode cardinality).
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from dialer.clock import ClockStep, WallClock

__all__ = ["Metrics", "dial_level", "working_agents"]

_NOT_WORKING = frozenset({"paused", "logged_out"})


def working_agents(by_state: Mapping[str, int]) -> int:
    """The agents of a campaign who take its calls now or soon (logged in, not paused), from its agents counted
    by state (`AgentState` values). A logged-out agent keeps their campaign in the roster: counted, they made the
    dial level read low while dials were out for the few who work."""
    return sum(n for state, n in by_state.items() if state not in _NOT_WORKING)


def dial_level(in_flight: int, by_state: Mapping[str, int]) -> float:
    """Dials in flight per working agent (0 without one): `dialer_dial_ratio` and the API's `dial_level`, one
    definition so that they cannot disagree."""
    working = working_agents(by_state)
    return in_flight / working if working else 0.0


class Metrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry(auto_describe=True)
        c = ["campaign"]
        self.calls_placed = Counter("dialer_calls_placed_total", "Originates sent", c, registry=r)
        self.suppression_signals = Counter(
            "dialer_suppression_signals_total", "Suppression signals from the operator's systems, by source "
            "(mqtt, api) and result (applied, refused)", ["source", "result"], registry=r)
        self.calls_answered = Counter(
            "dialer_calls_answered_total", "Calls answered (person or machine)", c, registry=r
        )
        self.live_answers = Counter("dialer_live_answers_total", "Calls answered by a person", c, registry=r)
        self.machines = Counter("dialer_machines_total", "Calls answered by a machine (AMD)", c, registry=r)
        self.connected = Counter("dialer_calls_connected_total", "Live answers connected to an agent", c, registry=r)
        self.abandoned = Counter(
            "dialer_calls_abandoned_total", "Live answers abandoned (no agent in 2 s)", c, registry=r
        )
        self.calls_ended = Counter(
            "dialer_calls_ended_total", "Call records written", ["campaign", "outcome"], registry=r
        )
        self.agents = Gauge("dialer_agents", "Agents by state", ["campaign", "state"], registry=r)
        self.dial_ratio = Gauge("dialer_dial_ratio", "Calls in flight per ready-or-soon-free agent", c, registry=r)
        self.in_flight = Gauge("dialer_calls_in_flight", "Dials ringing or under AMD", c, registry=r)
        self.waiting = Gauge("dialer_calls_waiting", "Live answers waiting for an agent", c, registry=r)
        self.hopper_depth = Gauge("dialer_hopper_depth", "Leads ready to dial", c, registry=r)
        self.abandon_ratio = Gauge("dialer_abandon_ratio", "The campaign's abandoned / live answers offered to "
                                   "agents since start", c, registry=r)
        self._live: dict[str, int] = {}  # campaign -> live answers offered to agents since start (`live_answer`)
        self._abandons: dict[str, int] = {}  # campaign -> those of them abandoned
        self.predicted_abandon = Gauge("dialer_predicted_abandon_ratio", "Pacer's predicted abandon", c, registry=r)
        self.decision_launch = Gauge("dialer_pacing_launch", "Calls the last pacing decision launched", c, registry=r)
        self.surplus_hangups = Counter("dialer_surplus_hangups_total",
                                       "Ringing dials hung up after the minimum ring because their answer would "
                                       "most likely have found no agent (recorded as no-answer)", c, registry=r)
        self.recordings = Counter("dialer_recordings_total",
                                  "Conversations of campaigns with record_calls: result started (Asterisk reported "
                                  "MixMonitor's file) or missing (it never did: check app_mixmonitor and the "
                                  "dialplan)", ["campaign", "result"], registry=r)
        self.decisions = Counter("dialer_pacing_decisions_total",
                                 "Pacing decisions by the reason for their number (dialing, no ready agents, "
                                 "hopper empty, abandon budget, outside hours, ...)", ["campaign", "reason"],
                                 registry=r)
        self.pending_originates = Gauge("dialer_pending_originates", "Originates awaiting their response", registry=r)
        self.ami_connected = Gauge("dialer_ami_connected", "1 while logged in to AMI", registry=r)
        self.ami_events = Counter("dialer_ami_events_total", "AMI events received", registry=r)
        self.ami_bad_events = Counter(
            "dialer_ami_malformed_events_total", "AMI events that could not be read", registry=r
        )
        self.store_backlog = Gauge("dialer_store_backlog", "Redis writes queued", registry=r)
        self.store_data_lost = Gauge(
            "dialer_state_store_data_lost", "1 while dialing is held because Redis lost the dialer's data (its "
            "data-epoch marker went missing or changed: restarted empty, flushed) until a supervisor acknowledges "
            "(POST /api/state-store/acknowledge-loss)", registry=r)
        self.store_persistent = Gauge(
            "dialer_state_store_persistent", "What Redis said at start-up of keeping its data on disk: 1 append-only "
            "file or RDB snapshots, 0 nothing (a restart comes back empty), -1 unknown (CONFIG refused)", registry=r)
        self.overrides_unstored = Gauge(
            "dialer_overrides_unstored", "1 while a supervisor change is not stored in Redis (a restart would undo it)",
            c, registry=r)
        # Supervisor: what the wallboard shows, refreshed by dialer.supervisor's tally (about once a second).
        self.calls_talking = Gauge("dialer_calls_talking", "Live answers connected to an agent now", c, registry=r)
        self.campaign_paused = Gauge("dialer_campaign_paused", "1 while the campaign is paused or stopped", c,
                                     registry=r)
        self.pacing_ratio = Gauge("dialer_pacing_ratio", "Power-mode dial ratio knob (calls per ready agent)", c,
                                  registry=r)
        self.pacing_target_abandon = Gauge("dialer_pacing_target_abandon_ratio", "Predictive abandon target knob", c,
                                           registry=r)
        self.pacing_blocked = Gauge("dialer_pacing_blocked",
                                    "1 when the last pacing decision launched nothing for a blocking reason "
                                    "(no ready agents, hopper empty, abandon budget, hours, paused)", c, registry=r)
        self.pacing_changes = Counter("dialer_pacing_changes_total", "Pacing knob changes made through the API",
                                      c, registry=r)
        self.abandon_ratio_15m = Gauge("dialer_abandon_ratio_15m", "Abandoned / live answers, last 15 minutes", c,
                                       registry=r)
        self.abandon_ratio_today = Gauge("dialer_abandon_ratio_today", "Abandoned / live answers since midnight", c,
                                         registry=r)
        self.abandon_ratio_24h = Gauge("dialer_abandon_ratio_24h", "Abandoned / live answers, last 24 hours", c,
                                       registry=r)
        self.abandon_ratio_30d = Gauge("dialer_abandon_ratio_30d", "Abandoned / live answers, last 30 days", c,
                                       registry=r)
        self.abandon_cap = Gauge("dialer_abandon_cap_ratio", "The legal abandon cap the campaign is held to", c,
                                 registry=r)
        self.contacts_per_hour = Gauge("dialer_contacts_per_hour", "Calls connected to agents in the last hour", c,
                                       registry=r)
        self.sales_per_hour = Gauge("dialer_sales_per_hour", "Sale dispositions in the last hour", c, registry=r)
        self.callbacks_kept_due = Gauge("dialer_callbacks_waiting_for_agent",
                                        "Due callbacks kept for an agent, which only that agent may call yet", c,
                                        registry=r)
        self.list_remaining = Gauge("dialer_list_leads_remaining",
                                    "Leads of a lead list not finished yet (imported, minus sold, refused, capped...)",
                                    ["campaign", "list"], registry=r)
        self.sales = Counter("dialer_sales_total", "Sale dispositions", c, registry=r)
        self.dispositions = Counter(
            "dialer_dispositions_total",
            "Calls disposed, by how: agent (in the wrap-up), late (after it ran out), "
            "no_disposition (it ran out, or the daemon stopped)", ["campaign", "how"], registry=r)
        self.spy_sessions = Counter("dialer_supervisor_spy_sessions_total",
                                    "Listen / whisper / barge sessions started by supervisors", c, registry=r)
        self.amd_audited = Gauge("dialer_amd_audited", "AMD machine verdicts an agent checked (disposed audits)", c,
                                 registry=r)
        self.amd_audit_persons = Gauge("dialer_amd_audit_persons",
                                       "Audited machine verdicts where the agent found a person", c, registry=r)
        self.amd_false_positive = Gauge("dialer_amd_false_positive_ratio",
                                        "Effective AMD false-positive share the pacer uses: max(configured, audit's "
                                        "upper 95% bound once enough audits)", c, registry=r)
        self.connect_latency = Histogram(
            "dialer_connect_latency_seconds",
            "From the AMI event saying a person answered to sending the connect action",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
            registry=r,
        )

        self.clock_steps = Counter(
            "dialer_clock_steps_total", "Steps of the system clock the daemon's clock followed (NTP step, host "
            "suspend), by direction (forward, backward): check the host's time sync", ["direction"], registry=r)
        self.clock_last_step = Gauge("dialer_clock_last_step_seconds", "Size of the last clock step followed, "
                                     "negative when the clock went back (0: none since start)", registry=r)

    def watch_clock(self, clock: WallClock) -> None:
        """Count the steps of the system clock that the daemon's real-time `clock` follows (both directions
        start at 0, so that `increase()` sees the first one)."""
        for direction in ("forward", "backward"):
            self.clock_steps.labels(direction)
        clock.on_step(self.clock_stepped)

    def clock_stepped(self, step: ClockStep) -> None:
        self.clock_steps.labels(step.direction).inc()
        self.clock_last_step.set(step.seconds)

    def live_answer(self, campaign_id: str, *, abandoned: bool) -> None:
        """A live answer offered to agents ended (its call record was written), abandoned or not: counted in
        `dialer_live_answers_total`, and the campaign's `dialer_abandon_ratio` is its own abandons over its own
        live answers (an abandon of a call offered to nobody, an agentless one, is in neither)."""
        self.live_answers.labels(campaign_id).inc()
        live = self._live[campaign_id] = self._live.get(campaign_id, 0) + 1
        abandons = self._abandons[campaign_id] = self._abandons.get(campaign_id, 0) + (1 if abandoned else 0)
        self.abandon_ratio.labels(campaign_id).set(abandons / live)
