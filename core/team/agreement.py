"""Agreement between annotators on the samples several of them decided: Cohen's and Fleiss' kappa, per pair, overall
and per class.

Agreement is measured on the samples with at least two decided annotations: Cohen's kappa for each pair of
annotators (scikit-learn) and Fleiss' kappa over everyone (statsmodels), for the decisions and for the task labels.
Kappa is 1 for perfect agreement, 0 for what chance alone would give, negative for less; it is undefined (None,
shown as "n/a") when the ratings leave nothing to chance, e.g. every rating is the same class.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Sequence
from itertools import combinations

from core.store import Store
from core.team.reviews import DECISIONS


def _undefined_to_none(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float | None:
    """Cohen's kappa of two raters' paired ratings (scikit-learn); None when undefined (no items, or one class only:
    agreement by chance is then certain and kappa divides by zero)."""
    if len(a) != len(b):
        raise ValueError("two raters must rate the same items")
    classes = sorted(set(a) | set(b))
    if not a or len(classes) < 2:
        return None
    from sklearn.metrics import cohen_kappa_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _undefined_to_none(cohen_kappa_score(list(a), list(b), labels=classes))


def fleiss_kappa(ratings: Sequence[Sequence[str]]) -> float | None:
    """Fleiss' kappa (statsmodels) of items each rated by the same number of raters: ``ratings[i]`` is item i's
    ratings. None when undefined (no items, fewer than two raters, or a single class throughout).

    Raises:
        ValueError: the items do not all have the same number of ratings.
    """
    if not ratings:
        return None
    raters = {len(r) for r in ratings}
    if len(raters) != 1:
        raise ValueError(f"Fleiss' kappa needs the same number of ratings per item, got {sorted(raters)}")
    classes = sorted({c for r in ratings for c in r})
    if raters.pop() < 2 or len(classes) < 2:
        return None
    import numpy as np
    from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

    table = np.array([[Counter(r)[c] for c in classes] for r in ratings], dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _undefined_to_none(statsmodels_fleiss(table, method="fleiss"))


def _overall(items: dict[str, list[str]]) -> dict:
    """Fleiss' kappa over the items rated by the most common number of raters (k); how many items were used."""
    rated = {sid: r for sid, r in items.items() if len(r) >= 2}
    if not rated:
        return {"kappa": None, "raters": None, "items": 0, "of": 0}
    counts = Counter(len(r) for r in rated.values())
    k = max(counts, key=lambda n: (counts[n], n))  # the most common count; of two as common, the larger
    used = [r for r in rated.values() if len(r) == k]
    return {"kappa": fleiss_kappa(used), "raters": k, "items": len(used), "of": len(rated)}


def _per_category(items: dict[str, list[str]]) -> list[dict]:
    """For each class: on how many items someone chose it, the share of those where everyone did, and Fleiss'
    kappa of that class against the rest (over the items with the most common number of raters)."""
    rated = {sid: r for sid, r in items.items() if len(r) >= 2}
    if not rated:
        return []
    k = _overall(rated)["raters"]
    out = []
    for c in sorted({c for r in rated.values() for c in r}):
        chosen = [r for r in rated.values() if c in r]
        binary = [["yes" if x == c else "no" for x in r] for r in rated.values() if len(r) == k]
        out.append(
            {
                "value": c,
                "items": len(chosen),
                "all_agree": sum(all(x == c for x in r) for r in chosen) / len(chosen),
                "kappa": fleiss_kappa(binary),
            }
        )
    return out


