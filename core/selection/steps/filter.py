"""The filter step: which samples pass every condition on their heuristic signals, scores and review status."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from core.errors import RecipeError, brief
from core.selection.steps.arrays import as_floats
from core.store import STATUSES


def _truth(col: np.ndarray) -> np.ndarray:
    """True where a value is true (missing values are not)."""
    if col.dtype == bool:
        return col
    if col.dtype.kind in "iuf":
        return np.nan_to_num(col.astype(np.float64), nan=0.0) != 0
    return np.array([x is not None and not _is_nan(x) and bool(x) for x in col], dtype=bool)


def _missing(col: np.ndarray) -> np.ndarray:
    """True where a value is None or NaN."""
    if col.dtype == object:
        return np.array([v is None or (isinstance(v, float) and math.isnan(v)) for v in col], dtype=bool)
    if col.dtype.kind == "f":
        return np.isnan(col)
    return np.zeros(len(col), dtype=bool)


def filter_mask(columns: Mapping[str, Any], spec: Mapping[str, Any], *, n: int | None = None) -> np.ndarray:
    """Which samples pass every condition of a filter spec (True = keep).

    The spec (every key optional; the recipe's ``filter`` step has the same parameters):

        status: "any" | "not_rejected" | a status | a list of statuses   (needs column "status")
        min:    {column: lowest value kept}                              inclusive
        max:    {column: highest value kept}                             inclusive
        true:   [boolean columns that must be true]
        false:  [boolean columns that must be false]                     e.g. flags h_refusal, h_lang_mismatch
        in:     {column: [allowed values]}                               e.g. {h_answer_lang: [en, zh]}
        keep_missing: false                                              true: a missing value passes its condition

    A missing value (None, NaN: the signal was not computed) fails its condition unless ``keep_missing``.

    Args:
        columns: name -> per-sample array (numbers, booleans or objects with None), all of one length.
        spec: the conditions.
        n: number of samples, needed only when ``spec`` names no column.

    Returns:
        bool mask.

    Raises:
        RecipeError: a named column is not in ``columns``, or the status is not one of ``STATUSES``.
    """

    def col(name: str) -> np.ndarray:
        if name not in columns:
            known = ", ".join(sorted(columns)) or "none"
            raise RecipeError(f"no column '{name}' (known: {known}); run the scorer that writes it", step_name="filter")
        return np.asarray(columns[name])

    if n is None:
        n = len(next(iter(columns.values()))) if columns else 0
    keep = np.ones(n, dtype=bool)
    keep_missing = bool(spec.get("keep_missing", False))

    def apply(values: np.ndarray, ok: np.ndarray) -> None:
        missing = _missing(values)
        keep[:] &= np.where(missing, keep_missing, ok & ~missing)

    status = spec.get("status", "any")
    if status not in (None, "any"):
        wanted = [s for s in STATUSES if s != "rejected"] if status == "not_rejected" else status
        wanted = [wanted] if isinstance(wanted, str) else list(wanted)
        if bad := [s for s in wanted if s not in STATUSES]:
            raise RecipeError(
                f"unknown status {brief(bad[0])}; expected any, not_rejected or one of {', '.join(STATUSES)}"
            )
        keep &= np.isin(col("status").astype(str), wanted)
    for name, low in (spec.get("min") or {}).items():
        v = as_floats(col(name))
        with np.errstate(invalid="ignore"):
            apply(v, v >= low)
    for name, high in (spec.get("max") or {}).items():
        v = as_floats(col(name))
        with np.errstate(invalid="ignore"):
            apply(v, v <= high)
    for want, names in ((True, spec.get("true") or []), (False, spec.get("false") or [])):
        for name in names:
            v = col(name)
            apply(v, _truth(v) == want)
    for name, allowed in (spec.get("in") or {}).items():
        v = col(name)
        wanted = set(allowed)
        apply(v, np.fromiter((x in wanted for x in v.tolist()), dtype=bool, count=len(v)))
    return keep


def _is_nan(x) -> bool:
    return isinstance(x, float) and math.isnan(x)


def uncontaminated_mask(flags: np.ndarray, overlap: np.ndarray, min_overlap: float = 0.0) -> np.ndarray:
    """Which samples the step ``drop_contaminated`` keeps (True = keep): those not flagged ``contaminated``, and
    flagged ones whose ``contamination_overlap`` is below ``min_overlap``.

    Raises:
        RecipeError: samples with no flag: they were not checked, and keeping them would keep what may be an eval
            item (the message says how many and what to run).
    """
    flags = np.asarray(flags, dtype=object) if not isinstance(flags, np.ndarray) else flags
    missing = _missing(flags)
    if missing.any():
        raise RecipeError(
            f"{int(missing.sum()):,} samples were not checked against the eval sets; run the decontam scorer "
            "(`python -m core score --scorers decontam`, or the Score page)"
        )
    overlaps = np.nan_to_num(as_floats(overlap), nan=1.0)
    return ~(_truth(flags) & (overlaps >= min_overlap))


def cap_unknown_mask(categories: np.ndarray, max_share: float = 0.0) -> np.ndarray:
    """Which samples the step ``cap_unknown`` keeps (True = keep): every sample not in SliCK's Unknown category
    (samples without a category, for want of a short answer, stay), and the first Unknown ones in the current order
    up to ``max_share`` of what the step keeps (0: none)."""
    unknown = np.array([c == "Unknown" for c in categories], dtype=bool)
    others = int((~unknown).sum())
    allowed = math.floor(max_share * others / (1 - max_share) + 1e-9) if max_share < 1 else int(unknown.sum())
    keep = ~unknown
    keep[np.flatnonzero(unknown)[:allowed]] = True
    return keep
