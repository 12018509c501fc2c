"""Task labels: the taxonomy (``meta`` row ``taxonomy``) and the ``samples`` columns ``task_label``,
``task_label_confidence``, ``task_label_source`` and ``task_label_reason``. A machine suggestion is no curation
state (no version, no audit); a person's confirmation is, and is versioned and audited like any edit.
``core/labels.py`` makes the suggestions."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pyarrow as pa

from core.errors import ConflictError, NotFound, WinnowError
from core.store.base import _now, _one
from core.store.filters import SampleFilter


class Labels:
    """The taxonomy, suggested labels, and confirming or clearing labels one at a time or over a filter."""

    def taxonomy(self) -> list[dict] | None:
        """The workspace's task-label taxonomy (``meta['taxonomy']``), or None when none was saved yet."""
        value = self._meta(self.cursor(), "taxonomy")
        return None if value is None else json.loads(value)

    def set_taxonomy(self, taxonomy: list[dict], *, user: str, relabel: dict[str, str | None] | None = None) -> int:
        """Save the taxonomy and, in the same transaction, relabel samples: ``relabel`` maps old label -> new label
        (a rename or a merge) or None (a removed label). Confirmed labels change as versioned, audited edits;
        suggestions are just renamed (or cleared), since they are recomputed anyway.

        Returns:
            How many samples were relabelled.
        """
        now = _now()
        relabel = dict(relabel or {})

        def body(cur):
            self.authorize(user, "taxonomy", cur=cur)
            cur.execute(
                "INSERT OR REPLACE INTO meta VALUES ('taxonomy', ?)", [json.dumps(taxonomy, ensure_ascii=False)]
            )
            changed = 0
            for old, new in relabel.items():
                if old == new:
                    continue
                confirmed = self._update_versioned_in(
                    cur,
                    "task_label = ?, task_label_source = CASE WHEN ? IS NULL THEN NULL ELSE task_label_source END",
                    [new, new],
                    "task_label = ? AND task_label_source = 'confirmed'",
                    [old],
                    now=now,
                    user=user,
                )
                self._log_changes_in(
                    cur, now, user, "relabel", [(sid, "task_label", old, new, v) for sid, v in confirmed]
                )
                suggested = cur.execute(
                    "UPDATE samples SET task_label = ?, task_label_confidence = CASE WHEN ? IS NULL THEN NULL ELSE "
                    "task_label_confidence END, task_label_source = CASE WHEN ? IS NULL THEN NULL ELSE "
                    "task_label_source END WHERE task_label = ? AND coalesce(task_label_source, '') <> 'confirmed' "
                    "RETURNING id",
                    [new, new, new, old],
                ).fetchall()
                changed += len(confirmed) + len(suggested)
            cur.execute(
                "INSERT INTO events (sample_id, ts, user_name, action, field, before, after, version) "
                "VALUES (NULL, ?, ?, 'taxonomy', 'taxonomy', NULL, ?, NULL)",
                [now, user, json.dumps({"labels": [t["name"] for t in taxonomy], "relabel": relabel})],
            )
            return changed

        return self._retrying(body)

    def set_suggested_labels(
        self, sample_ids: Sequence[str], labels: Sequence[str], confidences, reasons: Sequence[str] | None = None
    ) -> int:
        """Write machine suggestions and why each was made (not curation state: no version, no audit). Confirmed
        labels are never overwritten. Returns how many samples got a suggestion."""
        table = pa.table(
            {
                "id": pa.array(list(sample_ids), pa.string()),
                "label": pa.array(list(labels), pa.string()),
                "confidence": pa.array([float(c) for c in confidences], pa.float64()),
                "reason": pa.array(list(reasons) if reasons is not None else [None] * len(sample_ids), pa.string()),
            }
        )

        def body(cur):
            cur.register("new_labels", table)
            try:
                return len(
                    cur.execute(
                        "UPDATE samples SET task_label = n.label, task_label_confidence = n.confidence, "
                        "task_label_source = 'suggested', task_label_reason = n.reason FROM new_labels n "
                        "WHERE samples.id = n.id "
                        "AND coalesce(samples.task_label_source, '') <> 'confirmed' RETURNING samples.id"
                    ).fetchall()
                )
            finally:
                cur.unregister("new_labels")

        return self._retrying(body)

    def task_labels_of(self, sample_ids: Sequence[str]) -> dict[str, dict]:
        """The task label of each sample and how it came: {id: {"task_label", "task_label_source",
        "task_label_confidence", "task_label_reason"}} (the reason of a suggestion; a confirmed label has none)."""
        cur = self.cursor()
        rows = cur.execute(
            "SELECT id, task_label, task_label_source, task_label_confidence, CASE WHEN task_label_source = "
            "'suggested' THEN task_label_reason END FROM samples WHERE id IN (SELECT unnest(?::VARCHAR[]))",
            [list(sample_ids)],
        ).fetchall()
        keys = ("task_label", "task_label_source", "task_label_confidence", "task_label_reason")
        return {r[0]: dict(zip(keys, r[1:], strict=True)) for r in rows}

    def set_task_label_many(
        self, sample_ids: Sequence[str], label: str, *, user: str, overwrite_confirmed: bool = False
    ) -> int:
        """Confirm ``label`` as the task label of many samples (bulk actions); each change is versioned and audited.

        A label someone confirmed as another label is kept unless ``overwrite_confirmed``; ``confirm_task_label``
        says how many were kept.

        Returns:
            How many samples changed (a sample already confirmed with this label is not a change).
        """
        ids = list(dict.fromkeys(sample_ids))
        if not ids or not label:
            return 0
        return self.confirm_task_label(
            SampleFilter(ids=ids), label, user=user, overwrite_confirmed=overwrite_confirmed
        )["changed"]

    def label_preview(self, f: SampleFilter | None, label: str | None = None) -> dict[str, int]:
        """What a bulk label change over the samples matching ``f`` would touch, counted before it is made.

        Returns:
            {"matching": samples matching ``f``, "confirmed": those whose label a person confirmed, "already": those
            confirmed as ``label``, "confirmed_other": those confirmed as another label (``confirm_task_label``
            keeps them unless told to overwrite)}.
        """
        where, params, used, _ = self._filter_sql(f)
        q = (
            "SELECT count(*), count(*) FILTER (s.task_label_source = 'confirmed'), "
            "count(*) FILTER (s.task_label_source = 'confirmed' AND s.task_label = ?), "
            "count(*) FILTER (s.task_label_source = 'confirmed' AND s.task_label IS DISTINCT FROM ?) "
            f"FROM {self._from(used)} WHERE {where}"
        )
        row = self.cursor().execute(q, [label, label, *params]).fetchall()[0]
        return dict(zip(("matching", "confirmed", "already", "confirmed_other"), (int(v) for v in row)))

    def confirm_task_label(
        self, f: SampleFilter | None, label: str, *, user: str, overwrite_confirmed: bool = False
    ) -> dict[str, int]:
        """Confirm ``label`` for every sample matching ``f``, in SQL (nothing is read into Python), versioned and
        audited, in one transaction.

        Labels a person confirmed as another label are kept and counted, unless ``overwrite_confirmed``: a bulk action
        should not silently undo other annotators' decisions. A filter of ids needs "review" rights on those samples
        (annotators: their assignments); any other filter is bulk labelling, for leads ("label").

        Returns:
            {"changed": samples now confirmed as ``label``, "kept_confirmed": samples left with the other label a
            person confirmed (0 when overwriting)}.
        """
        label = " ".join((label or "").split())
        if not label:
            raise WinnowError("choose a task label to confirm")
        mine = "NOT (s.task_label IS NOT DISTINCT FROM ? AND s.task_label_source = 'confirmed')"
        guard = mine if overwrite_confirmed else "coalesce(s.task_label_source, '') <> 'confirmed'"

        def body(cur):
            self._authorize_labelling(user, f, cur)
            changed = self._change_labels(cur, f, guard, [label] if overwrite_confirmed else [], label, user, "bulk")
            kept = 0
            if not overwrite_confirmed:
                kept = self._count_where(
                    cur, f, "s.task_label_source = 'confirmed' AND s.task_label IS DISTINCT FROM ?", [label]
                )
            return {"changed": changed, "kept_confirmed": kept}

        return self._retrying(body)

    def clear_task_labels(self, f: SampleFilter | None, *, user: str) -> int:
        """Remove the confirmed task label of every sample matching ``f`` (versioned and audited, in SQL). The
        samples are unlabelled until the next suggestion run; machine suggestions are left as they are.

        Returns:
            How many samples lost a confirmed label.
        """

        def body(cur):
            self._authorize_labelling(user, f, cur)
            return self._change_labels(cur, f, "s.task_label_source = 'confirmed'", [], None, user, "bulk")

        return self._retrying(body)

    def clear_task_label(self, sample_id: str, expected_version: int, *, user: str) -> int:
        """Remove one sample's confirmed task label, based on the version the caller saw (Review).

        Returns:
            The new version (the same one when the label was not a confirmed one: nothing changed).

        Raises:
            ConflictError: the sample is no longer at ``expected_version``; nothing was written.
            NotFound: no such sample.
        """

        def body(cur):
            self.authorize(user, "review", [sample_id], cur=cur)
            row = _one(cur.execute("SELECT version FROM samples WHERE id = ?", [sample_id]).fetchall())
            if row is None:
                raise NotFound(f"no sample {sample_id!r} in this workspace")
            if row[0] != expected_version:
                raise ConflictError(sample_id, expected_version, row[0])
            guard = "s.task_label_source = 'confirmed'"
            changed = self._change_labels(cur, SampleFilter(ids=[sample_id]), guard, [], None, user, "review")
            return row[0] + changed

        return self._retrying(body)

    def _authorize_labelling(self, user: str, f: SampleFilter | None, cur) -> None:
        if f is not None and f.ids is not None:
            self.authorize(user, "review", list(f.ids), cur=cur)
        else:
            self.authorize(user, "label", cur=cur)

    def _count_where(self, cur, f: SampleFilter | None, guard: str, guard_params: list) -> int:
        where, params, used, _ = self._filter_sql(f, cur=cur)
        q = f"SELECT count(*) FROM {self._from(used)} WHERE {where} AND {guard}"
        return cur.execute(q, params + guard_params).fetchall()[0][0]

    def _change_labels(
        self, cur, f: SampleFilter | None, guard: str, guard_params: list, label: str | None, user: str, action: str
    ) -> int:
        """Inside a transaction: set the confirmed task label of the samples matching ``f`` and ``guard`` to
        ``label`` (None removes it). The audit rows are written first, from the rows as they are before the update;
        both statements select the same rows (same snapshot, same predicate). Returns how many changed."""
        where, params, used, _ = self._filter_sql(f, cur=cur)
        match = f"SELECT s.rid FROM {self._from(used)} WHERE {where} AND {guard}"
        match_params = params + guard_params
        now = _now()
        before = (
            "CASE WHEN s.task_label IS NULL OR s.task_label_source = 'confirmed' THEN s.task_label "
            "ELSE s.task_label || ' (suggested)' END"
        )
        cur.execute(
            "INSERT INTO events (sample_id, ts, user_name, action, field, before, after, version) "
            f"SELECT s.id, ?, ?, ?, 'task_label', {before}, ?, s.version + 1 FROM samples s WHERE s.rid IN ({match})",
            [now, user, action, label, *match_params],
        )
        if label is None:
            sets, set_params = "task_label = NULL, task_label_confidence = NULL, task_label_source = NULL", []
        else:
            sets, set_params = "task_label = ?, task_label_confidence = 1.0, task_label_source = 'confirmed'", [label]
        return cur.execute(
            f"UPDATE samples SET {sets}, version = version + 1, updated_at = ?, updated_by = ? WHERE rid IN ({match})",
            [*set_params, now, user, *match_params],
        ).fetchall()[0][0]
