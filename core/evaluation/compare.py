"""From held-out losses to the comparison a lead reads: does the candidate selection train a better model than random
data of the same size?

Each run (the candidate, each random subset) gives, per eval sample, the summed negative log-likelihood of its
assistant tokens and how many there are. A set's loss is the mean per-token NLL over all its assistant tokens (lower is
better; perplexity is its exp). The candidate is compared with the mean of the random runs two ways:
- a paired bootstrap over eval samples (``paired_bootstrap``): every run is scored on the same resampled samples, so
  the interval shows how much the difference depends on which eval samples there are;
- the spread across seeds (``seed_spread``): how much the random baseline itself moves from one draw to another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Interval:
    """An estimate with its interval (``low`` to ``high``)."""

    estimate: float
    low: float
    high: float


@dataclass(frozen=True)
class EvalLosses:
    """One run's losses on one eval set.

    Attributes:
        nll: per eval sample, the summed NLL of its assistant tokens (nats).
        tokens: per eval sample, how many assistant tokens were scored (the same for every run: one tokenizer).
    """

    nll: np.ndarray
    tokens: np.ndarray

    def loss(self) -> float:
        """The mean per-token NLL over the whole set (lower is better)."""
        return float(self.nll.sum() / self.tokens.sum())


def paired_bootstrap(
    candidate: EvalLosses, baselines: Sequence[EvalLosses], *, n_boot: int = 2000, seed: int = 0, level: float = 0.95
) -> Interval:
    """The candidate's loss minus the baselines' mean loss, with a percentile interval over ``n_boot`` resamples of
    the eval samples, paired (one resample serves every run). Negative = the candidate is better.

    Raises:
        ValueError: no baseline, or runs scored on different eval samples or token counts.
    """
    if not baselines:
        raise ValueError("a comparison needs at least one baseline run")
    n = len(candidate.nll)
    for b in baselines:
        if len(b.nll) != n or not np.array_equal(b.tokens, candidate.tokens):
            raise ValueError("the runs were scored on different eval samples: compare runs of one evaluation")
    nll = np.stack([candidate.nll, *(b.nll for b in baselines)]).astype(np.float64)  # (runs, n)
    tokens = candidate.tokens.astype(np.float64)
    # A resample is a count per eval sample; its loss per run is the count-weighted NLL over the weighted tokens.
    rng = np.random.default_rng(seed)
    counts = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(n_boot)]).astype(np.float64)
    losses = (counts @ nll.T) / (counts @ tokens)[:, None]  # (n_boot, runs)
    diffs = losses[:, 0] - losses[:, 1:].mean(axis=1)
    estimate = candidate.loss() - float(np.mean([b.loss() for b in baselines]))
    tail = (1 - level) / 2
    low, high = np.quantile(diffs, [tail, 1 - tail])
    return Interval(estimate, float(low), float(high))


def seed_spread(values: Sequence[float], *, level: float = 0.95) -> Interval:
    """The mean of one quantity over runs with different seeds (e.g. the random baselines' losses) with its t
    interval; with one run the interval is that value alone (no spread can be measured)."""
    from scipy import stats

    x = np.asarray(values, dtype=np.float64)
    mean = float(x.mean())
    if len(x) < 2:
        return Interval(mean, mean, mean)
    half = float(stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)))
    return Interval(mean, mean - half, mean + half)
