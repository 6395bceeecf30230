"""How many dials to launch now so that agents stay busy and the predicted abandon rate stays on target.

Theory of operation. Let S(t) be the number of agents free by look-ahead time t (ready now, plus busy
ones that finish talking and wrap-up by t) and D(t) the number of live answers by t (people waiting now,
dials in flight that answer live, and the n dials we may launch now). Both are sums of independent
Bernoullis whose probabilities come from the forecast tables. Live answers take free agents first come
first served; one that finds no agent within the grace g = 2 s is abandoned. So a live answer arriving
in second j is lost when X_j = D(j-1) - L(j-1) - S(j + g) >= 0: the others who came before it and were
served have used up every agent that frees in time (L counts the ones lost before, which used none).

Expected abandons over the horizon are sum_j E[arrivals in j] * P(X_j >= 0), with X_j taken normal
(continuity-corrected) and L replaced by its expectation, computed in two vectorised passes (first
without L, then with the first pass's cumulative losses). Checked by Monte Carlo against the exact
loss process on snapshots of simulated shifts, this tracks the truth with a correlation of 0.996 and
overstates it by about a fifth (it still counts some arrivals that queue behind a loss); the simpler
max_t E[(D(t) - S(t+g))+] understates it threefold, which is why it is not used.

A batch of n dials is charged the abandons it adds, lost(n) - lost(0) (its own and those it causes among
calls already in flight), per live answer it brings, n * a(H). Charging every batch its own increment
makes the charges add up to the campaign's expected abandons, so keeping each batch within `tau`
keeps the long-run rate there. `choose_launch` returns the largest such n; the uncertainty of the live
share (few samples, drift) inflates the demand variance, so thin data makes the pacer cautious.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pacing._math import norm_cdf, norm_pdf
from pacing.forecast import Curves, K

__all__ = ["GRACE_STEPS", "LOSS_CALIBRATION", "Choice", "choose_hangups", "choose_launch", "predicted_abandon"]

GRACE_STEPS = 2  # seconds a live answer may wait for an agent (1 s grid)
LOSS_CALIBRATION = 1.0  # scale on the mean-field estimate (checked against Monte Carlo, see above)
_J = K - GRACE_STEPS
_ZMAX, _ZRES = 9.0, 100.0  # tabulated standard normal on [-9, 9] in steps of 0.01
_Z = np.arange(-_ZMAX * _ZRES, _ZMAX * _ZRES + 1) / _ZRES
_PHI = norm_cdf(_Z)
_PSI = _Z * _PHI + norm_pdf(_Z)  # E[(Z + z)+] for a standard normal Z
_BOUND_AT = np.arange(0, _J, 3)  # seconds where the overload bound is checked
_PROBES = 8  # candidates scored per bisection round
_LADDER = np.array([1, 2, 3, 5, 8, 12, 18, 27, 40, 60, 90, 135, 200, 300, 450, 680, 1000, 1500])
_DENSE = 24  # most launches are small: scoring every count up to here at once saves a bisection round
_DENSE_PROBES = np.arange(_DENSE + 1)


def _table(tab: np.ndarray, z: np.ndarray) -> np.ndarray:
    """tab(z) by nearest tabulated point (clipped to the table)."""
    return np.asarray(tab.take((z * _ZRES + (_ZMAX * _ZRES + 0.5)).astype(np.intp), mode="clip"))


def _phi_of(z: np.ndarray) -> np.ndarray:
    """The standard normal cdf at z by table lookup; overwrites z."""
    z *= _ZRES
    z += _ZMAX * _ZRES + 0.5
    return np.asarray(_PHI.take(z.astype(np.intp), mode="clip"))


@dataclass(frozen=True, slots=True)
class Choice:
    """The chosen launch count and what the model predicts for it."""

    launch: int
    predicted_abandon: float  # per live answer of this batch (or of the calls in flight when none)
    expected_added: float  # abandons this batch adds: lost(n) - lost(0)
    expected_lost: float
    expected_live: float
    expected_free: float
    charge: float = 0.0  # abandons added by the dials that will be launched, min(launch, limit): see choose_launch


class _Model:
    """The curves on the look-ahead grid, ready to score candidate counts."""

    __slots__ = (
        "a_h",
        "a_pq",
        "a_prev",
        "a_self",
        "a_self_v",
        "a_step",
        "arr0",
        "b_a",
        "b_dd",
        "b_var",
        "b_x",
        "dd",
        "free",
        "live0",
        "rel2",
        "self0",
        "self_v0",
        "var0",
        "xm0",
        "xm0h",
    )

    def __init__(self, c: Curves, new_live: np.ndarray, rel_err: float) -> None:
        g = GRACE_STEPS
        self.a_h = float(new_live[_J - 1])
        self.live0 = float(c.demand[_J - 1])
        self.free = float(c.supply[min(K - 1, 20)])
        self.rel2 = rel_err * rel_err
        # past the last possible arrival, X only falls (agents keep freeing): stop the grid there
        moving = np.flatnonzero((np.diff(c.demand[:_J]) > 1e-9) | (np.diff(new_live[:_J]) > 1e-9))
        j = min(_J, int(moving[-1]) + 3) if moving.size else 2
        d = c.demand[:j]
        s = c.supply[g : g + j]
        a = new_live[:j]
        # arrivals in each second (people already waiting arrive in second 0)
        self.arr0 = d.copy()
        self.arr0[1:] -= d[:-1]
        self.a_step = a.copy()
        self.a_step[1:] -= a[:-1]
        # X before an arrival of second j: live answers up to j-1 against agents free by j + g
        self.xm0 = np.empty(j)
        self.xm0[0] = d[0] - 1.0 - s[0]
        self.xm0[1:] = d[:-1] - s[1:]
        self.a_prev = np.empty(j)
        self.a_prev[0] = a[0]
        self.a_prev[1:] = a[:-1]
        # an arriving call does not count itself among those before it (matters with few calls)
        self.self0 = c.dial_self[:j].copy()
        self.a_self = self.a_step * self.a_prev
        self.self_v0 = c.dial_self_var[:j].copy()
        self.a_self_v = self.a_self * (1.0 - self.a_prev)
        self.a_pq = self.a_prev * (1.0 - self.a_prev)
        self.xm0h = self.xm0 + 0.5  # continuity correction
        var = c.demand_var[:j] + c.supply_var[g : g + j] + 1e-4
        self.var0 = np.empty(j)
        self.var0[0] = var[0]
        self.var0[1:] = var[:-1]
        dd = c.dial_demand[:j]
        self.dd = np.empty(j)
        self.dd[0] = dd[0]
        self.dd[1:] = dd[:-1]
        b = _BOUND_AT[j > _BOUND_AT]
        self.b_x = d[b] - s[b]
        self.b_var = var[b]
        self.b_dd = dd[b]
        self.b_a = a[b]

    def score(self, ns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Expected lost and expected live answers over the horizon for each count in `ns`."""
        nf = ns.astype(float)
        n = nf[:, None]
        l2, _ = self._passes(n)
        # E[sup X+] >= max_t E[X_t+]: in overload the mean-field pass undercounts, the bound does not
        nb = n * self.b_a
        dial_b = nb + self.b_dd
        sd_b = nb * (1.0 - self.b_a)
        sd_b += self.b_var
        sd_b += self.rel2 * dial_b * dial_b
        np.sqrt(sd_b, out=sd_b)
        nb += self.b_x - 0.5
        nb /= sd_b
        bound = (sd_b * _table(_PSI, nb)).max(axis=1)
        lost = np.maximum(LOSS_CALIBRATION * l2.sum(axis=1), bound)
        return lost, self.live0 + nf * self.a_h

    def risk(self) -> np.ndarray:
        """With no new dials: P(a live answer arriving in second j is lost), for every j of the grid."""
        l2, arr = self._passes(np.zeros((1, 1)))
        out = np.zeros(_J)
        j = l2.shape[1]
        out[:j] = l2[0] / np.maximum(arr[0], 1e-12)
        return np.minimum(out, 1.0)

    def _passes(self, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The mean-field passes for counts `n` (a column): expected losses per second, arrivals per second."""
        # in-place arithmetic throughout: the arrays are small, so temporaries cost more than the sums
        na = n * self.a_prev
        arr = n * self.a_step
        arr += self.arr0
        inv_arr = np.maximum(arr, 1e-12)
        np.reciprocal(inv_arr, out=inv_arr)
        var = n * self.a_pq
        var += self.var0
        if self.rel2 > 0.0:
            dial = na + self.dd
            dial *= dial
            dial *= self.rel2
            var += dial
        t = n * self.a_self_v
        t += self.self_v0
        t *= inv_arr
        var -= t
        np.maximum(var, 1e-4, out=var)
        np.sqrt(var, out=var)
        inv_sd = np.reciprocal(var, out=var)
        xm = n * self.a_self
        xm += self.self0
        xm *= inv_arr
        np.subtract(na, xm, out=xm)
        xm += self.xm0h
        z = xm * inv_sd
        l1 = _phi_of(z)
        l1 *= arr
        cum = np.cumsum(l1, axis=1)
        cum -= l1
        xm -= cum
        xm *= inv_sd
        l2 = _phi_of(xm)
        l2 *= arr
        return l2, arr


def predicted_abandon(c: Curves, new_live: np.ndarray, n: int, rel_err: float = 0.0) -> Choice:
    """The model's prediction for launching exactly `n` (per live answer over the horizon)."""
    m = _Model(c, new_live, rel_err)
    lost, live = m.score(np.array([n]))
    lv = float(live[0])
    return Choice(n, float(lost[0]) / lv if lv > 1e-9 else 0.0, 0.0, float(lost[0]), lv, m.free)


def choose_launch(
    c: Curves, new_live: np.ndarray, tau: float, n_cap: int, rel_err: float = 0.0, limit: int | None = None
) -> Choice:
    """The largest n in [0, n_cap] whose own predicted abandon probability is at most `tau`.

    `limit` is the most dials the caller will launch whatever the model says (the ledger's budget, or
    progressive if more): `Choice.charge` is then lost(k) - lost(0) for the k = min(n, limit) launched,
    scored on this same model. lost is convex in k, so a share of the chosen batch's charge pro rata
    would overstate it.
    """
    m = _Model(c, new_live, rel_err)
    n_cap = max(0, n_cap)
    a_h = m.a_h
    # one round usually settles it: every count up to _DENSE, then a geometric ladder up to the cap
    probes = np.concatenate(
        [_DENSE_PROBES[: min(n_cap, _DENSE) + 1], _LADDER[(n_cap > _LADDER) & (_LADDER > _DENSE)], [n_cap]]
    ).astype(np.intp)
    if n_cap <= _DENSE:
        probes = probes[:-1]
    lost, live = m.score(probes)
    base, base_live = float(lost[0]), float(live[0])
    lo, hi, best_lost = 0, n_cap, base  # invariant: lo passes (or is 0), every n > hi fails
    probes, lost = probes[1:], lost[1:]
    while probes.size:
        ok = lost - base <= tau * a_h * probes
        if ok.all():
            lo, best_lost = int(probes[-1]), float(lost[-1])
            break
        first_fail = int(np.argmin(ok))
        if first_fail > 0 and int(probes[first_fail - 1]) > lo:
            lo, best_lost = int(probes[first_fail - 1]), float(lost[first_fail - 1])
        hi = int(probes[first_fail]) - 1
        if hi <= lo:
            break
        probes = np.unique(np.linspace(lo + 1, hi, min(_PROBES, hi - lo)).round().astype(np.intp))
        lost, _ = m.score(probes)
    in_flight_rate = base / base_live if base_live > 1e-9 else 0.0
    pred = (best_lost - base) / (lo * a_h) if lo > 0 and a_h > 0 else in_flight_rate
    added = max(best_lost - base, 0.0)
    charge = added
    if limit is not None and limit < lo:
        charge = max(float(m.score(np.array([limit]))[0][0]) - base, 0.0) if limit > 0 else 0.0
    return Choice(lo, pred, added, best_lost, base_live + lo * a_h, m.free, charge)


def choose_hangups(c: Curves, new_live: np.ndarray, profiles: np.ndarray, risk_max: float) -> list[int]:
    """Which ringing dials to hang up: indices into `profiles`, the riskiest first.

    `profiles[i]` is candidate i's chance of a live answer by each second of the grid (its row of the
    ring-live table). A candidate's risk is the chance that its live answer, if it comes, finds no agent:
    the model's per-second loss probability averaged over when it would answer. Candidates above
    `risk_max` are picked, riskiest first, until the live answers they would bring reach the abandons
    the model expects of the calls already in flight: more would only give up contacts.
    """
    if profiles.shape[0] == 0:
        return []
    m = _Model(c, new_live, 0.0)
    lost0 = float(m.score(np.zeros(1, dtype=np.intp))[0][0])
    live = profiles[:, _J - 1]
    if lost0 <= 0.0 or float(live.min()) > lost0:
        return []
    step = profiles[:, :_J].copy()
    step[:, 1:] -= profiles[:, : _J - 1]
    risk = (step @ m.risk()) / np.maximum(live, 1e-12)
    out: list[int] = []
    removed = 0.0
    for i in np.argsort(-risk, kind="stable"):
        if risk[i] <= risk_max or live[i] <= 1e-9:
            break
        if removed + live[i] > lost0:
            continue
        removed += float(live[i])
        out.append(int(i))
    return out
