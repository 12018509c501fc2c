"""What the Balance page computes: distributions of the accepted set against the whole workspace, how uneven they are,
and the inputs of the mixture planner. Every count is a SQL GROUP BY in the store; this module only shapes them.

Imbalance measures, over the counts of one dimension (task label, language, ...):

- normalized entropy: H(p) / log(k) over the k values present, in [0, 1]; 1 = perfectly even, near 0 = one value
  holds almost everything. Higher is more balanced.
- max/min ratio: the largest count over the smallest (present) one; 1 = even. Lower is more balanced.
- below threshold: the values with fewer than ``threshold`` samples, which a mixture cannot lean on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from core.store import BALANCE_DIMENSIONS, SampleFilter, Store

DIMENSION_TITLES = {
    "task_label": "Task label",
    "language": "Language (h_prompt_lang)",
    "source": "Source",
    "cluster": "Cluster (map)",
    "answer_length": "Answer length (characters)",
    "ifd": "IFD (easy → hard)",
    "knowledge": "Known to the model (SliCK)",
    "contamination": "In an eval set",
    "status": "Status",
}
# The dimensions whose bars open their samples (``drill_filter``).
DRILL_DIMENSIONS = ("task_label", "language", "source", "cluster", "status")
ACCEPTED = SampleFilter(status="accepted")
# Pools a mixture plan can draw from.
POOLS = {"accepted": ACCEPTED, "not rejected": SampleFilter(status="not_rejected"), "all": None}


@dataclass(frozen=True)
class Imbalance:
    """How uneven one distribution is (see the module docstring)."""

    values: int
    normalized_entropy: float | None
    max_min_ratio: float | None
    below_threshold: tuple[str, ...]


def imbalance(counts: Mapping[str, int], threshold: int = 50) -> Imbalance:
    """Imbalance measures of ``{value: count}``; values with a zero count are ignored (None: nothing to measure)."""
    present = {k: int(v) for k, v in counts.items() if v > 0}
    total = sum(present.values())
    if not present:
        return Imbalance(0, None, None, ())
    if len(present) == 1:
        entropy = 1.0  # one value is trivially "even"; the count says the rest
    else:
        h = -sum(v / total * math.log(v / total) for v in present.values())
        entropy = h / math.log(len(present))
    ratio = max(present.values()) / min(present.values())
    below = tuple(sorted(k for k, v in present.items() if v < threshold))
    return Imbalance(len(present), round(entropy, 4), round(ratio, 2), below)


def compare(store: Store, dimension: str) -> list[dict]:
    """The accepted set beside the whole workspace for one dimension: [{value, all, accepted, share_all,
    share_accepted}] (shares in [0, 1]), largest in the workspace first. Raises NotFound when the dimension needs a
    scorer (language, ifd) or a map (cluster) the workspace does not have yet."""
    if dimension not in BALANCE_DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    everything = dict(store.distribution(dimension))
    accepted = dict(store.distribution(dimension, ACCEPTED))
    n_all, n_acc = sum(everything.values()) or 1, sum(accepted.values()) or 1
    order = sorted(everything, key=lambda v: (-everything[v], str(v)))
    if dimension in ("answer_length", "ifd"):  # buckets read best in their own order
        order = sorted(everything)
    return [
        {
            "value": v,
            "all": everything[v],
            "accepted": accepted.get(v, 0),
            "share_all": everything[v] / n_all,
            "share_accepted": accepted.get(v, 0) / n_acc,
        }
        for v in order
    ]


def label_by_language(store: Store, f: SampleFilter | None = None) -> list[dict]:
    """[{task_label, language, samples}] for a sunburst of label × language (needs the heuristics scorer)."""
    return [
        {"task_label": a, "language": b, "samples": n} for a, b, n in store.distribution("task_label", f, by="language")
    ]


def drill_filter(store: Store, dimension: str, value: str, *, accepted_only: bool = False) -> SampleFilter:
    """The filter behind one bar of a distribution, for a page of its samples (``DRILL_DIMENSIONS``). Bucketed
    dimensions (answer length, IFD) raise ValueError: their bars are ranges, not values a filter names."""
    status = "accepted" if accepted_only else None
    if dimension == "task_label":
        return SampleFilter(status=status, task_label=value)
    if dimension == "language":
        return SampleFilter(status=status, language=value)
    if dimension == "cluster":
        return SampleFilter(status=status, cluster=int(value))
    if dimension == "source":
        return SampleFilter(status=status, source_ids=[s["source_id"] for s in store.sources() if s["name"] == value])
    if dimension == "status":
        return SampleFilter(status=value)
    raise ValueError(f"no drill-down for {dimension!r}")
