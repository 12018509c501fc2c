"""Saved selections: the ``selections`` table (a recipe, its per-step log and counts) and ``selection_members``
(sample ids in selection order, by stage). ``core/selection.py`` runs the recipes."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pyarrow as pa

from core.errors import NotFound, WinnowError
from core.store.base import _now, _one


class Selections:
    """Saving, reading and deleting named selections."""

    def save_selection(
        self,
        name: str,
        *,
        recipe: str,
        recipe_hash: str,
        log: list[dict],
        members: Sequence[tuple[str, int]],
        user: str,
    ) -> dict:
        """Save (or replace) a named selection and its members in one transaction.

        Args:
            recipe: the recipe's YAML text.
            log: one entry per step (JSON-able), with its input and output counts.
            members: (sample id, stage) in selection order; stages are 1-based, and a sample may be in several.

        Returns:
            The saved selection's summary, as ``selections`` lists it.
        """
        if not name or not name.strip():
            raise WinnowError("a selection needs a name")
        self.authorize(user, "select")  # before the members are copied
        name = name.strip()
        now = _now()
        stages = max((stage for _, stage in members), default=1)
        table = pa.table(
            {
                "selection": pa.array([name] * len(members), pa.string()),
                "sample_id": pa.array([sid for sid, _ in members], pa.string()),
                "position": pa.array(range(len(members)), pa.int64()),
                "stage": pa.array([int(stage) for _, stage in members], pa.int32()),
            }
        )

        def body(cur):
            self.authorize(user, "select", cur=cur)
            cur.execute("DELETE FROM selection_members WHERE selection = ?", [name])
            cur.execute("DELETE FROM selections WHERE name = ?", [name])
            cur.execute(
                "INSERT INTO selections VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [name, recipe, recipe_hash, json.dumps(log, default=str), len(members), stages, now, user],
            )
            cur.register("new_members", table)
            try:
                cur.execute("INSERT INTO selection_members SELECT * FROM new_members")
            finally:
                cur.unregister("new_members")
            cur.execute(
                "INSERT INTO events (sample_id, ts, user_name, action, field, before, after, version) "
                "VALUES (NULL, ?, ?, 'select', 'selection', NULL, ?, NULL)",
                [now, user, json.dumps({"name": name, "samples": len(members), "recipe_hash": recipe_hash})],
            )

        self._retrying(body)
        return self.get_selection(name, with_log=False)

    def selections(self) -> list[dict]:
        """Every saved selection, newest first: {name, recipe_hash, samples, stages, created_at, created_by}."""
        rows = (
            self.cursor()
            .execute(
                "SELECT name, recipe_hash, samples, stages, created_at, created_by FROM selections "
                "ORDER BY created_at DESC, name"
            )
            .fetchall()
        )
        keys = ("name", "recipe_hash", "samples", "stages", "created_at", "created_by")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def get_selection(self, name: str, *, with_log: bool = True) -> dict:
        """One selection: its summary, its recipe (YAML text) and, ``with_log``, the per-step log (parsed).

        Raises:
            NotFound: no selection has that name.
        """
        row = _one(
            self.cursor()
            .execute(
                "SELECT name, recipe, recipe_hash, log, samples, stages, created_at, created_by FROM selections "
                "WHERE name = ?",
                [name],
            )
            .fetchall()
        )
        if row is None:
            raise NotFound(f"no selection named {name!r}; run a recipe first (Select page, or `core select`)")
        keys = ("name", "recipe", "recipe_hash", "log", "samples", "stages", "created_at", "created_by")
        out = dict(zip(keys, row, strict=True))
        if with_log:
            out["log"] = json.loads(out["log"])
        else:
            del out["log"], out["recipe"]
        return out

    def selection_ids(
        self, name: str, *, stage: int | None = None, offset: int = 0, limit: int | None = None
    ) -> list[str]:
        """The member ids of a selection in selection order (one stage, or all stages in stage order); paged."""
        q = "SELECT sample_id FROM selection_members WHERE selection = ?"
        params: list = [name]
        if stage is not None:
            q += " AND stage = ?"
            params.append(int(stage))
        q += " ORDER BY position LIMIT ? OFFSET ?"
        params += [int(limit) if limit is not None else 2**62, int(offset)]
        return [r[0] for r in self.cursor().execute(q, params).fetchall()]

    def delete_selection(self, name: str, *, user: str) -> bool:
        """Delete a selection and its members (audited). Returns whether it existed."""

        def body(cur):
            self.authorize(user, "delete", cur=cur)
            cur.execute("DELETE FROM selection_members WHERE selection = ?", [name])
            gone = bool(cur.execute("DELETE FROM selections WHERE name = ? RETURNING name", [name]).fetchall())
            if gone:
                cur.execute(
                    "INSERT INTO events (sample_id, ts, user_name, action, field, before, after, version) "
                    "VALUES (NULL, ?, ?, 'selection', 'delete', ?, NULL, NULL)",
                    [_now(), user, json.dumps({"name": name})],
                )
            return gone

        return self._retrying(body)
