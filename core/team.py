"""Team work: samples given out to annotators with overlap, their annotations, agreement, adjudication, progress.

A lead gives the samples of a filter to annotators, each sample to ``k`` of them (``distribute``). When a sample has
one assignee, that annotator's review changes the sample as any review does. When it has several, each annotator's
review is kept as their *annotation* (decision, task label, edited messages, tags, note) and the sample stays pending,
so the annotators cannot overwrite one another; a lead then compares the annotations side by side and picks one or
writes a merged version (``adjudicate``), which is applied to the sample as a versioned, audited change.

Agreement is measured on the samples with at least two decided annotations: Cohen's kappa for each pair of
annotators (scikit-learn) and Fleiss' kappa over everyone (statsmodels), for the decisions and for the task labels.
Kappa is 1 for perfect agreement, 0 for what chance alone would give, negative for less; it is undefined (None,
shown as "n/a") when the ratings leave nothing to chance, e.g. every rating is the same class.

``review`` is what the Review page calls: it decides, in one place, whether a review is an annotation or a change.
``annotator_progress`` gives per-annotator progress and throughput (the Activity page reads it).
"""

from __future__ import annotations

import difflib
import json
import math
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

from core.errors import ConflictError, NotFound, WinnowError
from core.store import SampleFilter, Store

DECISIONS = ("accepted", "rejected")
PROGRESS_HOURS = 24  # the window of ``annotator_progress``'s recent throughput


# ---------------------------------------------------------------------------------------------------- assigning


def distribute(
    store: Store,
    f: SampleFilter | None,
    annotators: Sequence[str],
    *,
    overlap: int = 1,
    limit: int | None = None,
    only_unassigned: bool = True,
    by: str,
) -> dict:
    """Give each sample matching ``f`` to ``overlap`` distinct annotators, round-robin, so loads stay balanced.

    The annotators with the fewest assignments so far come first in the rotation (ties keep the given order), so
    that over several calls, too, nobody carries more than their share. Deterministic for the same workspace state.

    Args:
        f: which samples (status, cluster, task label, selection ...); None = all.
        overlap: annotators per sample (k); samples with k >= 2 are reviewed as annotations and adjudicated.
        limit: at most this many samples, the first in import order.
        only_unassigned: leave samples that already have an assignee alone.

    Returns:
        {"samples", "assignments", "per_user": {name: new assignments}} (see ``Store.distribute``).
    """
    names = list(dict.fromkeys(n.strip() for n in annotators if n and n.strip()))
    # A misspelt selection, or a cluster without a map, is an error, not a filter that quietly matches nothing.
    if f is not None and f.selection is not None:
        store.get_selection(f.selection, with_log=False)
    if f is not None and f.cluster is not None and store.get_map() is None:
        raise NotFound("no map yet, so no clusters: compute one on the Explore page (or `python -m core map`)")
    loads = store.assignment_loads()
    ordered = sorted(names, key=lambda n: (loads.get(n, 0), names.index(n)))
    return store.distribute(f, ordered, overlap=overlap, limit=limit, only_unassigned=only_unassigned, by=by)


def unassign(store: Store, f: SampleFilter | None, annotators: Sequence[str] | None = None, *, by: str) -> int:
    """Take back the open assignments (pending, not decided yet) of the samples matching ``f``; returns how many."""
    return store.unassign(f, annotators, by=by)


# ---------------------------------------------------------------------------------------------------- reviewing


@dataclass(frozen=True)
class ReviewOutcome:
    """What a review did.

    Attributes:
        version: the sample's version afterwards (unchanged when ``annotated``).
        annotated: True when the review was kept as the reviewer's annotation and the sample was left as it was.
    """

    version: int
    annotated: bool


def records_annotation(store: Store, sample_id: str, user: str) -> bool:
    """Whether ``user``'s review of this sample is kept as their annotation: they are an annotator and the sample
    has several assignees. A lead's or admin's review, or the review of a sole assignee, changes the sample."""
    return store.role_of(user) == "annotator" and len(store.assignees(sample_id)) >= 2


def review(
    store: Store,
    sample_id: str,
    expected_version: int,
    *,
    user: str,
    status: str | None = None,
    tags: Sequence[str] | None = None,
    note: str | None = None,
    messages: list[dict] | None = None,
    task_label: str | None = None,
    action: str = "review",
) -> ReviewOutcome:
    """Apply a Review decision or edit: as ``user``'s annotation on a shared sample, else to the sample itself.

    Both ways are checked against the version the reviewer saw and audited; permissions are the Store's (an
    annotator reviews only their assignments).

    Raises:
        ConflictError: the sample changed since ``expected_version``; nothing was written.
        PermissionDenied: ``user`` may not review this sample.
    """
    if records_annotation(store, sample_id, user):
        store.annotate(
            sample_id,
            expected_version,
            user=user,
            status=status if status != "pending" else None,
            tags=tags,
            note=note,
            messages=messages,
            task_label=task_label,
        )
        return ReviewOutcome(expected_version, True)
    version = store.update_sample(
        sample_id,
        expected_version,
        user=user,
        status=status,
        tags=tags,
        note=note,
        messages=messages,
        task_label=task_label,
        action=action,
    )
    return ReviewOutcome(version, False)


