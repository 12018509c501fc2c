"""Reviews: whether a review changes the sample or is kept as the reviewer's annotation, and a sample as its
reviewer sees it.

When a sample has one assignee, that annotator's review changes the sample as any review does. When it has several,
each annotator's review is kept as their *annotation* (decision, task label, edited messages, tags, note) and the
sample stays pending, so the annotators cannot overwrite one another; a lead settles it (``core.team.adjudication``).

``review`` is what the Review page calls: it decides, in one place, whether a review is an annotation or a change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from core.store import DECISIONS, SampleEdit, SampleFilter, Store

__all__ = ["DECISIONS", "ReviewOutcome", "as_seen_by", "next_assignment", "records_annotation", "review"]


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
    edit: SampleEdit,
    *,
    user: str,
    action: str = "review",
) -> ReviewOutcome:
    """Apply a Review decision or edit (``edit``): as ``user``'s annotation on a shared sample, else to the sample itself.

    Both ways are checked against the version the reviewer saw and audited; permissions are the Store's (an
    annotator reviews only their assignments).

    Raises:
        ConflictError: the sample changed since ``expected_version``; nothing was written.
        PermissionDenied: ``user`` may not review this sample.
    """
    if records_annotation(store, sample_id, user):
        # an annotation decides or leaves the decision open; "pending" is no decision
        decided = replace(edit, status=None) if edit.status == "pending" else edit
        store.annotate(sample_id, expected_version, decided, user=user)
        return ReviewOutcome(expected_version, True)
    version = store.update_sample(sample_id, expected_version, edit, user=user, action=action)
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
