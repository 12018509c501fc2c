"""Background jobs: the ``jobs`` table (scoring, projection, the demo's preparation), their progress and cancel
requests. ``core/jobs.py`` runs them."""

from __future__ import annotations

import json

from core.errors import NotFound
from core.store.base import _now, _one
from core.team.roles import JOB_ACTIONS


class Jobs:
    """Recording jobs and their progress."""

    def create_job(self, kind: str, params: dict, *, user: str, total: int = 0) -> int:
        """Record a new background job; ``user`` must be allowed the job's kind (see ``core.team.roles.JOB_ACTIONS``)."""
        if kind not in JOB_ACTIONS:
            raise ValueError(
                f"unknown job kind {kind!r}; add it to core.team.roles.JOB_ACTIONS with the action it needs"
            )
        now = _now()

        def body(cur):
            self.authorize(user, JOB_ACTIONS[kind], cur=cur)
            return cur.execute(
                "INSERT INTO jobs (kind, params, status, total, created_by, created_at, updated_at) "
                "VALUES (?, ?, 'queued', ?, ?, ?, ?) RETURNING job_id",
                [kind, json.dumps(params, default=str), total, user, now, now],
            ).fetchall()[0][0]

        return self._retrying(body)

    def update_job(self, job_id: int, **fields) -> None:
        """Set any of status, done, total, message, error on a job."""
        allowed = {"status", "done", "total", "message", "error"}
        bad = set(fields) - allowed
        if bad:
            raise ValueError(f"unknown job fields: {sorted(bad)}")
        sets = [f"{k} = ?" for k in fields] + ["updated_at = ?"]
        params = list(fields.values()) + [_now(), job_id]
        self._retrying(lambda cur: cur.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE job_id = ?", params))

    def request_cancel(self, job_id: int) -> None:
        self._retrying(lambda cur: cur.execute("UPDATE jobs SET cancel_requested = true WHERE job_id = ?", [job_id]))

    def cancel_requested(self, job_id: int) -> bool:
        row = self.cursor().execute("SELECT cancel_requested FROM jobs WHERE job_id = ?", [job_id]).fetchall()
        return bool(row and row[0][0])

    def get_job(self, job_id: int) -> dict:
        rel = self.cursor().execute("SELECT * FROM jobs WHERE job_id = ?", [job_id])
        row = _one(rel.fetchall())
        if row is None:
            raise NotFound(f"no job {job_id}")
        job = dict(zip([d[0] for d in rel.description], row))
        job["params"] = json.loads(job["params"])
        return job

    def jobs(self, limit: int = 20, kind: str | None = None) -> list[dict]:
        q = "SELECT * FROM jobs" + (" WHERE kind = ?" if kind else "") + " ORDER BY job_id DESC LIMIT ?"
        rel = self.cursor().execute(q, ([kind] if kind else []) + [int(limit)])
        keys = [d[0] for d in rel.description]
        out = []
        for r in rel.fetchall():
            job = dict(zip(keys, r))
            job["params"] = json.loads(job["params"])
            out.append(job)
        return out

    def fail_orphaned_jobs(self) -> int:
        """Mark jobs left 'running' or 'queued' by a process that died as failed. Call once at startup.

        Returns:
            How many jobs were marked.
        """

        def body(cur):
            return len(
                cur.execute(
                    "UPDATE jobs SET status = 'failed', error = 'the process running it stopped; start it again "
                    "to resume', updated_at = ? WHERE status IN ('queued', 'running') RETURNING job_id",
                    [_now()],
                ).fetchall()
            )

        return self._retrying(body)