def as_seen_by(store: Store, sample: dict, user: str) -> dict:
    """A sample as ``user`` reviews it: with ``assignees``, ``shared`` (their review becomes an annotation) and,
    when they annotated it already, their ``annotation`` laid over the sample's tags, note, label and messages."""
    assignees = store.assignees(sample["id"])
    shared = store.role_of(user) == "annotator" and len(assignees) >= 2
    out = {**sample, "assignees": assignees, "shared": shared, "annotation": None}
    mine = store.annotation(sample["id"], user) if shared else None
    if mine is not None:
        out.update(annotation=mine, tags=mine["tags"], note=mine["note"])
        if mine["messages"] is not None:
            out["messages"] = mine["messages"]
        if mine["task_label"] is not None:
            out.update(task_label=mine["task_label"], task_label_source="confirmed")
    return out


def next_assignment(store: Store, user: str, f: SampleFilter | None = None, *, skip: Sequence[str] = ()) -> dict | None:
    """An annotator's next sample to review (see ``Store.next_assignment``), as they see it (``as_seen_by``)."""
    sample = store.next_assignment(user, f, skip=skip)
    return None if sample is None else as_seen_by(store, sample, user)


def annotator_progress(store: Store, *, user: str | None = None) -> list[dict]:
    """Per annotator (every annotator account, and anyone else with assignments; only ``user`` when given), by name:

    {annotator, assigned, done (decided by them), remaining (their queue), settled (decided by someone else: a lead's
    review or adjudication), done_24h (done in the last 24 hours), per_hour (done_24h / 24; higher = faster),
    last_done (a UTC timestamp, None when nothing yet)}.
    """
    rows = {r["user"]: r for r in store.assignment_progress(hours=PROGRESS_HOURS, user=user)}
    if user is not None:
        names = {user}
    else:
        names = set(rows) | {u["name"] for u in store.users() if u["role"] == "annotator" and not u["disabled"]}
    out = []
    for name in sorted(names):
        r = rows.get(name, {"assigned": 0, "done": 0, "remaining": 0, "done_recent": 0, "last_done": None})
        out.append(
            {
                "annotator": name,
                "assigned": int(r["assigned"]),
                "done": int(r["done"]),
                "remaining": int(r["remaining"]),
                "settled": max(int(r["assigned"]) - int(r["done"]) - int(r["remaining"]), 0),
                "done_24h": int(r["done_recent"]),
                "per_hour": int(r["done_recent"]) / PROGRESS_HOURS,
                "last_done": r["last_done"],
            }
        )
    return out


@dataclass(frozen=True)
class Progress:
    """How far someone's reviewing is: ``done`` of ``total``, in words (``text``), with ``remaining`` to go."""

    done: int
    total: int
    remaining: int
    text: str

    @property
    def fraction(self) -> float:
        return min(self.done / self.total, 1.0) if self.total else 0.0


def progress_of(store: Store, name: str, role: str) -> Progress:
    """What the sidebar and Review say of progress: an annotator's own assignments ("2 of 30 of your assignments"),
    or, for leads and admins, the reviews of the whole workspace ("2 of 342 reviewed")."""
    if role == "annotator":
        mine = (annotator_progress(store, user=name) or [{"assigned": 0, "done": 0, "remaining": 0}])[0]
        done, total, remaining = mine["done"], mine["assigned"], mine["remaining"]
        return Progress(done, total, remaining, f"{done:,} of {total:,} of your assignments")
    total = store.count()
    done = store.count(SampleFilter(status=["accepted", "rejected"]))
    return Progress(done, total, total - done, f"{done:,} of {total:,} reviewed")


# ---------------------------------------------------------------------------------------------------- agreement


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


# ---------------------------------------------------------------------------------------------------- adjudication


def differences(annotations: Sequence[dict]) -> list[str]:
    """Where decided annotations of one sample differ: any of "decision", "label", "answer" (edited messages)."""

    def edit(a):  # JSON text (decided_annotations) or parsed messages (annotations_of); None = unedited
        m = a["messages"]
        return m if m is None or isinstance(m, str) else json.dumps(m, ensure_ascii=False)

    out = []
    if len({a["status"] for a in annotations}) > 1:
        out.append("decision")
    if len({a["task_label"] for a in annotations}) > 1:
        out.append("label")
    if len({edit(a) for a in annotations}) > 1:
        out.append("answer")
    return out


