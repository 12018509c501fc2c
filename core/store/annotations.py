"""Annotations and adjudication: the ``annotations`` table, one row per annotator of a sample several annotators
review. The sample itself stays as it was until a lead adjudicates (``adjudicate_sample``: the sample's change and
its record in one transaction); ``messages`` is NULL when the annotator left them unedited."""

from __future__ import annotations

import json

from core.errors import ConflictError, NotFound, PermissionDenied, WinnowError
from core.store.base import _now, _one
from core.store.edits import SampleEdit
from core.store.samples import messages_of

#: What an annotation or an adjudication decides.
DECISIONS = ("accepted", "rejected")


class Annotations:
    """Each annotator's decision on a shared sample, and the lead's adjudication of them."""

    def annotate(
        self,
        sample_id: str,
        expected_version: int,
        edit: SampleEdit,
        *,
        user: str,
    ) -> dict:
        """Record (or update) ``user``'s annotation of a sample (``edit``), based on the version they saw; the sample
        itself is not changed. Fields left None keep what the annotation had (a new one starts from the sample's tags and note,
        no decision, no label, unedited messages). Audited as an 'annotate' event with no version (it makes none, so
        a sample's history never shows one annotator another's annotation); its "after" holds ``based_on``.

        Once the sample is settled (no longer pending: adjudicated, or decided by a lead) its annotations are final:
        changing one then would rewrite the agreement after the annotator saw the outcome.

        Returns:
            The annotation: {sample_id, user_name, status, task_label, messages (None = unedited), tags, note, ts,
            based_on}.

        Raises:
            ConflictError: the sample is no longer at ``expected_version``; nothing was written.
            PermissionDenied: ``user`` may not review this sample, or it is settled. NotFound: no such sample.
        """
        if edit.status is not None and edit.status not in DECISIONS:
            raise ValueError(f"an annotation's decision is accepted or rejected, not {edit.status!r}")

        def body(cur):
            self.authorize(user, "review", [sample_id], annotating=True, cur=cur)
            row = _one(
                cur.execute(
                    "SELECT s.version, s.status, s.tags, s.note, s.messages, s.raw, s.format, src.mapping "
                    "FROM samples s JOIN sources src ON src.source_id = s.source_id WHERE s.id = ?",
                    [sample_id],
                ).fetchall()
            )
            if row is None:
                raise NotFound(f"no sample {sample_id!r} in this workspace")
            version, cur_status, cur_tags, cur_note, cur_messages, raw, fmt, mapping = row
            cur_messages = messages_of(cur_messages, raw, fmt, mapping)
            if version != expected_version:
                current = {"status": cur_status, "tags": cur_tags, "note": cur_note, "messages": cur_messages}
                raise ConflictError(sample_id, expected_version, version, current)
            if cur_status != "pending":
                raise PermissionDenied(
                    f"sample {sample_id} is already settled ({cur_status}): its annotations are final; a lead can "
                    "set it back to pending to have it reviewed again"
                )
            old = self._annotation(cur, sample_id, user)
            new = old or {
                "status": None,
                "task_label": None,
                "messages": None,
                "tags": list(cur_tags),
                "note": cur_note,
            }
            new = {k: new[k] for k in ("status", "task_label", "messages", "tags", "note")}
            if edit.status is not None:
                new["status"] = edit.status
            if edit.task_label is not None:
                new["task_label"] = edit.task_label
            if edit.messages is not None:
                new["messages"] = None if edit.messages == cur_messages else edit.messages
            if edit.tags is not None:
                new["tags"] = edit.new_tags()
            if edit.note is not None:
                new["note"] = edit.note
            now = _now()
            cur.execute(
                "INSERT OR REPLACE INTO annotations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    sample_id,
                    user,
                    new["status"],
                    new["task_label"],
                    None if new["messages"] is None else json.dumps(new["messages"], ensure_ascii=False),
                    new["tags"],
                    new["note"],
                    now,
                    version,
                ],
            )

            def shown(a, **extra):
                return None if a is None else json.dumps({**{k: a[k] for k in new}, **extra}, ensure_ascii=False)

            # No version: an annotation is no version of the sample (see the docstring).
            cur.execute(
                "INSERT INTO events (sample_id, ts, user_name, action, field, before, after, version) "
                "VALUES (?, ?, ?, 'annotate', 'annotation', ?, ?, NULL)",
                [sample_id, now, user, shown(old), shown(new, based_on=version)],
            )
            return {"sample_id": sample_id, "user_name": user, **new, "ts": now, "based_on": version}

        return self._retrying(body)

    def adjudicate_sample(
        self,
        sample_id: str,
        expected_version: int,
        edit: SampleEdit,
        *,
        user: str,
        picked: str | None = None,
    ) -> int:
        """Settle a shared sample with ``edit``, which decides it (accepted or rejected): change it as
        ``update_sample`` does, as an 'adjudicate' action, and record the adjudication (who was picked, the decision and label, the
        annotators who decided) in the audit log, all in one transaction: never a settled sample without its record.
        The annotators are read in that transaction too, so the record names the annotations the write saw.

        Args:
            picked: the annotator whose version this is, or None for a merged one.

        Returns:
            The sample's new version.

        Raises:
            ConflictError: the sample is no longer at ``expected_version``; nothing was written.
            PermissionDenied: ``user`` may not adjudicate. NotFound: no such sample.
            WinnowError: ``edit`` does not decide the sample.
        """
        if edit.status not in DECISIONS:
            raise WinnowError(f"an adjudication decides the sample: accepted or rejected, not {edit.status!r}")

        def body(cur):
            self.authorize(user, "adjudicate", cur=cur)
            annotators = [
                r[0]
                for r in cur.execute(
                    "SELECT user_name FROM annotations WHERE sample_id = ? AND status IS NOT NULL ORDER BY user_name",
                    [sample_id],
                ).fetchall()
            ]
            return self._update_sample_in(
                cur,
                sample_id,
                expected_version,
                edit,
                user=user,
                action="adjudicate",
                log={"picked": picked, "status": edit.status, "task_label": edit.task_label, "annotators": annotators},
            )

        return self._retrying(body)

    _ANNOTATION_COLUMNS = (
        "sample_id",
        "user_name",
        "status",
        "task_label",
        "messages",
        "tags",
        "note",
        "ts",
        "based_on",
    )

    def _annotation(self, cur, sample_id: str, user: str) -> dict | None:
        row = _one(
            cur.execute(
                f"SELECT {', '.join(self._ANNOTATION_COLUMNS)} FROM annotations WHERE sample_id = ? AND user_name = ?",
                [sample_id, user],
            ).fetchall()
        )
        return None if row is None else self._annotation_dict(row)

    def _annotation_dict(self, row) -> dict:
        out = dict(zip(self._ANNOTATION_COLUMNS, row))
        out["messages"] = None if out["messages"] is None else json.loads(out["messages"])
        return out

    def annotation(self, sample_id: str, user: str) -> dict | None:
        """``user``'s annotation of a sample (see ``annotate``), or None."""
        return self._annotation(self.cursor(), sample_id, user)

    def annotations_of(self, sample_id: str) -> list[dict]:
        """Every annotation of one sample, by annotator name (messages parsed; None = unedited)."""
        rows = self.cursor().execute(
            f"SELECT {', '.join(self._ANNOTATION_COLUMNS)} FROM annotations WHERE sample_id = ? ORDER BY user_name",
            [sample_id],
        )
        return [self._annotation_dict(r) for r in rows.fetchall()]

    def decided_annotations(self, *, min_annotators: int = 2, pending_only: bool = False) -> list[dict]:
        """The decided annotations (accepted or rejected) of samples with at least ``min_annotators`` of them, in
        import order then by name: [{sample_id, sample_status, user_name, status, task_label, messages (the JSON
        text, None = unedited), note}]. ``pending_only``: samples not yet adjudicated (still pending)."""
        pending = " AND s.status = 'pending'" if pending_only else ""
        rows = self.cursor().execute(
            "SELECT a.sample_id, s.status, a.user_name, a.status, a.task_label, a.messages, a.note "
            "FROM annotations a JOIN samples s ON s.id = a.sample_id "
            "WHERE a.status IS NOT NULL AND a.sample_id IN (SELECT sample_id FROM annotations "
            f"WHERE status IS NOT NULL GROUP BY 1 HAVING count(*) >= ?){pending} ORDER BY s.rid, a.user_name",
            [int(min_annotators)],
        )
        keys = ("sample_id", "sample_status", "user_name", "status", "task_label", "messages", "note")
        return [dict(zip(keys, r)) for r in rows.fetchall()]
