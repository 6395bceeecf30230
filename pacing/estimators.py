"""Online estimators of how a campaign's calls and agents behave, forgetting the past exponentially.

Theory of operation. Everything the predictive pacer needs is a distribution that drifts during the day:
the share of dials that end in a live answer, how long each kind of dial rings, how long AMD listens,
how long agents talk and wrap up. Each is kept as exponentially forgotten sufficient statistics: a
sample observed `a` seconds ago weighs `2 ** (-a / half_life)`. Forgetting is lazy (`DecayedArray`
stores weights relative to a reference time and rebases rarely), so an observation costs O(1).

Durations (talk, wrap-up) are a two-part mixture: short ones (answering machines reached with AMD off,
wrong parties, instant hang-ups) kept as a histogram, and the rest as a lognormal truncated at the
short threshold. The lognormal is fitted by EM that also uses the calls still in progress as
right-censored samples, so that early in a shift, when only the short calls have finished, the fit is
not biased towards short calls. Priors are pseudo-observations: with few samples the estimates stay near
safe defaults and `samples` says how much real data stands behind them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pacing._math import lognormal_log_sf, lognormal_sf, norm_cdf, norm_pdf
from pacing.types import AgentFreed, DialObserved, LiveAnswerObserved, Observation, TalkObserved, WrapupObserved

__all__ = [
    "AMD_BINS",
    "AMD_BIN_S",
    "RING_BINS",
    "RING_BIN_S",
    "CampaignEstimators",
    "DecayedArray",
    "DurationFit",
    "DurationModel",
    "ShareEstimate",
]

_LN2 = math.log(2.0)

RING_BIN_S = 0.5
RING_BINS = 128  # ring times up to 64 s
AMD_BIN_S = 0.1
AMD_BINS = 80  # AMD verdict delays up to 8 s

# dial classes as the pacer sees them after AMD
LIVE, MACHINE, OTHER = 0, 1, 2


class DecayedArray:
    """An array of exponentially forgotten sums; `add` is O(1), `value(now)` O(size)."""

    __slots__ = ("_rate", "_t_ref", "_w", "half_life_s")

    def __init__(self, shape: int | tuple[int, ...], half_life_s: float) -> None:
        if half_life_s <= 0:
            raise ValueError(f"half_life_s must be positive, got {half_life_s}")
        self.half_life_s = half_life_s
        self._rate = _LN2 / half_life_s
        self._w = np.zeros(shape)
        self._t_ref: float | None = None

    def _scale(self, t: float) -> float:
        if self._t_ref is None:
            self._t_ref = t
        x = self._rate * (t - self._t_ref)
        if x > 40.0:
            # rebase so that weights stay finite; one multiply of the whole array, rarely
            self._w *= math.exp(-x)
            self._t_ref = t
            x = 0.0
        return math.exp(x)

    def add(self, t: float, index: int | tuple[int, ...], amount: float = 1.0) -> None:
        scale = self._scale(t)  # first: it may rebase the array (`w[i] += f()` would load w[i] before)
        self._w[index] += amount * scale

    def add_vector(self, t: float, vec: np.ndarray) -> None:
        scale = self._scale(t)
        self._w += vec * scale

    def value(self, now: float) -> np.ndarray:
        if self._t_ref is None:
            return self._w.copy()
        return np.asarray(self._w * math.exp(-self._rate * (now - self._t_ref)))


@dataclass(frozen=True, slots=True)
class ShareEstimate:
    """Shares of dial classes (live, machine, other) with their effective sample size."""

    p: np.ndarray  # posterior means, sums to 1
    n_eff: float  # decayed count of real observations behind p

    def upper(self, cls: int, z: float) -> float:
        """A one-sided upper confidence value of the share of class `cls`."""
        p = float(self.p[cls])
        return min(1.0, p + z * math.sqrt(max(p * (1.0 - p), 1e-6) / max(self.n_eff + 1.0, 1.0)))


@dataclass(frozen=True, slots=True)
class DurationFit:
    """A duration distribution: short part (histogram below `short_s`) plus truncated lognormal."""

    short_s: float
    pi_short: float
    short_sf: np.ndarray  # survival of the short part on a 0.5 s grid over [0, short_s]
    mu: float
    sigma: float
    samples: float
    mean: float  # mean of the mixture

    def sf(self, x: np.ndarray) -> np.ndarray:
        """P(D > x)."""
        xa = np.asarray(x, dtype=float)
        a = self.short_s
        sf_a = float(lognormal_sf(np.array([a]), self.mu, self.sigma)[0])
        long = lognormal_sf(np.maximum(xa, a), self.mu, self.sigma) / max(sf_a, 1e-300)
        idx = np.clip((xa / 0.5).astype(int), 0, self.short_sf.shape[0] - 1)
        short = np.where(xa < a, self.short_sf[idx], 0.0)
        return np.asarray(self.pi_short * short + (1.0 - self.pi_short) * long)

    def conditional_sf(self, elapsed: np.ndarray, t: np.ndarray) -> np.ndarray:
        """P(D > e + t | D > e) as a matrix [len(elapsed), len(t)], stable deep in the tail."""
        e = np.asarray(elapsed, dtype=float)[:, None]
        tt = np.asarray(t, dtype=float)[None, :]
        a = self.short_s
        ratio = self.sf(e + tt) / np.maximum(self.sf(e), 1e-300)
        # beyond the short part the mixture is a pure lognormal: use log space there
        le = lognormal_log_sf(np.broadcast_to(e, (e.shape[0], 1)), self.mu, self.sigma)
        lt = lognormal_log_sf(e + tt, self.mu, self.sigma)
        tail = np.exp(np.minimum(lt - le, 0.0))
        return np.asarray(np.clip(np.where(e >= a, tail, ratio), 0.0, 1.0))


class DurationModel:
    """Online fit of a duration (talk or wrap-up) as short-histogram + truncated lognormal."""

    def __init__(
        self,
        short_s: float,
        prior_mean: float,
        prior_cv: float,
        half_life_s: float = 2 * 3600.0,
        prior_n: float = 3.0,
    ) -> None:
        self.short_s = short_s
        self._bins = max(1, math.ceil(short_s / 0.5))
        self._short = DecayedArray(self._bins, half_life_s)
        self._long = DecayedArray(3, half_life_s)  # weight, sum log x, sum (log x)^2
        sig2 = math.log1p(prior_cv**2)
        self._prior = (prior_n, math.log(prior_mean) - sig2 / 2, sig2)
        self.count = 0

    def add(self, t: float, x: float) -> None:
        if not math.isfinite(x) or x < 0:
            return
        self.count += 1
        if x < self.short_s:
            self._short.add(t, min(int(x / 0.5), self._bins - 1))
        else:
            lx = math.log(max(x, 1e-3))
            self._long.add_vector(t, np.array([1.0, lx, lx * lx]))

    def fit(self, now: float, in_progress: np.ndarray | None = None, iterations: int = 4) -> DurationFit:
        """Fit at `now`; `in_progress` are elapsed times of durations not finished yet (censored)."""
        short = self._short.value(now)
        w, s1, s2 = (float(v) for v in self._long.value(now))
        n0, mu0, var0 = self._prior
        cens = np.zeros(0)
        if in_progress is not None and in_progress.size:
            c = in_progress[in_progress >= self.short_s]
            cens = np.log(np.maximum(c, 1e-3))
        n_short = float(short.sum())
        n_long = w + float(cens.size)
        pi = (n_short + 0.05 * n0) / (n_short + n_long + n0)
        mu, var = (
            (s1 + n0 * mu0) / (w + n0),
            max((s2 + n0 * (var0 + mu0 * mu0)) / (w + n0) - ((s1 + n0 * mu0) / (w + n0)) ** 2, 1e-4),
        )
        la = math.log(self.short_s) if self.short_s > 0 else -math.inf
        for _ in range(iterations):
            sd = math.sqrt(var)
            s0_, s1_, s2_ = w + n0, s1 + n0 * mu0, s2 + n0 * (var0 + mu0 * mu0)
            if w > 0 and math.isfinite(la):
                beta = (la - mu) / sd
                cdf_b = float(norm_cdf(np.array([beta]))[0])
                if 1e-12 < cdf_b < 1.0 - 1e-12:
                    lam = float(norm_pdf(np.array([beta]))[0]) / cdf_b
                    m = w * cdf_b / (1.0 - cdf_b)
                    ex = mu - sd * lam
                    vx = var * max(1.0 - beta * lam - lam * lam, 1e-6)
                    s0_ += m
                    s1_ += m * ex
                    s2_ += m * (vx + ex * ex)
            if cens.size:
                g = (cens - mu) / sd
                sfg = np.maximum(1.0 - norm_cdf(g), 1e-300)
                lam_c = norm_pdf(g) / sfg
                ex_c = mu + sd * lam_c
                vx_c = var * np.maximum(1.0 + g * lam_c - lam_c * lam_c, 1e-6)
                s0_ += float(cens.size)
                s1_ += float(ex_c.sum())
                s2_ += float((vx_c + ex_c * ex_c).sum())
            mu = s1_ / s0_
            var = max(s2_ / s0_ - mu * mu, 1e-4)
        cdf = np.cumsum(short) / n_short if n_short > 0 else np.linspace(1.0 / self._bins, 1.0, self._bins)
        grid = max(math.ceil(self.short_s / 0.5) + 1, 2)
        short_sf = np.ones(grid)
        short_sf[1 : 1 + self._bins] = 1.0 - cdf[: grid - 1]
        short_sf[-1] = 0.0
        pi = float(min(max(pi, 0.0), 0.95))
        sigma = math.sqrt(var)
        short_sf = np.clip(short_sf, 0.0, 1.0)
        return DurationFit(
            short_s=self.short_s,
            pi_short=pi,
            short_sf=short_sf,
            mu=mu,
            sigma=sigma,
            samples=n_short + w,
            mean=pi * float(short_sf.sum() * 0.5) + (1.0 - pi) * _truncated_lognormal_mean(mu, sigma, self.short_s),
        )


def _truncated_lognormal_mean(mu: float, sigma: float, a: float) -> float:
    """E[X | X > a] for log X ~ N(mu, sigma^2): exp(mu + s^2/2) Phi(s - alpha) / (1 - Phi(alpha))."""
    if a <= 0:
        return math.exp(mu + sigma * sigma / 2)
    alpha = (math.log(a) - mu) / sigma
    tail = 0.5 * math.erfc(-(sigma - alpha) / math.sqrt(2.0))
    sf_a = 0.5 * math.erfc(alpha / math.sqrt(2.0))
    return math.exp(mu + sigma * sigma / 2) * tail / max(sf_a, 1e-300)


class CampaignEstimators:
    """Everything the predictive pacer learns about one campaign from its observations."""

    def __init__(
        self,
        *,
        share_half_life_s: float = 15 * 60.0,
        fast_share_half_life_s: float = 3 * 60.0,
        fast_share_min_dials: float = 600.0,
        shape_half_life_s: float = 60 * 60.0,
        prior_live: float = 0.3,
        prior_dials: float = 20.0,
        talk_prior_mean: float = 120.0,
        wrap_prior_mean: float = 30.0,
        max_gap_s: float = 300.0,
    ) -> None:
        # Forgetting runs on the campaign's active clock: a gap between two observations or queries
        # counts at most `max_gap_s`. On wall time the night between two shifts forgot everything, and
        # the next morning started from the priors (a live share of 0.3, its upper value near 0.8):
        # dialing one call per ready agent until the first dials resolved, then minutes of caution.
        self.max_gap_s = max_gap_s
        self._wall: float | None = None
        self._active = 0.0
        self.shares = DecayedArray(3, share_half_life_s)
        # A big campaign has thousands of dials in a few minutes: its shares can follow the time of day
        # closely instead of lagging 15 minutes behind (at 500 agents a lag of a few percent in the live
        # share is the difference between the aim and twice the aim). Used once it has enough dials.
        self.fast_shares = DecayedArray(3, fast_share_half_life_s)
        self.fast_share_min_dials = fast_share_min_dials
        self._prior_shares = prior_dials * np.array([prior_live, 0.15, 0.85 - prior_live])
        self.ring = DecayedArray((3, RING_BINS), shape_half_life_s)
        self.amd = DecayedArray((2, AMD_BINS), shape_half_life_s)
        self.talk = DurationModel(short_s=12.0, prior_mean=talk_prior_mean, prior_cv=1.0)
        self.wrap = DurationModel(short_s=5.0, prior_mean=wrap_prior_mean, prior_cv=0.6)
        self._ring_prior = _ring_prior()
        self._amd_prior = _amd_prior()
        self.dials = 0
        self.lives = 0
        self.abandons = 0
        self.amd_seen = False
        self.version = 0  # bumped on every observation that changes a distribution

    def active_time(self, t: float) -> float:
        """Wall time `t` on the active clock (monotone; a gap since the last call counts at most `max_gap_s`)."""
        if self._wall is None:
            self._wall, self._active = t, t
            return t
        dt = t - self._wall
        if dt < 0.0:
            return self._active + max(dt, -self.max_gap_s)  # stamped a little before the last decision
        self._active += min(dt, self.max_gap_s)
        self._wall = t
        return self._active

    def observe(self, obs: Observation) -> None:
        if isinstance(obs, DialObserved):
            self._dial(obs)
        elif isinstance(obs, TalkObserved):
            self.talk.add(self.active_time(obs.at), obs.talk_s)
            self.version += 1
        elif isinstance(obs, WrapupObserved):
            self.wrap.add(self.active_time(obs.at), obs.wrap_s)
            self.version += 1
        elif isinstance(obs, LiveAnswerObserved):
            self.lives += 1
            self.abandons += int(obs.abandoned)
        elif isinstance(obs, AgentFreed):
            pass

    def _dial(self, obs: DialObserved) -> None:
        self.dials += 1
        self.version += 1
        if obs.hung_up:
            self._censored_dial(obs)
            return
        if obs.outcome == "live" and not obs.amd_machine:
            cls = LIVE
        elif obs.outcome == "machine" or (obs.outcome == "live" and obs.amd_machine):
            cls = MACHINE
        else:
            cls = OTHER
        at = self.active_time(obs.at)
        self.shares.add(at, cls)
        self.fast_shares.add(at, cls)
        rb = min(max(int(obs.ring_s / RING_BIN_S), 0), RING_BINS - 1)
        self.ring.add(at, (cls, rb))
        if obs.amd_delay_s is not None and cls != OTHER:
            self.amd_seen = True
            ab = min(max(int(obs.amd_delay_s / AMD_BIN_S), 0), AMD_BINS - 1)
            self.amd.add(at, (cls, ab))

    def _censored_dial(self, obs: DialObserved) -> None:
        """A dial we hung up after `ring_s`: spread it over the classes and later ring times as the
        dials that rang that long ended (the EM step for right-censored data). Counted as a no-answer,
        it would lower the live share by the answers it was not given the time to bring."""
        at = self.active_time(obs.at)
        rb = min(max(int(obs.ring_s / RING_BIN_S), 0), RING_BINS - 1)
        tail = self.ring_hist(obs.at)
        tail[:, :rb] = 0.0
        total = float(tail.sum())
        if total <= 0.0:
            return
        tail /= total
        self.ring.add_vector(at, tail)
        cls = tail.sum(axis=1)
        self.shares.add_vector(at, cls)
        self.fast_shares.add_vector(at, cls)

    # ------------------------------------------------------------------ derived estimates
    def share_estimate(self, now: float) -> ShareEstimate:
        """Shares of dial classes: from the last few minutes when they hold enough dials, else the slower sums."""
        now = self.active_time(now)
        obs = self.fast_shares.value(now)
        if obs.sum() < self.fast_share_min_dials:
            obs = self.shares.value(now)
        tot = obs + self._prior_shares
        return ShareEstimate(p=tot / tot.sum(), n_eff=float(obs.sum()))

    def ring_hist(self, now: float) -> np.ndarray:
        """Ring-time mass per class [3, RING_BINS] (observations plus a weak prior)."""
        return np.asarray(self.ring.value(self.active_time(now)) + self._ring_prior)

    def amd_hist(self, now: float) -> np.ndarray:
        """AMD verdict-delay mass [2, AMD_BINS] for human and machine verdicts."""
        return np.asarray(self.amd.value(self.active_time(now)) + self._amd_prior)

    def talk_fit(self, now: float, in_progress: np.ndarray | None = None) -> DurationFit:
        """The talk-time fit at `now`, the calls still in progress taken as censored samples."""
        return self.talk.fit(self.active_time(now), in_progress)

    def wrap_fit(self, now: float, in_progress: np.ndarray | None = None) -> DurationFit:
        """The wrap-up fit at `now`, the wrap-ups still in progress taken as censored samples."""
        return self.wrap.fit(self.active_time(now), in_progress)


def _ring_prior() -> np.ndarray:
    """A weak default shape (two pseudo-dials per class) so that early hazards are defined."""
    t = (np.arange(RING_BINS) + 0.5) * RING_BIN_S
    live = np.exp(-0.5 * ((t - 10.0) / 6.0) ** 2)
    machine = np.exp(-0.5 * ((t - 14.0) / 6.0) ** 2)
    other = np.where(t < 25.0, 1.0, 0.0)
    out = np.vstack([live, machine, other])
    return np.asarray(2.0 * out / out.sum(axis=1, keepdims=True))


def _amd_prior() -> np.ndarray:
    t = (np.arange(AMD_BINS) + 0.5) * AMD_BIN_S
    human = np.where((t >= 1.0) & (t < 2.6), 1.0, 0.0)
    machine = np.where((t >= 2.5) & (t < 5.0), 1.0, 0.0)
    out = np.vstack([human, machine])
    return np.asarray(2.0 * out / out.sum(axis=1, keepdims=True))
