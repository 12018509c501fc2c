"""Eval sets: test sets registered in the workspace (``eval_sets``, one row per set, and ``eval_set_items``, its items'
prompt and answer text), never imported as samples. ``core.decontamination`` checks the samples against them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import pyarrow as pa

from core.errors import NotFound, WinnowError
from core.store.base import _now

_SET_KEYS = ("name", "file_name", "sha256", "format", "mapping", "items", "added_at", "added_by")


def items_sha256(items: Sequence[tuple[str, str]]) -> str:
    """The SHA-256 of an eval set's (prompt, answer) texts in order: what a check against the set depends on."""
    h = hashlib.sha256()
    for prompt, answer in items:
        h.update(json.dumps([prompt, answer], ensure_ascii=False).encode())
        h.update(b"\n")
    return h.hexdigest()


class EvalSets:
    """Registering, listing, reading and removing eval sets."""

    def add_eval_set(
        self,
        name: str,
        items: Sequence[tuple[str, str]],
        *,
        file_name: str,
        fmt: str,
        mapping: str | None,
        user: str,
        replace: bool = False,
    ) -> dict:
        """Register an eval set: its items' (prompt, answer) texts, in file order, in one transaction.

        Args:
            items: (prompt text, answer text) per item.
            replace: replace a set of that name (else it is refused).

        Returns:
            The set as ``eval_sets`` lists it.

        Raises:
            WinnowError: no name, no items, or the name is taken (and not ``replace``).
        """
        name = " ".join((name or "").split())
        if not name:
            raise WinnowError("an eval set needs a name")
        if not items:
            raise WinnowError(f"eval set {name!r} has no items")
        digest = items_sha256(items)
        table = pa.table(
            {
                "eval_set": pa.array([name] * len(items), pa.string()),
                "item": pa.array(range(1, len(items) + 1), pa.int32()),
                "prompt": pa.array([p for p, _ in items], pa.string()),
                "answer": pa.array([a for _, a in items], pa.string()),
            }
        )

        def body(cur):
            self.authorize(user, "evaluate", cur=cur)
            if cur.execute("SELECT 1 FROM eval_sets WHERE name = ?", [name]).fetchall():
                if not replace:
                    raise WinnowError(f"an eval set named {name!r} exists already (replace it, or pick another name)")
                cur.execute("DELETE FROM eval_set_items WHERE eval_set = ?", [name])
                cur.execute("DELETE FROM eval_sets WHERE name = ?", [name])
            cur.execute(
                "INSERT INTO eval_sets VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [name, file_name, digest, fmt, mapping, len(items), _now(), user],
            )
            cur.register("new_items", table)
            try:
                cur.execute("INSERT INTO eval_set_items SELECT * FROM new_items")
            finally:
                cur.unregister("new_items")
            self._log_in(cur, "eval_set", user, None, {"name": name, "file": file_name, "items": len(items)})

        self._retrying(body)
        return self.get_eval_set(name)

    def eval_sets(self) -> list[dict]:
        """The registered eval sets, by name: [{name, file_name, sha256, format, mapping, items, added_at,
        added_by}]."""
        rows = self.cursor().execute(f"SELECT {', '.join(_SET_KEYS)} FROM eval_sets ORDER BY name").fetchall()
        return [dict(zip(_SET_KEYS, r)) for r in rows]

    def get_eval_set(self, name: str) -> dict:
        """One eval set, as ``eval_sets`` lists it. Raises NotFound."""
        for s in self.eval_sets():
            if s["name"] == name:
                return s
        raise NotFound(f"no eval set {name!r} in this workspace")

    def eval_set_items(self, name: str) -> list[tuple[str, str]]:
        """An eval set's items in order (item 1 first): [(prompt, answer)]. Raises NotFound."""
        self.get_eval_set(name)
        rows = (
            self.cursor()
            .execute("SELECT prompt, answer FROM eval_set_items WHERE eval_set = ? ORDER BY item", [name])
            .fetchall()
        )
        return [(p, a) for p, a in rows]

    def delete_eval_set(self, name: str, *, user: str) -> bool:
        """Remove an eval set and its items. Returns whether it existed."""

        def body(cur):
            self.authorize(user, "evaluate", cur=cur)
            existed = bool(cur.execute("SELECT 1 FROM eval_sets WHERE name = ?", [name]).fetchall())
            cur.execute("DELETE FROM eval_set_items WHERE eval_set = ?", [name])
            cur.execute("DELETE FROM eval_sets WHERE name = ?", [name])
            if existed:
                self._log_in(cur, "eval_set_delete", user, None, {"name": name})
            return existed

        return self._retrying(body)

    def contamination(self, *, limit: int = 50) -> dict | None:
        """What the decontamination scorer's current key found, or None before it ran.

        Returns:
            {"key", "eval_sets": {name: sha256} it checked, "samples": samples in the workspace, "checked": samples
            with a result, "by_set": [{eval_set, samples, items}] (contaminated samples and distinct items, most
            first), "top": up to ``limit`` contaminated samples, highest overlap first: [{id, status, overlap,
            eval_set, item, ngram, method, prompt}]}.
        """
        current = self.scorer_keys().get("decontam")
        if current is None:
            return None
        key = current["key"]
        cur = self.cursor()
        join = "FROM samples s JOIN score_decontam d ON d.content_hash = s.content_hash AND d.scorer_key = ?"
        samples = cur.execute("SELECT count(*) FROM samples").fetchall()[0][0]
        checked = cur.execute(f"SELECT count(*) {join}", [key]).fetchall()[0][0]
        by_set = cur.execute(
            f"SELECT d.contamination_eval_set, count(*), count(DISTINCT d.contamination_item) {join} "
            "WHERE d.contaminated GROUP BY 1 ORDER BY 2 DESC, 1",
            [key],
        ).fetchall()
        top = cur.execute(
            "SELECT s.id, s.status, d.contamination_overlap, d.contamination_eval_set, d.contamination_item, "
            f"d.contamination_ngram, d.contamination_method, left(s.prompt, 200) {join} WHERE d.contaminated "
            "ORDER BY d.contamination_overlap DESC, s.rid LIMIT ?",
            [key, int(limit)],
        ).fetchall()
        keys = ("id", "status", "overlap", "eval_set", "item", "ngram", "method", "prompt")
        return {
            "key": key,
            "eval_sets": current["params"].get("eval_sets") or {},
            "samples": samples,
            "checked": checked,
            "by_set": [{"eval_set": s, "samples": n, "items": k} for s, n, k in by_set],
            "top": [dict(zip(keys, r)) for r in top],
        }
