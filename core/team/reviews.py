"""Reviews: whether a review changes the sample or is kept as the reviewer's annotation, a sample as its reviewer
sees it, and the review queue a link names.

When a sample has one assignee, that annotator's review changes the sample as any review does. When it has several,
each annotator's review is kept as their *annotation* (decision, task label, edited messages, tags, note) and the
sample stays pending, so the annotators cannot overwrite one another; a lead settles it (``core.team.adjudication``).

``review`` is what the Review page calls: it decides, in one place, whether a review is an annotation or a change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from core.errors import NotFound
from core.store import DECISIONS, SampleEdit, SampleFilter, Store

__all__ = [
    "DECISIONS",
    "SNAPSHOT_FIELDS",
    "ReviewOutcome",
    "as_seen_by",
    "linked_queue",
    "next_assignment",
    "records_annotation",
    "review",
    "snapshot",
]

# What the Review page keeps of a sample while it shows it: enough to draw it and to save against its version.
SNAPSHOT_FIELDS = (
    "id",
    "version",
    "status",
    "tags",
    "note",
    "messages",
    "tools",
    "source",
    "source_index",
    "format",
    "dup_of",
    "scores",
    "updated_by",
    "updated_at",
    "task_label",
    "task_label_source",
    "task_label_reason",
)


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


def snapshot(store: Store, sample: dict, user: str) -> dict:
    """What a reviewer works from: ``sample`` as ``user`` sees it (``as_seen_by``: on a sample several annotators
    share, an annotator sees and edits their own annotation of it, never the others').

    Returns:
        {"user", the ``SNAPSHOT_FIELDS``, "shared", "annotation", "assignees"}.
    """
    seen = as_seen_by(store, sample, user)
    shared = {"shared": seen["shared"], "annotation": seen["annotation"], "assignees": seen["assignees"]}
    return {"user": user, **{k: seen[k] for k in SNAPSHOT_FIELDS}, **shared}


def linked_queue(store: Store, *, cluster: str | None = None, selection: str | None = None) -> dict | None:
    """The review queue a link names: a map cluster (``?cluster=N``) or a saved selection (``?selection=NAME``), as
    they come from the address (text); a cluster wins when both are given.

    Returns:
        {"filter": ``SampleFilter`` fields, "label": the queue in a few words}, or None when the link names neither.

    Raises:
        NotFound: the link names a cluster or a selection the workspace does not have (a typo, a deleted selection,
            no map yet); the message says which, in one line.
    """
    if cluster is not None:
        if not cluster.strip().lstrip("-").isdigit():
            raise NotFound(f"The link names cluster {cluster!r}: a cluster is a number.")
        if store.get_map() is None:
            raise NotFound(f"The link names cluster {cluster}, but this workspace has no map yet.")
        return {"filter": {"cluster": int(cluster)}, "label": f"cluster {int(cluster)}"}
    if selection is not None:
        if selection not in {s["name"] for s in store.selections()}:
            raise NotFound(f"The link names the selection {selection!r}, which this workspace does not have.")
        return {"filter": {"selection": selection}, "label": f"the selection {selection}"}
    return None


def next_assignment(store: Store, user: str, f: SampleFilter | None = None, *, skip: Sequence[str] = ()) -> dict | None:
    """An annotator's next sample to review (see ``Store.next_assignment``), as they see it (``as_seen_by``)."""
    sample = store.next_assignment(user, f, skip=skip)
    return None if sample is None else as_seen_by(store, sample, user)
