"""Mixture plans: the ``plans`` table (a plan's JSON from ``core.selection.mixture.to_json``, by name)."""

from __future__ import annotations

from core.errors import NotFound, WinnowError
from core.store.base import _now, _one


class Plans:
    """Saving and reading mixture plans."""

    def save_plan(self, name: str, plan_json: str, *, user: str) -> None:
        """Save (or replace) a mixture plan under ``name`` (JSON from ``core.selection.mixture.to_json``)."""
        name = " ".join((name or "").split())
        if not name:
            raise WinnowError("a plan needs a name")

        def body(cur):
            self.authorize(user, "plan", cur=cur)
            cur.execute("INSERT OR REPLACE INTO plans VALUES (?, ?, ?, ?)", [name, plan_json, _now(), user])
            self._log_in(cur, "plan", user, None, {"name": name})

        self._retrying(body)

    def get_plan(self, name: str) -> str:
        """A saved plan's JSON (``core.selection.mixture.from_json`` reads it). Raises NotFound."""
        row = _one(self.cursor().execute("SELECT plan FROM plans WHERE name = ?", [name]).fetchall())
        if row is None:
            raise NotFound(f"no plan {name!r} in this workspace")
        return row[0]

    def plans(self) -> list[dict]:
        """Saved plans, newest first: [{name, created_at, created_by}]."""
        rows = self.cursor().execute("SELECT name, created_at, created_by FROM plans ORDER BY created_at DESC, name")
        return [{"name": r[0], "created_at": r[1], "created_by": r[2]} for r in rows.fetchall()]