def agreement_of(annotations: Sequence[dict]) -> dict:
    """Agreement between annotators, from decided annotations [{sample_id, user_name, status, task_label}].

    Only samples with two or more decided annotations count. Labels count where the annotators gave one.

    Returns:
        {"samples": samples counted, "annotators": names,
         "pairs": [{a, b, decision_items, decision_agreement (observed share), decision_kappa, label_items,
                    label_agreement, label_kappa}] (None where undefined),
         "fleiss": {"decision": {kappa, raters, items, of}, "label": {...}}: "items" of "of" samples had the most
                   common number of raters and were used,
         "per_decision": [{value, items, all_agree, kappa}], "per_label": [...]}.
    """
    by_sample: dict[str, dict[str, tuple[str, str | None]]] = {}
    for a in annotations:
        if a["status"] in DECISIONS:
            by_sample.setdefault(a["sample_id"], {})[a["user_name"]] = (a["status"], a["task_label"])
    by_sample = {sid: r for sid, r in by_sample.items() if len(r) >= 2}
    names = sorted({n for r in by_sample.values() for n in r})
    pairs = []
    for a, b in combinations(names, 2):
        both = [r for r in by_sample.values() if a in r and b in r]
        if not both:
            continue
        da, db = [r[a][0] for r in both], [r[b][0] for r in both]
        labelled = [r for r in both if r[a][1] is not None and r[b][1] is not None]
        la, lb = [r[a][1] for r in labelled], [r[b][1] for r in labelled]
        pairs.append(
            {
                "a": a,
                "b": b,
                "decision_items": len(both),
                "decision_agreement": sum(x == y for x, y in zip(da, db)) / len(both),
                "decision_kappa": cohen_kappa(da, db),
                "label_items": len(labelled),
                "label_agreement": sum(x == y for x, y in zip(la, lb)) / len(labelled) if labelled else None,
                "label_kappa": cohen_kappa(la, lb),
            }
        )
    decisions = {sid: [d for d, _ in r.values()] for sid, r in by_sample.items()}
    labels = {sid: [lab for _, lab in r.values() if lab is not None] for sid, r in by_sample.items()}
    return {
        "samples": len(by_sample),
        "annotators": names,
        "pairs": pairs,
        "fleiss": {"decision": _overall(decisions), "label": _overall(labels)},
        "per_decision": _per_category(decisions),
        "per_label": _per_category(labels),
    }


def agreement(store: Store) -> dict:
    """Agreement between the workspace's annotators (see ``agreement_of``), adjudicated samples included."""
    return agreement_of(store.decided_annotations(min_annotators=2))


# --- for reading ---------------------------------------------------------------------------------------------------


def kappa_text(value: float | None) -> str:
    """A kappa for a table: two decimals, or "n/a" when it is undefined (e.g. every rating the same)."""
    return "n/a" if value is None else f"{value:.2f}"


def share_text(value: float | None) -> str:
    """A share of samples as a percentage, or "n/a" when there was nothing to share out."""
    return "n/a" if value is None else f"{value:.0%}"


def pairs_table(result: dict) -> list[dict]:
    """``agreement_of``'s pairs of annotators as rows to read: Cohen's kappa and the observed agreement, for the
    decisions and for the labels (higher is better for both)."""
    return [
        {
            "annotators": f"{p['a']} · {p['b']}",
            "samples": p["decision_items"],
            "decisions agree": share_text(p["decision_agreement"]),
            "decision kappa": kappa_text(p["decision_kappa"]),
            "labelled": p["label_items"],
            "labels agree": share_text(p["label_agreement"]),
            "label kappa": kappa_text(p["label_kappa"]),
        }
        for p in result["pairs"]
    ]


def categories_table(result: dict) -> list[dict]:
    """``agreement_of``'s decisions and labels, one row each, as rows to read: on how many samples someone chose
    it, the share of those where everyone did, and its kappa against the rest (higher is better)."""
    return [
        {
            "kind": kind,
            "value": row["value"],
            "samples": row["items"],
            "everyone agrees": share_text(row["all_agree"]),
            "kappa (vs the rest)": kappa_text(row["kappa"]),
        }
        for kind, rows in (("decision", result["per_decision"]), ("label", result["per_label"]))
        for row in rows
    ]
