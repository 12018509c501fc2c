"""Who reviews what: the ``assignments`` table (several rows per sample when a lead asks for overlap), handed out
by id or over a filter, and each assignee's queue and progress (``core/team/`` is the workflow above it)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta

from core.errors import NotFound, WinnowError
from core.store.base import _now
from core.store.filters import SampleFilter


class Assignments:
    """Assigning samples to annotators, and their queues."""

    def _check_assignees(self, names: Sequence[str]) -> None:
        """Refuse names that are not enabled annotator accounts: a disabled account's share would never be done,
        and a lead's or admin's review of a shared sample changes it directly, passing over the annotators'."""
        accounts = {n: self.get_user(n) for n in names}
        missing = [n for n, user in accounts.items() if user is None]
        if missing:
            raise NotFound(f"no account named {', '.join(map(repr, missing))}")
        for name, user in accounts.items():
            if user["disabled"]:
                raise WinnowError(f"{name} is disabled and cannot review: assign samples to enabled annotators")
            if user["role"] != "annotator":
                article = "an" if user["role"][0] in "aeiou" else "a"
                raise WinnowError(f"{name} is {article} {user['role']}: only annotators are assigned samples")

    def assign(self, sample_ids: Sequence[str], user_names: Sequence[str], *, by: str) -> int:
        """Assign each sample to each named annotator (an existing assignment is kept). Returns the new ones.

        Raises:
            NotFound: a name is no account of this workspace. WinnowError: a name is no enabled annotator.
        """
        self.authorize(by, "assign")  # before the checks of the names: a refusal says who may not
        ids, names = list(dict.fromkeys(sample_ids)), list(dict.fromkeys(user_names))
        self._check_assignees(names)
        if not ids or not names:
            return 0
        now = _now()

        def body(cur):
            self.authorize(by, "assign", cur=cur)
            added = cur.execute(
                "INSERT INTO assignments SELECT s.id, u.name, ?, ? FROM samples s, (SELECT unnest(?::VARCHAR[]) AS "
                "name) u WHERE s.id IN (SELECT unnest(?::VARCHAR[])) ON CONFLICT DO NOTHING RETURNING sample_id",
                [now, by, names, ids],
            ).fetchall()
            if added:
                cur.execute(
                    "INSERT INTO events (sample_id, ts, user_name, action, field, before, after, version) "
                    "VALUES (NULL, ?, ?, 'assign', NULL, NULL, ?, NULL)",
                    [now, by, json.dumps({"users": names, "assignments": len(added)})],
                )
            return len(added)

        return self._retrying(body)

    def _matching_sql(self, f: SampleFilter | None) -> tuple[str, list]:
        """(SELECT s.id, s.rid ... WHERE <f>, params): the samples matching ``f``, for a subquery."""
        sql = self._filter_sql(f)
        return f"SELECT s.id, s.rid FROM {self._from(sql.scorers)} WHERE {sql.where}", sql.params

    def matching_ids(self, f: SampleFilter | None, *, limit: int | None = None) -> list[str]:
        """The ids of the samples matching ``f``, in import order (bulk actions on a whole filter)."""
        sub, params = self._matching_sql(f)
        q = f"SELECT id FROM ({sub}) ORDER BY rid" + (" LIMIT ?" if limit is not None else "")
        rows = self.cursor().execute(q, params + ([int(limit)] if limit is not None else [])).fetchall()
        return [r[0] for r in rows]

    def distribute(
        self,
        f: SampleFilter | None,
        user_names: Sequence[str],
        *,
        overlap: int = 1,
        limit: int | None = None,
        only_unassigned: bool = True,
        by: str,
    ) -> dict:
        """Give each sample matching ``f`` to ``overlap`` of ``user_names``, round-robin in import order, in SQL (no
        id is read into Python): the i-th sample (0-based) goes to names (i·k + j) mod n for j < k. So each sample gets
        k distinct names and, over one call, every name gets the same number of samples give or take one (the first
        names in the list take the extra ones: ``core.team.assignments.distribute`` puts the least loaded first).

        Args:
            only_unassigned: skip samples that already have an assignee (default), so overlap stays what was asked.
            limit: at most this many samples (the first ones in import order).

        Returns:
            {"samples": samples given out, "assignments": new assignments, "per_user": {name: new assignments}}.

        Raises:
            NotFound: a name is no account. WinnowError: no names, a name that is no enabled annotator, or an
                overlap outside 1..len(user_names).
        """
        self.authorize(by, "assign")  # before the checks of the names: a refusal says who may not
        names = list(dict.fromkeys(user_names))
        if not names:
            raise WinnowError("choose at least one annotator to assign samples to")
        self._check_assignees(names)
        k = int(overlap)
        if not 1 <= k <= len(names):
            raise WinnowError(
                f"overlap {k} needs at least {k} annotators and at least 1: you chose {len(names)} ({', '.join(names)})"
            )
        if limit is not None and int(limit) < 1:
            raise WinnowError(f"the number of samples to assign must be at least 1, got {limit}")
        matching, params = self._matching_sql(f)
        if only_unassigned:
            matching += " AND s.id NOT IN (SELECT sample_id FROM assignments)"
        matching += " ORDER BY s.rid" + (f" LIMIT {int(limit)}" if limit is not None else "")
        now = _now()

        def body(cur):
            self.authorize(by, "assign", cur=cur)
            added = cur.execute(
                "INSERT INTO assignments SELECT m.id, list_extract(?::VARCHAR[], ((m.i * ? + t.j) % ?)::INTEGER + 1), "
                f"?, ? FROM (SELECT id, row_number() OVER (ORDER BY rid) - 1 AS i FROM ({matching})) m, "
                "range(?) t(j) ON CONFLICT DO NOTHING RETURNING sample_id, user_name",
                [names, k, len(names), now, by, *params, k],
            ).fetchall()
            per_user = {n: 0 for n in names}
            for _, name in added:
                per_user[name] += 1
            result = {"samples": len({sid for sid, _ in added}), "assignments": len(added), "per_user": per_user}
            if added:
                cur.execute(
                    "INSERT INTO events (sample_id, ts, user_name, action, field, before, after, version) "
                    "VALUES (NULL, ?, ?, 'assign', NULL, NULL, ?, NULL)",
                    [now, by, json.dumps({"users": names, "overlap": k, **result})],
                )
            return result

        return self._retrying(body)

    def unassign(self, f: SampleFilter | None, user_names: Sequence[str] | None = None, *, by: str) -> int:
        """Remove the open assignments of the samples matching ``f`` (of ``user_names`` only, when given).

        Open means the sample is still pending and the assignee has not decided on it yet; finished work stays
        assigned, so progress keeps counting it.

        Returns:
            How many assignments were removed.
        """
        matching, params = self._matching_sql(f)
        names = None if user_names is None else list(dict.fromkeys(user_names))
        only = " AND assignments.user_name IN (SELECT unnest(?::VARCHAR[]))" if names is not None else ""

        def body(cur):
            self.authorize(by, "assign", cur=cur)
            gone = cur.execute(
                f"DELETE FROM assignments WHERE sample_id IN (SELECT id FROM ({matching} AND s.status = 'pending'))"
                f"{only} AND NOT EXISTS (SELECT 1 FROM annotations n WHERE n.sample_id = assignments.sample_id "
                "AND n.user_name = assignments.user_name AND n.status IS NOT NULL) RETURNING user_name",
                [*params, *([names] if names is not None else [])],
            ).fetchall()
            if gone:
                cur.execute(
                    "INSERT INTO events (sample_id, ts, user_name, action, field, before, after, version) "
                    "VALUES (NULL, ?, ?, 'unassign', NULL, NULL, ?, NULL)",
                    [_now(), by, json.dumps({"users": sorted({r[0] for r in gone}), "assignments": len(gone)})],
                )
            return len(gone)

        return self._retrying(body)

    def assignment_preview(self, f: SampleFilter | None) -> dict[str, int]:
        """{"matching": samples matching ``f``, "unassigned": those of them nobody is assigned yet}."""
        matching, params = self._matching_sql(f)
        row = self.cursor().execute(
            f"SELECT count(*), count(*) - count(a.sample_id) FROM ({matching}) m "
            "LEFT JOIN (SELECT DISTINCT sample_id FROM assignments) a ON a.sample_id = m.id",
            params,
        )
        matching_n, unassigned = row.fetchall()[0]
        return {"matching": int(matching_n), "unassigned": int(unassigned)}

    def assignees(self, sample_id: str) -> list[str]:
        """Who the sample is assigned to, by name."""
        rows = self.cursor().execute(
            "SELECT user_name FROM assignments WHERE sample_id = ? ORDER BY user_name", [sample_id]
        )
        return [r[0] for r in rows.fetchall()]

    def assignment_loads(self) -> dict[str, int]:
        """{name: assignments} for every account that has any."""
        rows = self.cursor().execute("SELECT user_name, count(*) FROM assignments GROUP BY 1 ORDER BY 1")
        return {name: int(n) for name, n in rows.fetchall()}

    def next_assignment(self, user: str, f: SampleFilter | None = None, *, skip: Sequence[str] = ()) -> dict | None:
        """An annotator's next sample: assigned to them, pending, matching ``f``, not in ``skip``, and not yet decided
        in an annotation of theirs; the first in import order. None when their queue is empty."""
        matching, params = self._matching_sql(f)
        matching += (
            " AND s.status = 'pending' AND s.id IN (SELECT sample_id FROM assignments WHERE user_name = ?) "
            "AND s.id NOT IN (SELECT sample_id FROM annotations WHERE user_name = ? AND status IS NOT NULL)"
        )
        params += [user, user]
        if skip:
            matching += " AND s.id NOT IN (SELECT unnest(?::VARCHAR[]))"
            params.append(list(skip))
        row = self.cursor().execute(matching + " ORDER BY s.rid LIMIT 1", params).fetchall()
        return self.get_sample(row[0][0]) if row else None

    def assignment_progress(self, *, hours: float = 24.0, user: str | None = None) -> list[dict]:
        """Per assignee (or only ``user``): {user, assigned, done, remaining, done_recent, last_done}.

        done: assignments the assignee decided on, as an annotation or by setting the sample's status themselves.
        remaining: their queue (pending, not decided by them). done_recent: done within the last ``hours``.
        Assignments settled by someone else (a lead's review or adjudication) are neither done nor remaining.
        """
        now = _now()
        since = now - timedelta(hours=hours)
        only = " WHERE a.user_name = ?" if user is not None else ""
        q = (
            "WITH done AS (SELECT sample_id, user_name, min(ts) AS ts FROM ("
            "SELECT sample_id, user_name, ts FROM annotations WHERE status IS NOT NULL UNION ALL "
            "SELECT e.sample_id, e.user_name, e.ts FROM events e JOIN assignments x "
            "ON x.sample_id = e.sample_id AND x.user_name = e.user_name "
            "WHERE e.field = 'status' AND e.after IN ('accepted', 'rejected')) GROUP BY ALL) "
            "SELECT a.user_name, count(*), count(d.ts), count(*) FILTER (s.status = 'pending' AND NOT EXISTS ("
            "SELECT 1 FROM annotations n WHERE n.sample_id = a.sample_id AND n.user_name = a.user_name "
            "AND n.status IS NOT NULL)), count(*) FILTER (d.ts >= ?), max(d.ts) "
            "FROM assignments a JOIN samples s ON s.id = a.sample_id "
            f"LEFT JOIN done d ON d.sample_id = a.sample_id AND d.user_name = a.user_name{only} "
            "GROUP BY 1 ORDER BY 1"
        )
        rows = self.cursor().execute(q, [since, *([user] if user is not None else [])]).fetchall()
        keys = ("user", "assigned", "done", "remaining", "done_recent", "last_done")
        return [dict(zip(keys, r)) for r in rows]
