import numpy as np

from pacing import CampaignSnapshot, Pacer
from pacing.types import DialObserved, LiveAnswerObserved, TalkObserved, WrapupObserved


def train(pacer: Pacer, t0: float = 0.0, dials: int = 600, p_live: float = 0.3, seed: int = 0) -> float:
    """Feed a pacer a realistic history (live 30 %, talk ~150 s, wrap ~30 s) and an abandon budget."""
    rng = np.random.default_rng(seed)
    t = t0
    for i in range(dials):
        t += 1.0
        if rng.random() < p_live:
            pacer.observe(DialObserved(at=t, outcome="live", ring_s=float(rng.uniform(5, 14)), amd_delay_s=1.6))
            pacer.observe(LiveAnswerObserved(at=t, abandoned=False, wait_s=0.0))
        else:
            pacer.observe(DialObserved(at=t, outcome="no_answer", ring_s=20.0))
        if i % 3 == 0:
            pacer.observe(TalkObserved(at=t, talk_s=float(rng.lognormal(4.66, 0.83))))
            pacer.observe(WrapupObserved(at=t, wrap_s=float(rng.lognormal(3.29, 0.47))))
    return t


def snap(now: float, ready: int, logged_in: int = 20, **kw: object) -> CampaignSnapshot:
    arrays = {k: np.asarray(v, dtype=float) for k, v in kw.items() if k.endswith("_elapsed")}
    rest = {k: v for k, v in kw.items() if not k.endswith("_elapsed")}
    return CampaignSnapshot(now=now, ready_agents=ready, logged_in_agents=logged_in, **arrays, **rest)  # type: ignore[arg-type]
