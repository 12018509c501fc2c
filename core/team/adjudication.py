"""Adjudication: a lead compares the annotations of a shared sample side by side and settles it with one of them
(``pick``) or a merged version (``Store.adjudicate_sample``), applied to the sample as a versioned, audited change; the queue of
samples waiting for it; the answer a merged version edits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from core.errors import ConflictError, WinnowError
from core.store import SampleEdit, Store


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


def pick(store: Store, sample_id: str, expected_version: int, annotator: str, *, user: str) -> int:
    """Adjudicate a sample with one annotator's version as it stands (decision, label, messages, tags, note).

    Raises:
        WinnowError: that annotator has not decided on this sample.
    """
    chosen = store.annotation(sample_id, annotator)
    if chosen is None or chosen["status"] is None:
        raise WinnowError(f"{annotator} has not decided on sample {sample_id}: nothing to pick")
    return store.adjudicate_sample(
        sample_id,
        expected_version,
        SampleEdit(
            status=chosen["status"],
            task_label=chosen["task_label"],
            messages=chosen["messages"],
            note=chosen["note"],
            tags=chosen["tags"],
        ),
        user=user,
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
