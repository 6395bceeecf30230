"""Forecasts: when busy agents free up and when dials in flight turn into live answers.

Theory of operation. `decide` runs several times a second with hundreds of agents, so nothing per
agent or per dial may cost more than an index. The fitted distributions are therefore turned, every few
seconds, into lookup tables on a 1-second grid of look-ahead times `t = 0..K-1`:

- `talk_free[e, t]`: P(an agent talking for `e` s so far is ready within `t` s), i.e. remaining talk
  (the lognormal conditional on having lasted `e`, not its unconditional mean) plus a whole wrap-up;
- `wrap_free[w, t]`: P(an agent in wrap-up for `w` s is ready within `t` s);
- `ring_live[r, t]`: P(a dial ringing for `r` s gives a live (human-verdict) answer within `t` s), from
  the hazard of answering given the ring time so far: answered-live, machine and unanswered dials ring
  for different lengths, so a dial that has rung 18 s is less likely to be a person than a fresh one;
- `screen_live[s, t]`: the same for an answered call whose AMD verdict has been pending for `s` s.

A snapshot then reduces to `bincount(bins) @ table`: expected agents free and live answers by each
look-ahead time, with their variances (sums of independent Bernoulli variances), at O(n + bins * K).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pacing.estimators import (
    AMD_BIN_S,
    AMD_BINS,
    LIVE,
    MACHINE,
    OTHER,
    RING_BIN_S,
    RING_BINS,
    CampaignEstimators,
    DurationFit,
)

__all__ = ["Curves", "ForecastTables", "Forecaster", "K", "build_tables", "curves"]

K = 64  # look-ahead grid: 0..63 s in 1 s steps
_T = np.arange(K, dtype=float)

TALK_EDGES = np.concatenate(
    [np.arange(0.0, 300.0, 2.0), np.arange(300.0, 1200.0, 10.0), np.arange(1200.0, 3601.0, 60.0)]
)
WRAP_EDGES = np.concatenate([np.arange(0.0, 300.0, 1.0), np.arange(300.0, 1801.0, 10.0)])


def _mid(edges: np.ndarray) -> np.ndarray:
    width = np.diff(np.append(edges, edges[-1] + (edges[-1] - edges[-2])))
    return np.asarray(edges + width / 2)


_TALK_MID = _mid(TALK_EDGES)
_WRAP_MID = _mid(WRAP_EDGES)


@dataclass(frozen=True, slots=True)
class ForecastTables:
    """Lookup tables built from the estimators at `built_at` (see the module docstring)."""

    built_at: float
    talk_free: np.ndarray
    talk_free_var: np.ndarray
    wrap_free: np.ndarray
    wrap_free_var: np.ndarray
    ring_live: np.ndarray
    ring_live_var: np.ndarray
    screen_live: np.ndarray
    screen_live_var: np.ndarray
    p_live: float  # share of dials answered live (human verdict), as used for the tables
    p_live_mean: float  # the point estimate, before the safety margin
    p_live_se: float
    mean_talk: float
    mean_wrap: float
    mean_ring_live: float
    talk: DurationFit
    wrap: DurationFit
    agent_stack: np.ndarray  # [talk bins + wrap bins, 2K]: supply and its variance, for `curves`
    dial_stack: np.ndarray  # [ring bins + AMD bins, 4K]: demand, its variance, and the two self terms

    @property
    def new_live(self) -> np.ndarray:
        """P(a dial launched now is a live answer within t s)."""
        return np.asarray(self.ring_live[0])


@dataclass(frozen=True, slots=True)
class Curves:
    """Expected agents free and live answers by each look-ahead time, with variances."""

    supply: np.ndarray
    supply_var: np.ndarray
    demand: np.ndarray
    demand_var: np.ndarray
    dial_demand: np.ndarray  # the part of `demand` from dials in flight (model-uncertain)
    dial_self: np.ndarray  # sum over dials of P(answers in second j) * P(answered by j - 1)
    dial_self_var: np.ndarray  # sum over dials of P(answers in second j) * Var(answered by j - 1)


_IDX = np.arange(RING_BINS)
_HANK = _IDX[:, None] + _IDX[None, :]
_HANK_OK = _HANK < RING_BINS
_HANK_C = np.minimum(_HANK, RING_BINS - 1)
_ANSWER_IN = _IDX * RING_BIN_S + RING_BIN_S / 2  # offset d (bins) -> seconds until the answer
_DELAY_LEFT = _T[None, :] - _ANSWER_IN[:, None]  # [d, j]
_AMD_K = np.clip(np.floor(_DELAY_LEFT / AMD_BIN_S).astype(int), -1, AMD_BINS)
_OFFS = _T[None, :] - (_T[:, None] + 0.5)  # [k, j]: t_j - (t_k + 1/2)
_SIDX = np.minimum(np.arange(AMD_BINS)[:, None] + np.round(_T[None, :] / AMD_BIN_S).astype(int), AMD_BINS)


@dataclass(frozen=True, slots=True)
class _AgentTables:
    key: tuple[float, ...]
    talk_free: np.ndarray
    talk_free_var: np.ndarray
    wrap_free: np.ndarray
    wrap_free_var: np.ndarray
    stack: np.ndarray


@dataclass(frozen=True, slots=True)
class _DialShapes:
    suffix: np.ndarray  # [3, RING_BINS] survival of ring time per class
    timing: np.ndarray  # [RING_BINS, K] P(live answer within t | live, ringing r)
    amd_h: np.ndarray | None  # survival of the human-verdict delay per AMD bin
    amd_m: np.ndarray | None
    later: np.ndarray | None  # [AMD_BINS, K] P(no human verdict by s + t | human, pending at s)
    mean_ring_live: float


def _agent_tables(talk: DurationFit, wrap: DurationFit) -> _AgentTables:
    wrap_free = np.clip(1.0 - wrap.conditional_sf(_WRAP_MID, _T), 0.0, 1.0)
    cs = talk.conditional_sf(_TALK_MID, np.arange(K + 1, dtype=float))
    p_rem = np.clip(cs[:, :-1] - cs[:, 1:], 0.0, 1.0)
    conv = np.where(_OFFS >= 0.0, 1.0 - wrap.sf(np.maximum(_OFFS, 0.0)), 0.0)
    talk_free = np.clip(p_rem @ conv, 0.0, 1.0)
    talk_v = talk_free * (1.0 - talk_free)
    wrap_v = wrap_free * (1.0 - wrap_free)
    return _AgentTables(
        key=_fit_key(talk, wrap),
        talk_free=talk_free,
        talk_free_var=talk_v,
        wrap_free=wrap_free,
        wrap_free_var=wrap_v,
        stack=np.vstack([np.hstack([talk_free, talk_v]), np.hstack([wrap_free, wrap_v])]),
    )


def _fit_key(talk: DurationFit, wrap: DurationFit) -> tuple[float, ...]:
    """Rounded parameters: tables are rebuilt only when a fit moved materially."""
    return tuple(
        round(v / 0.04) * 0.04 for v in (talk.mu, talk.sigma, talk.pi_short, wrap.mu, wrap.sigma, wrap.pi_short)
    )


def _dial_shapes(est: CampaignEstimators, now: float) -> _DialShapes:
    hist = est.ring_hist(now)
    totals = hist.sum(axis=1, keepdims=True)
    suffix = np.cumsum(hist[:, ::-1], axis=1)[:, ::-1] / totals
    hank = np.where(_HANK_OK, hist[LIVE][_HANK_C], 0.0)
    amd_h = amd_m = later = None
    if est.amd_seen:
        amd = est.amd_hist(now)
        h_cdf = np.cumsum(amd[0]) / amd[0].sum()
        h_sf = 1.0 - np.concatenate([[0.0], h_cdf])  # S(k * 0.1 s), k = 0..AMD_BINS
        fmat = np.where(_AMD_K < 0, 0.0, 1.0 - h_sf[np.clip(_AMD_K, 0, AMD_BINS)])
        amd_h = np.cumsum(amd[0][::-1])[::-1] / amd[0].sum()
        amd_m = np.cumsum(amd[1][::-1])[::-1] / amd[1].sum()
        later = np.append(amd_h, 0.0)[_SIDX] / np.maximum(amd_h[:, None], 1e-300)
    else:
        fmat = (_DELAY_LEFT >= 0.0).astype(float)
    suf_live_mass = np.maximum(np.cumsum(hist[LIVE][::-1])[::-1], 1e-300)
    timing = (hank @ fmat) / suf_live_mass[:, None]
    return _DialShapes(
        suffix=suffix,
        timing=timing,
        amd_h=amd_h,
        amd_m=amd_m,
        later=later,
        mean_ring_live=float((hist[LIVE] / hist[LIVE].sum() * _ANSWER_IN).sum()),
    )


class Forecaster:
    """Keeps the forecast tables of one campaign fresh at a bounded cost.

    Fitted durations change slowly (refitted every `fit_every_s`, tables rebuilt only when a fit moved),
    ring and AMD shapes too (`shape_every_s`); the shares of live answers, machines and failures move
    fastest and are mixed into the dial tables at every refresh (`shares_every_s`), which is cheap.
    """

    def __init__(self, *, shares_every_s: float = 5.0, fit_every_s: float = 30.0, shape_every_s: float = 60.0) -> None:
        self.shares_every_s = shares_every_s
        self.fit_every_s = fit_every_s
        self.shape_every_s = shape_every_s
        self._tables: ForecastTables | None = None
        self._agents: _AgentTables | None = None
        self._shapes: _DialShapes | None = None
        self._fit_at = -float("inf")
        self._shape_at = -float("inf")
        self._version = -1
        self._fits: tuple[DurationFit, DurationFit] | None = None

    @property
    def current(self) -> ForecastTables | None:
        return self._tables

    def tables(
        self,
        est: CampaignEstimators,
        now: float,
        *,
        talking_elapsed: np.ndarray | None = None,
        wrap_elapsed: np.ndarray | None = None,
        z_live: float = 1.0,
        force: bool = False,
    ) -> ForecastTables:
        tab = self._tables
        if not force and tab is not None and (now - tab.built_at < self.shares_every_s or est.version == self._version):
            return tab
        if force or self._fits is None or now - self._fit_at >= self.fit_every_s:
            self._fits = (est.talk_fit(now, talking_elapsed), est.wrap_fit(now, wrap_elapsed))
            self._fit_at = now
            if self._agents is None or self._agents.key != _fit_key(*self._fits):
                self._agents = _agent_tables(*self._fits)
        if force or self._shapes is None or now - self._shape_at >= self.shape_every_s:
            self._shapes = _dial_shapes(est, now)
            self._shape_at = now
        assert self._agents is not None
        assert self._fits is not None
        tab = _mix(est, now, self._agents, self._shapes, self._fits, z_live)
        self._tables = tab
        self._version = est.version
        return tab


def _mix(
    est: CampaignEstimators,
    now: float,
    agents: _AgentTables,
    sh: _DialShapes,
    fits: tuple[DurationFit, DurationFit],
    z_live: float,
) -> ForecastTables:
    shares = est.share_estimate(now)
    p = shares.p
    q_hi = shares.upper(LIVE, z_live)
    scale_rest = (1.0 - q_hi) / max(1.0 - float(p[LIVE]), 1e-9)
    q, m, f = q_hi, float(p[MACHINE]) * scale_rest, float(p[OTHER]) * scale_rest
    weighted = np.array([q, m, f])[:, None] * sh.suffix
    post_live = weighted[LIVE] / np.maximum(weighted.sum(axis=0), 1e-300)
    ring_live = np.clip(post_live[:, None] * sh.timing, 0.0, 1.0)
    if sh.amd_h is not None and sh.amd_m is not None and sh.later is not None:
        qa = q / max(q + m, 1e-9)
        post_h = qa * sh.amd_h / np.maximum(qa * sh.amd_h + (1.0 - qa) * sh.amd_m, 1e-300)
        screen_live = np.clip(post_h[:, None] * (1.0 - sh.later), 0.0, 1.0)
    else:
        screen_live = np.ones((AMD_BINS, K))  # no AMD: an answered call is live at once
    talk, wrap = fits
    ring_v = ring_live * (1.0 - ring_live)
    screen_v = screen_live * (1.0 - screen_live)
    dial_stack = np.vstack(
        [
            np.hstack([ring_live, ring_v, *_self_terms(ring_live)]),
            np.hstack([screen_live, screen_v, *_self_terms(screen_live)]),
        ]
    )
    return ForecastTables(
        built_at=now,
        talk_free=agents.talk_free,
        talk_free_var=agents.talk_free_var,
        wrap_free=agents.wrap_free,
        wrap_free_var=agents.wrap_free_var,
        ring_live=ring_live,
        ring_live_var=ring_v,
        screen_live=screen_live,
        screen_live_var=screen_v,
        p_live=q,
        p_live_mean=float(p[LIVE]),
        p_live_se=max(q - float(p[LIVE]), 0.0) / max(z_live, 1e-9),
        mean_talk=talk.mean,
        mean_wrap=wrap.mean,
        mean_ring_live=sh.mean_ring_live,
        talk=talk,
        wrap=wrap,
        agent_stack=agents.stack,
        dial_stack=dial_stack,
    )


def _self_terms(cdf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: P(live answer in second j) times the mean and the variance of "answered by j - 1":
    the part of the others-before count that an arriving call must not count against itself (it
    cannot have arrived earlier). Negligible with many calls, decisive with five agents."""
    mean = np.zeros_like(cdf)
    var = np.zeros_like(cdf)
    step = cdf[:, 1:] - cdf[:, :-1]
    prev = cdf[:, :-1]
    mean[:, 1:] = step * prev
    var[:, 1:] = step * prev * (1.0 - prev)
    return mean, var


