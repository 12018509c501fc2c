"""Whole-column reads for exports and algorithms: samples matching a filter streamed in batches (export), the
source files they came from (manifests), and whole columns as arrays (selection, the map). Reads ``samples``,
``sources``, the score tables and the current map; owns no table."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import pyarrow as pa

from core.errors import NotFound
from core.store.base import _ident
from core.store.filters import SampleFilter
from core.store.samples import messages_of


class ExportArrays:
    """Streams and arrays over every matching sample (never for pages)."""

    def iter_export(
        self, f: SampleFilter | None = None, *, with_scores: bool = False, batch_size: int = 10_000
    ) -> Iterator[pa.RecordBatch]:
        """Stream the samples matching ``f`` in import order, a batch at a time (never the whole table).

        Each row has id, source, source_index, format, raw, messages, tools, status, tags, note, version, the
        source's mapping, and (with_scores) every current score column, the task label and its confidence, and the
        sample's place on the current map (cluster, cluster_name, map_x, map_y; NULL without a map).
        """
        where, params, filter_scorers, score_cols = self._filter_sql(f)
        scorers = {c.scorer for c in score_cols.values()} if with_scores else filter_scorers
        select = [
            "s.id",
            "src.name AS source",
            "s.source_index",
            "s.format",
            "s.raw",
            "s.messages",
            "s.tools",
            "s.status",
            "s.tags",
            "s.note",
            "s.version",
            "s.content_hash",
            "src.mapping",
        ]
        joins = ""
        if with_scores:
            select += [f"{_ident(c.scorer)}.{_ident(c.column)}" for c in score_cols.values()]
            select += [
                "s.task_label",
                "s.task_label_confidence",
                "mp.cluster",
                "json_extract_string(mm.cluster_names, '$.\"' || mp.cluster::VARCHAR || '\"') AS cluster_name",
                "mp.x AS map_x",
                "mp.y AS map_y",
            ]
            joins = (
                " LEFT JOIN map_points mp ON mp.content_hash = s.content_hash "
                "AND mp.map_key = (SELECT value FROM meta WHERE key = 'current_map') "
                "LEFT JOIN maps mm ON mm.map_key = mp.map_key"
            )
        q = (
            f"SELECT {', '.join(select)} FROM {self._from(scorers)} "
            f"JOIN sources src ON src.source_id = s.source_id{joins} WHERE {where} ORDER BY s.rid"
        )
        reader = self.cursor().sql(q, params=params).to_arrow_reader(batch_size)
        yield from reader

    def source_files(self, f: SampleFilter | None = None) -> list[dict]:
        """The sources that samples matching ``f`` came from, with their sha256 (for export manifests)."""
        where, params, _, _ = self._filter_sql(f)
        cur = self.cursor()
        rows = cur.execute(
            f"SELECT src.name, src.path, src.sha256, src.format, count(*) FROM {self._from(())} "
            f"JOIN sources src ON src.source_id = s.source_id WHERE {where} GROUP BY ALL ORDER BY 1",
            params,
        ).fetchall()
        return [{"name": r[0], "path": r[1], "sha256": r[2], "format": r[3], "samples": r[4]} for r in rows]

    def has_untrained_turns(self, f: SampleFilter | None = None) -> bool:
        """Whether a sample matching ``f`` has an assistant turn marked not to train on (``"weight": 0``). Only the
        samples whose stored text mentions a weight are parsed."""
        where, params, scorers, _ = self._filter_sql(f)
        rows = (
            self.cursor()
            .execute(
                f"SELECT s.messages, s.raw, s.format, src.mapping FROM {self._from(scorers)} "
                f"JOIN sources src ON src.source_id = s.source_id WHERE {where} "
                "AND (s.messages LIKE '%\"weight\"%' OR (s.messages IS NULL AND s.raw LIKE '%\"weight\"%'))",
                params,
            )
            .fetchall()
        )
        return any(
            any(m.get("role") == "assistant" and m.get("weight", 1) == 0 for m in messages_of(*row)) for row in rows
        )

    def sample_arrays(
        self,
        columns: Sequence[str],
        f: SampleFilter | None = None,
        *,
        embedding: bool = False,
        batch_size: int = 50_000,
    ) -> dict[str, object]:
        """Whole columns over the samples matching ``f``, in import order, for algorithms (selection, the map).

        Not for pages: this reads every matching row (a batch at a time, only the columns asked for).

        Args:
            columns: any of ``id``, ``content_hash``, ``status``, ``prompt``, ``answer``, ``source``,
                ``source_index`` (a record's place in its file, from 0), ``tags``, ``n_turns``, ``task_label``, ``task_label_confidence``, ``dup_of``, or a current score column.
            embedding: also return ``embedding``, an (n, d) float32 matrix with NaN rows where a sample has none.

        Returns:
            {column: numpy array (numbers, booleans as float with NaN for missing) or list (text)}.
        """
        import numpy as np

        plain = {
            "id",
            "content_hash",
            "status",
            "prompt",
            "answer",
            "tags",
            "n_turns",
            "task_label",
            "task_label_confidence",
            "task_label_source",
            "task_label_reason",
            "dup_of",
            "rid",
            "source_index",
        }
        where, params, filter_scorers, score_cols = self._filter_sql(f)
        select, scorers = [], set(filter_scorers)
        for col in columns:
            if col in plain:
                select.append(f"s.{col}")
            elif col == "source":
                select.append("src.name AS source")
            elif col in score_cols:
                select.append(f"{_ident(score_cols[col].scorer)}.{_ident(col)}")
                scorers.add(score_cols[col].scorer)
            else:
                raise NotFound(f"no column {col!r} in this workspace; score it first")
        dim = None
        if embedding:
            info = self.scorer_keys().get("embedding")
            if info is None:
                raise NotFound("no embeddings yet: run the embedding scorer (Score page, or `core score`)")
            dim = int(re.search(r"\[(\d+)\]", info["columns"]["embedding"]).group(1))
            scorers.add("embedding")
            select.append("embedding.embedding")
        q = (
            f"SELECT {', '.join(select) or 's.rid'} FROM {self._from(scorers)} "
            f"JOIN sources src ON src.source_id = s.source_id WHERE {where} ORDER BY s.rid"
        )
        parts: dict[str, list] = {c: [] for c in columns}
        vectors = []
        for batch in self.cursor().sql(q, params=params).to_arrow_reader(batch_size):
            for col in columns:
                parts[col].append(batch.column(col))
            if embedding:
                vec = batch.column("embedding")
                flat = np.full((len(vec), dim), np.nan, dtype=np.float32)
                valid = np.asarray(vec.is_valid())
                if valid.any():
                    values = vec.filter(vec.is_valid()).flatten().to_numpy(zero_copy_only=False)
                    flat[valid] = values.astype(np.float32).reshape(-1, dim)
                vectors.append(flat)
        out: dict[str, object] = {}
        for col in columns:
            arr = pa.chunked_array(parts[col]) if parts[col] else pa.chunked_array([], pa.null())
            if pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type) or pa.types.is_boolean(arr.type):
                out[col] = np.asarray(arr.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
                if pa.types.is_integer(arr.type) and col in ("rid", "n_turns") and arr.null_count == 0:
                    out[col] = out[col].astype(np.int64)
            else:
                out[col] = arr.to_pylist()
        if embedding:
            out["embedding"] = np.concatenate(vectors) if vectors else np.zeros((0, dim), np.float32)
        return out