def adjudication_queue(store: Store) -> list[dict]:
    """Pending samples with two or more decided annotations, those where the annotators disagree first (then in
    import order): [{sample_id, annotators, decisions {name: status}, labels {name: label}, differences}]."""
    grouped: dict[str, list[dict]] = {}
    for a in store.decided_annotations(min_annotators=2, pending_only=True):
        grouped.setdefault(a["sample_id"], []).append(a)
    queue = [
        {
            "sample_id": sid,
            "annotators": [a["user_name"] for a in group],
            "decisions": {a["user_name"]: a["status"] for a in group},
            "labels": {a["user_name"]: a["task_label"] for a in group},
            "differences": differences(group),
        }
        for sid, group in grouped.items()
    ]
    return sorted(queue, key=lambda item: not item["differences"])  # stable: import order within each part


def adjudicate(
    store: Store,
    sample_id: str,
    expected_version: int,
    *,
    user: str,
    status: str,
    task_label: str | None = None,
    messages: list[dict] | None = None,
    note: str | None = None,
    tags: Sequence[str] | None = None,
    picked: str | None = None,
) -> int:
    """Settle a shared sample: apply the decision (and label, messages, note, tags when given) to the sample, based
    on the version the lead saw, and record the adjudication in the audit log.

    Args:
        picked: the annotator whose version this is, or None for a merged one.

    Returns:
        The sample's new version.

    Raises:
        PermissionDenied: ``user`` may not adjudicate. ConflictError: the sample changed meanwhile; nothing written.
    """
    store.authorize(user, "adjudicate")
    if status not in DECISIONS:
        raise WinnowError(f"an adjudication decides the sample: accepted or rejected, not {status!r}")
    # The edit, its record and the annotators it names are one transaction: never a settled sample without its
    # adjudication in the log.
    return store.adjudicate_sample(
        sample_id,
        expected_version,
        user=user,
        status=status,
        task_label=task_label,
        messages=messages,
        note=note,
        tags=tags,
        picked=picked,
    )


def pick(store: Store, sample_id: str, expected_version: int, annotator: str, *, user: str) -> int:
    """Adjudicate a sample with one annotator's version as it stands (decision, label, messages, tags, note).

    Raises:
        WinnowError: that annotator has not decided on this sample.
    """
    chosen = store.annotation(sample_id, annotator)
    if chosen is None or chosen["status"] is None:
        raise WinnowError(f"{annotator} has not decided on sample {sample_id}: nothing to pick")
    return adjudicate(
        store,
        sample_id,
        expected_version,
        user=user,
        status=chosen["status"],
        task_label=chosen["task_label"],
        messages=chosen["messages"],
        note=chosen["note"],
        tags=chosen["tags"],
        picked=annotator,
    )


def settle_agreed(store: Store, *, user: str, limit: int | None = None) -> int:
    """Adjudicate every pending shared sample on which all its annotators agree (same decision, label and answer)
    with that common version. Returns how many were settled; a sample changed meanwhile is left for later."""
    settled = 0
    for item in adjudication_queue(store):
        if item["differences"] or (limit is not None and settled >= limit):
            continue
        try:
            version = store.get_sample(item["sample_id"])["version"]
            pick(store, item["sample_id"], version, item["annotators"][0], user=user)
        except ConflictError:
            continue
        settled += 1
    return settled


# ---------------------------------------------------------------------------------------------------- answers


def transcript(messages: list[dict]) -> list[str]:
    """A conversation as numbered lines, for diffs."""
    lines = []
    for i, m in enumerate(messages):
        content = m.get("content")
        lines.append(f"[{i + 1}] {m.get('role')}:")
        lines += (content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)).splitlines()
    return lines


def messages_diff(before: list[dict], after: list[dict], labels: tuple[str, str] = ("original", "edited")) -> str:
    """A unified diff of two conversations ("" when they are the same)."""
    return "\n".join(
        difflib.unified_diff(transcript(before), transcript(after), fromfile=labels[0], tofile=labels[1], lineterm="")
    )


def final_answer(messages: list[dict]) -> str:
    """The text of the last assistant message ("" when there is none or it is not text)."""
    for m in reversed(messages):
        if m.get("role") == "assistant":
            return m["content"] if isinstance(m.get("content"), str) else ""
    return ""


def with_answer(messages: list[dict], answer: str) -> list[dict]:
    """The conversation with its last assistant message's text replaced by ``answer`` (appended when none)."""
    out = [dict(m) for m in messages]
    for m in reversed(out):
        if m.get("role") == "assistant":
            m["content"] = answer
            return out
    return [*out, {"role": "assistant", "content": answer}]