def build_tables(
    est: CampaignEstimators,
    now: float,
    *,
    talking_elapsed: np.ndarray | None = None,
    wrap_elapsed: np.ndarray | None = None,
    z_live: float = 1.0,
) -> ForecastTables:
    """Build fresh tables from the current estimates (no caching)."""
    return Forecaster().tables(
        est, now, talking_elapsed=talking_elapsed, wrap_elapsed=wrap_elapsed, z_live=z_live, force=True
    )


def _bins(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.asarray(np.searchsorted(edges, x, side="right") - 1)  # elapsed times are >= 0


_NT = TALK_EDGES.shape[0]
_AGENT_ROWS = _NT + WRAP_EDGES.shape[0]
_DIAL_ROWS = RING_BINS + AMD_BINS


def _sum_rows(idx: np.ndarray, rows: int, table: np.ndarray) -> np.ndarray:
    """Sum of table rows `idx` (with repeats), via counts of the distinct rows used."""
    cnt = np.bincount(idx, minlength=rows)
    nz = np.flatnonzero(cnt)
    return np.asarray(cnt[nz].astype(float) @ table[nz])


def curves(
    tab: ForecastTables,
    *,
    ready: int,
    waiting: int,
    talking: np.ndarray,
    wrapping: np.ndarray,
    ringing: np.ndarray,
    screening: np.ndarray,
) -> Curves:
    """Expected supply of agents and demand of live answers over the look-ahead grid."""
    if talking.shape[0] or wrapping.shape[0]:
        idx = np.concatenate(
            [
                np.searchsorted(TALK_EDGES, talking, side="right") - 1,
                np.searchsorted(WRAP_EDGES, wrapping, side="right") + (_NT - 1),
            ]
        )
        sup = _sum_rows(idx, _AGENT_ROWS, tab.agent_stack)
    else:
        sup = np.zeros(2 * K)
    if ringing.shape[0] or screening.shape[0]:
        idx = np.concatenate(
            [
                np.minimum((ringing * (1.0 / RING_BIN_S)).astype(np.intp), RING_BINS - 1),
                np.minimum((screening * (1.0 / AMD_BIN_S)).astype(np.intp), AMD_BINS - 1) + RING_BINS,
            ]
        )
        dem = _sum_rows(idx, _DIAL_ROWS, tab.dial_stack)
    else:
        dem = np.zeros(4 * K)
    dial = dem[:K]
    return Curves(
        supply=sup[:K] + float(ready),
        supply_var=sup[K:],
        demand=dial + float(waiting),
        demand_var=dem[K : 2 * K],
        dial_demand=dial,
        dial_self=dem[2 * K : 3 * K],
        dial_self_var=dem[3 * K :],
    )
