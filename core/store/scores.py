"""Scores: the ``scorers`` table (which scorer key is the current one for each scorer, with its columns) and one
table per scorer, ``score_<name>(content_hash, scorer_key, scored_at, <columns>)``, keyed by content so duplicates
are scored once. ``core/scoring/`` computes them."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import duckdb
import pyarrow as pa

from core.errors import NotFound
from core.store.base import _ident, _now
from core.store.filters import SampleFilter, ScoreColumn
from core.store.samples import messages_of

_TYPE = re.compile(r"BOOLEAN|INTEGER|BIGINT|DOUBLE|FLOAT|VARCHAR|FLOAT\[\d+\]|DOUBLE\[\d+\]|VARCHAR\[\]")


class Scores:
    """Score tables, their current keys and columns, and what is left to score."""

    def score_columns(
        self, *, numeric: bool = False, cur: duckdb.DuckDBPyConnection | None = None
    ) -> list[ScoreColumn]:
        """The current score columns (from each scorer's current key), embeddings excluded; with ``numeric`` only
        those that hold numbers (``ScoreColumn.numeric``). ``cur``: read inside that transaction."""
        cur = cur or self.cursor()
        out = []
        for name, columns in cur.execute("SELECT name, columns FROM scorers ORDER BY name").fetchall():
            for col, typ in json.loads(columns).items():
                if "[" in typ:  # vectors are never part of a page
                    continue
                out.append(ScoreColumn(name, col, typ))
        return [c for c in out if c.numeric] if numeric else out

    def scorer_keys(self, *, cur: duckdb.DuckDBPyConnection | None = None) -> dict[str, dict]:
        """The current key of each scorer that has run: {name: {key, columns, params, updated_at}}. ``cur``: read
        inside that transaction."""
        rows = (cur or self.cursor()).execute("SELECT name, key, columns, params, updated_at FROM scorers").fetchall()
        return {
            r[0]: {"key": r[1], "columns": json.loads(r[2]), "params": json.loads(r[3]), "updated_at": r[4]}
            for r in rows
        }

    def ensure_scorer(self, name: str, key: str, columns: dict[str, str], params: dict) -> None:
        """Create the scorer's table (adding any new columns) and make ``key`` its current key."""
        t = _ident(name)
        for col, typ in columns.items():
            _ident(col)
            if not _TYPE.fullmatch(typ):
                raise ValueError(f"unsupported score column type {typ!r} for {col}")

        def body(cur):
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS score_{t} (content_hash VARCHAR NOT NULL, scorer_key VARCHAR NOT NULL, "
                "scored_at TIMESTAMP NOT NULL, PRIMARY KEY (content_hash, scorer_key))"
            )
            have = dict(
                cur.execute(
                    "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?",
                    [f"score_{t}"],
                ).fetchall()
            )
            for col, typ in columns.items():
                if col not in have:
                    cur.execute(f"ALTER TABLE score_{t} ADD COLUMN {col} {typ}")
                elif (was := have[col]) != typ and was.endswith("]") and not was.endswith("[]") and typ.endswith("]"):
                    # Another embedder, another dimension (FLOAT[384] -> FLOAT[512]): the column becomes a list
                    # (FLOAT[]) so both keys' vectors fit; each key's rows keep their own length.
                    cur.execute(f"ALTER TABLE score_{t} ALTER COLUMN {col} TYPE {typ[: typ.index('[')]}[]")
            cur.execute(
                "INSERT OR REPLACE INTO scorers VALUES (?, ?, ?, ?, ?)",
                [name, key, json.dumps(columns), json.dumps(params, default=str), _now()],
            )

        self._retrying(body)

    def unscored(self, name: str, key: str, *, limit: int | None = None, after_hash: str | None = None) -> list[dict]:
        """Distinct contents with no result for ``key`` yet, by content_hash: [{content_hash, messages, tools}].

        Scorers work on content, so duplicates are scored once. Pass ``after_hash`` to page through.
        """
        t = _ident(name)
        q = (
            "SELECT s.content_hash, arg_min(s.messages, s.rid) AS messages, arg_min(s.raw, s.rid) AS raw, "
            "arg_min(s.format, s.rid) AS format, arg_min(s.tools, s.rid) AS tools, "
            "arg_min(src.mapping, s.rid) AS mapping FROM samples s JOIN sources src ON src.source_id = s.source_id "
            f"WHERE NOT EXISTS (SELECT 1 FROM score_{t} r WHERE r.content_hash = s.content_hash AND r.scorer_key = ?)"
        )
        params: list = [key]
        if after_hash is not None:
            q += " AND s.content_hash > ?"
            params.append(after_hash)
        q += " GROUP BY s.content_hash ORDER BY s.content_hash"
        if limit is not None:
            q += " LIMIT ?"
            params.append(int(limit))
        rows = self.cursor().execute(q, params).fetchall()
        return [
            {
                "content_hash": h,
                "messages": messages_of(messages, raw, fmt, mapping),
                "tools": json.loads(tools) if tools is not None else None,
            }
            for h, messages, raw, fmt, tools, mapping in rows
        ]

    def count_contents(self) -> int:
        """Distinct contents in the workspace (what a scorer scores: duplicates once)."""
        return self.cursor().execute("SELECT count(DISTINCT content_hash) FROM samples").fetchall()[0][0]

    def unscored_rids(self, name: str, key: str, among: Sequence[str] | None = None) -> list[int]:
        """The first sample (lowest rid) of each distinct content with no result for ``key``, in rid order; with
        ``among``, only of those content hashes (a cascade scores the survivors of its cheaper stages).

        With ``contents_at`` this is how the runner pages: one pass to find what is left, then each page read by a
        range of rids, which DuckDB's zone maps prune (paging by content hash with LIMIT re-groups everything left
        for every page, quadratic in the workspace's size).
        """
        t = _ident(name)
        cur = self.cursor()
        exists = cur.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [f"score_{t}"]
        ).fetchall()[0][0]
        clauses, params = [], []
        if exists:
            clauses.append(
                f"NOT EXISTS (SELECT 1 FROM score_{t} r WHERE r.content_hash = s.content_hash AND r.scorer_key = ?)"
            )
            params.append(key)
        if among is not None:
            clauses.append("s.content_hash IN (SELECT unnest(?::VARCHAR[]))")
            params.append(list(among))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        found = cur.execute(
            f"SELECT min(s.rid) AS rid FROM samples s {where} GROUP BY s.content_hash ORDER BY rid", params
        ).fetchnumpy()
        return found["rid"].tolist()

    def contents_at(self, rids: list[int]) -> list[dict]:
        """The contents of the samples with these rids (ascending, as ``unscored_rids`` gives them), in rid order:
        [{content_hash, messages, tools}]. A sample deleted meanwhile is left out; one edited meanwhile comes with
        its new content."""
        if not rids:
            return []
        rows = (
            self.cursor()
            .execute(
                "SELECT s.content_hash, s.messages, s.raw, s.format, s.tools, src.mapping FROM samples s "
                "JOIN sources src ON src.source_id = s.source_id WHERE s.rid BETWEEN ? AND ? "
                "AND s.rid IN (SELECT unnest(?::BIGINT[])) ORDER BY s.rid",
                [rids[0], rids[-1], list(rids)],
            )
            .fetchall()
        )
        return [
            {
                "content_hash": h,
                "messages": messages_of(messages, raw, fmt, mapping),
                "tools": json.loads(tools) if tools is not None else None,
            }
            for h, messages, raw, fmt, tools, mapping in rows
        ]

    def count_unscored(self, name: str, key: str) -> tuple[int, int]:
        """(contents still to score, distinct contents in the workspace) for a scorer key."""
        t = _ident(name)
        cur = self.cursor()
        total = cur.execute("SELECT count(DISTINCT content_hash) FROM samples").fetchall()[0][0]
        exists = cur.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [f"score_{t}"]
        ).fetchall()[0][0]
        if not exists:
            return total, total
        todo = cur.execute(
            f"SELECT count(DISTINCT content_hash) FROM samples s WHERE NOT EXISTS "
            f"(SELECT 1 FROM score_{t} r WHERE r.content_hash = s.content_hash AND r.scorer_key = ?)",
            [key],
        ).fetchall()[0][0]
        return todo, total

    def write_scores(self, name: str, key: str, columns: dict[str, str], rows: list[tuple[str, dict]]) -> None:
        """Write one batch of results, in its own transaction: (content_hash, {column: value}) pairs.

        A result of None (not applicable) is stored as a row of NULLs, so the content is not queued again.
        """
        t = _ident(name)
        cols = [_ident(c) for c in columns]
        now = _now()
        data = {"content_hash": [h for h, _ in rows], "scorer_key": [key] * len(rows), "scored_at": [now] * len(rows)}
        for c in cols:
            data[c] = [(r or {}).get(c) for _, r in rows]
        table = pa.table(data)

        def body(cur):
            cur.register("new_scores", table)
            try:
                cur.execute(
                    f"INSERT OR REPLACE INTO score_{t} (content_hash, scorer_key, scored_at, {', '.join(cols)}) "
                    f"SELECT content_hash, scorer_key, scored_at, "
                    + ", ".join(f"{c}::{columns[c]}" for c in cols)
                    + " FROM new_scores"
                )
            finally:
                cur.unregister("new_scores")

        self._retrying(body)

    def score_choices(self, column: str, *, most: int = 20) -> list[str] | None:
        """The distinct values of a current text or yes/no score column, as text, for a filter's choices; None when
        it has more than ``most`` or one longer than 40 characters (free text, such as a generated answer)."""
        cols = {c.column: c for c in self.score_columns()}
        if column not in cols:
            raise NotFound(f"no score column {column!r}; score the workspace first")
        sc = cols[column]
        t, c = _ident(sc.scorer), _ident(column)
        rows = (
            self.cursor()
            .execute(
                f"SELECT DISTINCT CAST({c} AS VARCHAR) FROM score_{t} WHERE scorer_key = "
                f"(SELECT key FROM scorers WHERE name = ?) AND {c} IS NOT NULL LIMIT ?",
                [sc.scorer, most + 1],
            )
            .fetchall()
        )
        if len(rows) > most or any(len(r[0]) > 40 for r in rows):  # many values, or long ones: free text
            return None
        return sorted(r[0] for r in rows)

    def score_values(self, column: str, f: SampleFilter | None = None, *, limit: int = 200_000) -> list:
        """Values of one current score column over the samples matching ``f`` (for histograms; capped)."""
        where, params, used, cols = self._filter_sql(f)
        if column not in cols:
            raise NotFound(f"no score column {column!r}; score the workspace first")
        sc = cols[column]
        used = {sc.scorer} | used
        # The sample is drawn from the filtered rows: DuckDB applies USING SAMPLE before a WHERE of the same query.
        q = (
            f"SELECT v FROM (SELECT {_ident(sc.scorer)}.{_ident(column)} AS v FROM {self._from(used)} WHERE {where} "
            f"AND {_ident(sc.scorer)}.{_ident(column)} IS NOT NULL) USING SAMPLE reservoir({int(limit)} ROWS) "
            "REPEATABLE (0)"
        )
        return [r[0] for r in self.cursor().execute(q, params).fetchall()]
