"""Changing samples: versioned, audited edits of the ``samples`` table's curation state (status, tags, note,
messages, a confirmed task label), one sample at a time against the version its editor saw, or many at once. Each
change writes its ``events`` rows (the audit log, ``events.py``) in the same transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb

from core.errors import ConflictError, NotFound
from core.store.base import _now, _one
from core.store.samples import STATUSES, messages_of


@dataclass(frozen=True)
class SampleEdit:
    """What one change of a sample sets, the same for an edit, a review, an annotation and an adjudication: each
    field left None keeps the value it had.

    Attributes:
        status: pending, accepted or rejected (an annotation or adjudication decides: accepted or rejected).
        tags: the whole new tag list; written stripped, without duplicates and sorted.
        note: the reviewer's note.
        messages: the edited conversation, as canonical messages.
        task_label: a task label to confirm (source 'confirmed', confidence 1).
    """

    status: str | None = None
    tags: Sequence[str] | None = None
    note: str | None = None
    messages: list[dict] | None = None
    task_label: str | None = None

    def check_status(self, allowed: Sequence[str] = STATUSES) -> None:
        """Raise ValueError when ``status`` is set and not one of ``allowed``."""
        if self.status is not None and self.status not in allowed:
            raise ValueError(f"unknown status {self.status!r}; expected one of {', '.join(allowed)}")

    def new_tags(self) -> list[str] | None:
        """The tags as they are written (stripped, no blanks or duplicates, sorted), or None to keep them."""
        return None if self.tags is None else sorted({t.strip() for t in self.tags if t and t.strip()})


class SampleEdits:
    """One sample's versioned change, and bulk status and tag changes."""

    def update_sample(
        self,
        sample_id: str,
        expected_version: int,
        edit: SampleEdit,
        *,
        user: str,
        unconfirm_label: bool = False,
        action: str = "edit",
        log: dict | None = None,
    ) -> int:
        """Change a sample, based on the version the caller saw, as ``edit`` says.

        Every changed field is written to the audit log with its value before and after. A field given with its
        current value is not a change. ``task_label`` confirms a task label (source 'confirmed', confidence 1):
        confirming the suggested label is a change too, recorded as before "<label> (suggested)".
        ``unconfirm_label`` removes a confirmed label (a revert to before it was confirmed); the next suggestion
        run labels the sample again. ``log``: the detail of one more audit event of ``action`` (as ``log_event``
        writes, with "version" set to the new version), written in the same transaction: an adjudication and its
        record are one change.

        Returns:
            The new version (the old one if nothing changed).

        Raises:
            ConflictError: the sample is no longer at ``expected_version``; nothing was written.
            NotFound: no such sample.
            ValueError: an unknown status.
        """
        edit.check_status()
        return self._retrying(
            lambda cur: self._update_sample_in(
                cur,
                sample_id,
                expected_version,
                edit,
                user=user,
                unconfirm_label=unconfirm_label,
                action=action,
                log=log,
            )
        )

    def _update_sample_in(
        self,
        cur: duckdb.DuckDBPyConnection,
        sample_id: str,
        expected_version: int,
        edit: SampleEdit,
        *,
        user: str,
        unconfirm_label: bool = False,
        action: str = "edit",
        log: dict | None = None,
    ) -> int:
        """``update_sample``'s change (status already checked) inside the caller's transaction ``cur``."""
        from core.formats.messages import answer_text, content_hash, prompt_text

        self.authorize(user, "review", [sample_id], cur=cur)
        if action not in ("edit", "review", "revert"):
            # the audit log's action must be true: only those allowed to adjudicate may record an adjudication
            self.authorize(user, "adjudicate" if action == "adjudicate" else "users", cur=cur)
        row = cur.execute(
            "SELECT s.version, s.status, s.tags, s.note, s.messages, s.tools, s.raw, s.format, src.mapping, "
            "s.task_label, s.task_label_source "
            "FROM samples s JOIN sources src ON src.source_id = s.source_id WHERE s.id = ?",
            [sample_id],
        ).fetchall()
        row = _one(row)
        if row is None:
            raise NotFound(f"no sample {sample_id!r} in this workspace")
        version, cur_status, cur_tags, cur_note, cur_messages, tools_json, raw, fmt, mapping = row[:9]
        cur_label, cur_label_source = row[9:]
        cur_messages = messages_of(cur_messages, raw, fmt, mapping)
        if version != expected_version:
            raise ConflictError(
                sample_id,
                expected_version,
                version,
                {"status": cur_status, "tags": cur_tags, "note": cur_note, "messages": cur_messages},
            )
        sets: list[str] = []
        params: list = []
        changes: list[tuple[str, str, str]] = []
        status, note, messages, task_label = edit.status, edit.note, edit.messages, edit.task_label
        if status is not None and status != cur_status:
            sets.append("status = ?")
            params.append(status)
            changes.append(("status", cur_status, status))
        new_tags = edit.new_tags()
        if new_tags is not None and new_tags != sorted(cur_tags):
            sets.append("tags = ?")
            params.append(new_tags)
            changes.append(("tags", json.dumps(sorted(cur_tags)), json.dumps(new_tags)))
        if note is not None and note != cur_note:
            sets.append("note = ?")
            params.append(note)
            changes.append(("note", cur_note, note))
        if messages is not None:
            new_json = json.dumps(messages, ensure_ascii=False)
            if messages != cur_messages:
                tools = json.loads(tools_json) if tools_json is not None else None
                new_hash = content_hash(messages, tools)
                # The duplicate flag follows the content: the earliest other sample now holding it, or none.
                twin = cur.execute(
                    "SELECT id FROM samples WHERE content_hash = ? AND id <> ? ORDER BY rid LIMIT 1",
                    [new_hash, sample_id],
                ).fetchall()
                sets += [
                    "messages = ?",
                    "prompt = ?",
                    "answer = ?",
                    "n_turns = ?",
                    "content_hash = ?",
                    "dup_of = ?",
                ]
                params += [
                    new_json,
                    prompt_text(messages),
                    answer_text(messages),
                    sum(1 for m in messages if m["role"] == "user"),
                    new_hash,
                    twin[0][0] if twin else None,
                ]
                changes.append(("messages", json.dumps(cur_messages, ensure_ascii=False), new_json))
        if task_label is not None and (task_label != cur_label or cur_label_source != "confirmed"):
            sets += ["task_label = ?", "task_label_confidence = 1.0", "task_label_source = 'confirmed'"]
            params.append(task_label)
            suggested = cur_label is not None and cur_label_source != "confirmed"
            before = f"{cur_label} (suggested)" if suggested else cur_label
            changes.append(("task_label", before, task_label))
        elif task_label is None and unconfirm_label and cur_label_source == "confirmed":
            sets += ["task_label = NULL", "task_label_confidence = NULL", "task_label_source = NULL"]
            changes.append(("task_label", cur_label, None))
        if not changes:
            if log is not None:
                self._log_in(cur, action, user, sample_id, {**log, "version": version})
            return version
        now = _now()
        new_version = version + 1
        sets += ["version = ?", "updated_at = ?", "updated_by = ?"]
        params += [new_version, now, user]
        updated = cur.execute(
            f"UPDATE samples SET {', '.join(sets)} WHERE id = ? AND version = ? RETURNING version",
            params + [sample_id, version],
        ).fetchall()
        if not updated:  # changed between our read and our write, inside a snapshot: treat as conflict
            raise ConflictError(sample_id, expected_version, version + 1)
        self._log_changes_in(
            cur, now, user, action, [(sample_id, fld, before, after, new_version) for fld, before, after in changes]
        )
        if log is not None:
            self._log_in(cur, action, user, sample_id, {**log, "version": new_version})
        return new_version

    def set_status_many(self, sample_ids: Sequence[str], status: str, *, user: str) -> int:
        """Set the status of many samples at once (bulk actions); each change is versioned and audited.

        Returns:
            How many samples changed.
        """
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
        ids = list(dict.fromkeys(sample_ids))
        if not ids:
            return 0
        now = _now()

        def body(cur):
            self.authorize(user, "review", ids, cur=cur)
            # Read the statuses being replaced inside the transaction, so the audit log has each one's before.
            before = dict(
                cur.execute(
                    "SELECT id, status FROM samples WHERE id IN (SELECT unnest(?::VARCHAR[])) AND status <> ?",
                    [ids, status],
                ).fetchall()
            )
            changed = self._update_versioned_in(
                cur,
                "status = ?",
                [status],
                "id IN (SELECT unnest(?::VARCHAR[])) AND status <> ?",
                [ids, status],
                now=now,
                user=user,
            )
            self._log_changes_in(
                cur, now, user, "bulk", [(sid, "status", before.get(sid), status, v) for sid, v in changed]
            )
            return len(changed)

        return self._retrying(body)

    def add_tag_many(self, sample_ids: Sequence[str], tag: str, *, user: str) -> int:
        """Add a tag to many samples (bulk actions); each change is versioned and audited. Returns how many changed."""
        ids = list(dict.fromkeys(sample_ids))
        tag = (tag or "").strip()
        if not ids or not tag:
            return 0
        now = _now()

        def body(cur):
            self.authorize(user, "review", ids, cur=cur)
            changed = self._update_versioned_in(
                cur,
                "tags = list_sort(list_append(tags, ?))",
                [tag],
                "id IN (SELECT unnest(?::VARCHAR[])) AND NOT list_contains(tags, ?)",
                [ids, tag],
                now=now,
                user=user,
                returning=["tags"],
            )
            self._log_changes_in(
                cur,
                now,
                user,
                "bulk",
                [
                    (sid, "tags", json.dumps(sorted(t for t in tags if t != tag)), json.dumps(sorted(tags)), v)
                    for sid, v, tags in changed
                ],
            )
            return len(changed)

        return self._retrying(body)

    @staticmethod
    def _update_versioned_in(
        cur,
        sets: str,
        set_params: list,
        where: str,
        where_params: list,
        *,
        now: datetime,
        user: str,
        returning: Sequence[str] = (),
    ) -> list[tuple]:
        """Apply ``sets`` to the samples matching ``where``, inside the caller's transaction, each one as a new
        version (version + 1, updated_at ``now``, updated_by ``user``). The caller writes the audit rows
        (``_log_changes_in``) from what this returns.

        Returns:
            One row per changed sample: its id, its new version, then the ``returning`` columns (values after the
            change).
        """
        columns = ", ".join(["id", "version", *returning])
        return cur.execute(
            f"UPDATE samples SET {sets}, version = version + 1, updated_at = ?, updated_by = ? WHERE {where} "
            f"RETURNING {columns}",
            [*set_params, now, user, *where_params],
        ).fetchall()
