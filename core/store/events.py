"""The audit log: the ``events`` table, who changed which field of which sample, before and after, and the
workspace-level events (imports, exports, scoring runs, settings). Other modules write their rows inside their own
transactions (``_log_in`` and ``_log_changes_in`` take the caller's cursor); this module reads the log for history and activity pages."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from core.store.base import _now


class AuditLog:
    """Writing workspace-level events, and reading the log."""

    def log_event(self, action: str, *, user: str, detail: dict, sample_id: str | None = None) -> None:
        """Append a workspace-level event (an export, a scoring run) to the audit log."""
        with self._transaction() as cur:
            self._log_in(cur, action, user, sample_id, detail)

    @staticmethod
    def _log_in(cur, action: str, user: str, sample_id: str | None, detail: dict) -> None:
        """``log_event``'s row, inside the caller's transaction."""
        cur.execute(
            "INSERT INTO events (sample_id, ts, user_name, action, field, before, after, version) "
            "VALUES (?, ?, ?, ?, NULL, NULL, ?, NULL)",
            [sample_id, _now(), user, action, json.dumps(detail, default=str)],
        )

    @staticmethod
    def _log_changes_in(cur, now: datetime, user: str, action: str, changes: Iterable[Sequence]) -> None:
        """Write one audit row per changed field, inside the caller's transaction.

        Args:
            changes: (sample_id, field, before, after, version) rows, ``version`` the one the change made; none
                writes nothing.
        """
        rows = [
            [sid, now, user, action, field, before, after, version] for sid, field, before, after, version in changes
        ]
        if rows:
            cur.executemany(
                "INSERT INTO events (sample_id, ts, user_name, action, field, before, after, version) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def history(self, sample_id: str) -> list[dict]:
        """The audit events of one sample, oldest first."""
        cur = self.cursor()
        rel = cur.execute(
            "SELECT event_id, ts, user_name, action, field, before, after, version FROM events "
            "WHERE sample_id = ? ORDER BY event_id",
            [sample_id],
        )
        keys = [d[0] for d in rel.description]
        return [dict(zip(keys, r)) for r in rel.fetchall()]

    def recent_events(self, limit: int = 100) -> list[dict]:
        """The newest audit events across the workspace."""
        cur = self.cursor()
        rel = cur.execute(
            "SELECT event_id, sample_id, ts, user_name, action, field, before, after, version FROM events "
            "ORDER BY event_id DESC LIMIT ?",
            [int(limit)],
        )
        keys = [d[0] for d in rel.description]
        return [dict(zip(keys, r)) for r in rel.fetchall()]

    @staticmethod
    def _event_where(user: str | None, action: str | None, sample_id: str | None) -> tuple[str, list]:
        clauses, params = ["true"], []
        for column, value in (("user_name", user), ("action", action), ("sample_id", sample_id)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        return " AND ".join(clauses), params

    def events_page(
        self,
        *,
        user: str | None = None,
        action: str | None = None,
        sample_id: str | None = None,
        offset: int = 0,
        limit: int = 50,
        preview: int = 160,
    ) -> list[dict]:
        """One page of the audit log, newest first, filtered by user, action and sample (None: any).

        Before and after values longer than ``preview`` characters are cut there, with "…", except edited messages,
        which come whole (JSON) so that the page can show what changed in them as a diff (``core.team.diffs.change_line``).
        """
        where, params = self._event_where(user, action, sample_id)
        n = int(preview)
        cut = "CASE WHEN field <> 'messages' AND length({c}) > {n} THEN left({c}, {n}) || '…' ELSE {c} END AS {c}"
        rel = self.cursor().execute(
            f"SELECT event_id, ts, user_name, action, sample_id, field, version, {cut.format(c='before', n=n)}, "
            f"{cut.format(c='after', n=n)} FROM events WHERE {where} ORDER BY event_id DESC LIMIT ? OFFSET ?",
            params + [int(limit), int(offset)],
        )
        keys = [d[0] for d in rel.description]
        return [dict(zip(keys, r)) for r in rel.fetchall()]

    def count_events(self, *, user: str | None = None, action: str | None = None, sample_id: str | None = None) -> int:
        """How many audit events match the filters of ``events_page``."""
        where, params = self._event_where(user, action, sample_id)
        return self.cursor().execute(f"SELECT count(*) FROM events WHERE {where}", params).fetchall()[0][0]

    def event_facets(self, *, user: str | None = None) -> dict[str, list[str]]:
        """The users and the actions the audit log holds (of ``user`` alone, when given), for filter pickers."""
        where, params = self._event_where(user, None, None)
        cur = self.cursor()
        q = "SELECT DISTINCT {} FROM events WHERE {} ORDER BY 1"
        users = [r[0] for r in cur.execute(q.format("user_name", where), params).fetchall()]
        actions = [r[0] for r in cur.execute(q.format("action", where), params).fetchall()]
        return {"users": users, "actions": actions}

    def user_activity(self, *, user: str | None = None, now: datetime | None = None) -> list[dict]:
        """What each person changed, from the audit log, most recently active first (of ``user`` alone, when given).

        Counts versions (one save is one version, however many fields it changed), not log rows.

        Returns:
            [{user, changes, samples, decisions (accepted or rejected), edits (messages, note, tags or label),
            reverts, decisions_1h, decisions_24h, first_active, last_active}]; times are UTC.
        """
        now = now or _now()
        where, params = self._event_where(user, None, None)
        q = f"""
            WITH v AS (
                SELECT user_name, sample_id, version, min(ts) AS ts,
                    bool_or(field = 'status' AND after IN ('accepted', 'rejected')) AS decision,
                    bool_or(field IN ('messages', 'note', 'tags', 'task_label')) AS edit,
                    bool_or(action = 'revert') AS revert
                FROM events WHERE {where} AND sample_id IS NOT NULL AND version IS NOT NULL
                GROUP BY ALL
            )
            SELECT user_name AS user, count(*) AS changes, count(DISTINCT sample_id) AS samples,
                count(*) FILTER (decision) AS decisions, count(*) FILTER (edit) AS edits,
                count(*) FILTER (revert) AS reverts,
                count(*) FILTER (decision AND ts >= ?) AS decisions_1h,
                count(*) FILTER (decision AND ts >= ?) AS decisions_24h,
                min(ts) AS first_active, max(ts) AS last_active
            FROM v GROUP BY user_name ORDER BY last_active DESC, user_name
        """
        rel = self.cursor().execute(q, params + [now - timedelta(hours=1), now - timedelta(hours=24)])
        keys = [d[0] for d in rel.description]
        return [dict(zip(keys, r)) for r in rel.fetchall()]
