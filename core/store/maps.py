"""The map: the ``maps`` table (one map per embedding set: k, seed, cluster names) and ``map_points`` (a 2-D point
and a cluster per content), the ``meta`` row ``current_map``, and what the Explore page reads of them.
``core/map/workspace.py`` computes maps."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import pyarrow as pa

from core.errors import NotFound
from core.store.base import _ident, _now, _one
from core.store.filters import UNLABELED

_MAP_KEY = re.compile(r"[0-9a-f]{8,64}")

MAPS_KEPT = 3  # maps stored at once (each holds one row per content); the oldest go first


def _map_key(key: str) -> str:
    """Map keys are hex digests written into SQL text (in joins), so check them like identifiers."""
    if not _MAP_KEY.fullmatch(str(key)):
        raise ValueError(f"not a map key: {key!r}")
    return key


def _points_table(content_hashes: Sequence[str], xy, clusters) -> pa.Table:
    """Points to store, as an Arrow table: content_hash, x and y (float32, from the columns of ``xy``), cluster."""
    return pa.table(
        {
            "content_hash": pa.array(list(content_hashes), pa.string()),
            "x": pa.array([float(v) for v in xy[:, 0]], pa.float32()),
            "y": pa.array([float(v) for v in xy[:, 1]], pa.float32()),
            "cluster": pa.array([int(c) for c in clusters], pa.int32()),
        }
    )


class Maps:
    """Storing maps, placing new contents on them, and reading points and clusters."""

    def embedding_fingerprint(self) -> dict | None:
        """What the current embeddings cover, cheaply: {embedding_key, contents, digest}; None when there are none.

        The digest is an order-free hash of the embedded content hashes (xor and sum of their DuckDB hashes), so it
        changes when a sample is imported, edited or removed, without reading every hash into Python.
        """
        info = self.scorer_keys().get("embedding")
        if info is None:
            return None
        q = (
            "SELECT count(*), coalesce(bit_xor(hash(e.content_hash)), 0), "
            "coalesce(sum(hash(e.content_hash) % 1000003), 0) FROM score_embedding e WHERE e.scorer_key = ? "
            "AND e.embedding IS NOT NULL AND e.content_hash IN (SELECT content_hash FROM samples)"
        )
        contents, xor, total = self.cursor().execute(q, [info["key"]]).fetchall()[0]
        return {"embedding_key": info["key"], "contents": int(contents), "digest": f"{int(xor):016x}{int(total):x}"}

    def save_map(
        self,
        map_key: str,
        *,
        embedding_key: str,
        k: int,
        seed: int,
        content_hashes: Sequence[str],
        xy,
        clusters,
        names: dict[int, str],
        user: str,
    ) -> None:
        """Store a map (one point and cluster per content) and make it the current one. Older maps beyond the
        ``MAPS_KEPT`` most recent are dropped: each holds a row per content."""
        self.authorize(user, "map")  # before the points are copied
        _map_key(map_key)
        table = _points_table(content_hashes, xy, clusters)
        names_json = json.dumps({str(c): n for c, n in names.items()}, ensure_ascii=False)

        def body(cur):
            self.authorize(user, "map", cur=cur)
            cur.execute("DELETE FROM map_points WHERE map_key = ?", [map_key])
            cur.execute("DELETE FROM maps WHERE map_key = ?", [map_key])
            cur.register("new_points", table)
            try:
                cur.execute("INSERT INTO map_points SELECT ?, content_hash, x, y, cluster FROM new_points", [map_key])
            finally:
                cur.unregister("new_points")
            cur.execute(
                "INSERT INTO maps VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [map_key, embedding_key, int(k), int(seed), len(table), names_json, _now(), user],
            )
            cur.execute("INSERT OR REPLACE INTO meta VALUES ('current_map', ?)", [map_key])
            old = [
                r[0]
                for r in cur.execute(
                    "SELECT map_key FROM maps ORDER BY created_at DESC, map_key OFFSET ?", [MAPS_KEPT]
                ).fetchall()
            ]
            if old:
                cur.execute("DELETE FROM map_points WHERE map_key IN (SELECT unnest(?::VARCHAR[]))", [old])
                cur.execute("DELETE FROM maps WHERE map_key IN (SELECT unnest(?::VARCHAR[]))", [old])
            detail = {"map_key": map_key, "k": int(k), "seed": int(seed), "contents": len(table)}
            self._log_in(cur, "map", user, None, detail)  # the map and its record are one change

        self._retrying(body)

    def _vectors(self, column: pa.ChunkedArray, dim: int):
        """An arrow FLOAT[dim] column (no NULLs) as an (n, dim) float32 matrix."""
        import numpy as np

        if len(column) == 0:
            return np.zeros((0, dim), dtype=np.float32)
        flat = column.combine_chunks().flatten().to_numpy(zero_copy_only=False)
        return np.asarray(flat, dtype=np.float32).reshape(-1, dim)

    def map_placement(self, reference: int) -> dict:
        """What placing new contents on the current map needs (``core.map.workspace.place_new``): the contents that have
        a current embedding but no point on the map ("new": content_hash, embedding), and up to ``reference`` of the
        map's points with their embeddings ("reference": content_hash, x, y, cluster, embedding), the same ones every
        time (by a hash of their content).

        Raises:
            NotFound: no map, or no embeddings.
        """
        cur = self.cursor()
        key = self._current_map_key(cur)
        info = self.scorer_keys().get("embedding")
        if info is None:
            raise NotFound("no embeddings yet: run the embedding scorer (Score page, or `core score`)")
        dim = int(re.search(r"\[(\d+)\]", info["columns"]["embedding"]).group(1))
        new = cur.sql(
            "SELECT e.content_hash, e.embedding FROM score_embedding e WHERE e.scorer_key = ? AND e.embedding IS NOT "
            "NULL AND e.content_hash IN (SELECT content_hash FROM samples) AND NOT EXISTS (SELECT 1 FROM map_points "
            "mp WHERE mp.map_key = ? AND mp.content_hash = e.content_hash) ORDER BY e.content_hash",
            params=[info["key"], key],
        ).to_arrow_table()
        ref = cur.sql(
            "SELECT mp.content_hash, mp.x, mp.y, mp.cluster, e.embedding FROM map_points mp JOIN score_embedding e "
            "ON e.content_hash = mp.content_hash AND e.scorer_key = ? WHERE mp.map_key = ? AND e.embedding IS NOT "
            "NULL ORDER BY hash(mp.content_hash), mp.content_hash LIMIT ?",
            params=[info["key"], key, int(reference)],
        ).to_arrow_table()
        out = {
            "new": {"content_hash": new.column("content_hash").to_pylist()},
            "reference": {c: ref.column(c).to_numpy() for c in ("x", "y", "cluster")},
        }
        out["new"]["embedding"] = self._vectors(new.column("embedding"), dim)
        out["reference"]["embedding"] = self._vectors(ref.column("embedding"), dim)
        out["reference"]["content_hash"] = ref.column("content_hash").to_pylist()
        return out

    def add_map_points(self, map_key: str, content_hashes: Sequence[str], xy, clusters, *, user: str) -> int:
        """Put new contents on a stored map without refitting it (their points come from
        ``core.map.workspace.place_new``). Returns how many were added (a content already on the map is skipped)."""
        self.authorize(user, "map")
        _map_key(map_key)
        table = _points_table(content_hashes, xy, clusters)

        def body(cur):
            self.authorize(user, "map", cur=cur)
            cur.register("placed_points", table)
            try:
                added = cur.execute(
                    "INSERT INTO map_points SELECT ?, p.content_hash, p.x, p.y, p.cluster FROM placed_points p "
                    "WHERE NOT EXISTS (SELECT 1 FROM map_points mp WHERE mp.map_key = ? AND mp.content_hash = "
                    "p.content_hash) RETURNING 1",
                    [map_key, map_key],
                ).fetchall()
                return len(added)
            finally:
                cur.unregister("placed_points")

        return self._retrying(body)

    def map_point_count(self, map_key: str) -> int:
        """How many contents a stored map places: those it was fitted on (``contents``) and any placed since."""
        return self.cursor().execute("SELECT count(*) FROM map_points WHERE map_key = ?", [map_key]).fetchall()[0][0]

    def use_map(self, map_key: str) -> None:
        """Make a stored map the current one (a map already computed for these embeddings is reused, not redone)."""
        if self.get_map(map_key) is None:
            raise NotFound(f"no map {map_key!r} in this workspace")
        self._retrying(lambda cur: cur.execute("INSERT OR REPLACE INTO meta VALUES ('current_map', ?)", [map_key]))

    def get_map(self, map_key: str | None = None) -> dict | None:
        """A stored map's facts (the current map when ``map_key`` is None), or None: {map_key, embedding_key, k,
        seed, contents, cluster_names {int: str}, created_at, created_by}."""
        cur = self.cursor()
        map_key = map_key or self._meta(cur, "current_map")
        if map_key is None:
            return None
        rel = cur.execute("SELECT * FROM maps WHERE map_key = ?", [map_key])
        row = _one(rel.fetchall())
        if row is None:
            return None
        out = dict(zip([d[0] for d in rel.description], row))
        out["cluster_names"] = {int(c): n for c, n in json.loads(out["cluster_names"]).items()}
        return out

    def _current_map_key(self, cur) -> str:
        key = self._meta(cur, "current_map")
        if key is None:
            raise NotFound("no map yet: compute one on the Explore page (or `python -m core map`)")
        return _map_key(key)

    def map_coordinates(self) -> dict[str, object]:
        """Every sample on the current map, in import order: {rid, x, y, cluster} numpy arrays (numbers only, so it
        stays cheap at 1M samples; ``map_details`` fetches the text of the points a page draws)."""
        import numpy as np

        cur = self.cursor()
        key = self._current_map_key(cur)
        table = cur.sql(
            "SELECT s.rid, mp.x, mp.y, mp.cluster FROM samples s JOIN map_points mp "
            f"ON mp.content_hash = s.content_hash AND mp.map_key = '{key}'"
        ).to_arrow_table()
        # Sorted here rather than with ORDER BY: numpy sorts 1M rids in ~50 ms, DuckDB's ORDER BY cost ~0.2 s more.
        out = {c: np.asarray(table.column(c).to_numpy()) for c in ("rid", "x", "y", "cluster")}
        order = np.argsort(out["rid"], kind="stable")
        return {c: v[order] for c, v in out.items()}

    # What ``map_details`` can return besides rid, prompt and a score: {name: SQL expression}.
    MAP_DETAIL_COLUMNS = {
        "id": "s.id",
        "status": "s.status",
        "source": "src.name",
        "task_label": f"coalesce(s.task_label, '{UNLABELED}')",
        "duplicate": "s.dup_of IS NOT NULL",
    }

    def map_details(
        self,
        rids: Sequence[int],
        score_column: str | None = None,
        *,
        columns: Sequence[str] | None = None,
        hover_chars: int = 160,
    ) -> dict:
        """What the map shows of some samples (by rid, in rid order): {rid, id, status, source, task_label,
        duplicate, prompt (first ``hover_chars`` characters)} and, when asked, one current score column as "score".

        Args:
            columns: only these of id, status, source, task_label, duplicate and prompt (rid always comes); None
                means all. The Explore page reads the prompts once per map and only the colouring column per run.
        """
        score_cols = {c.column: c for c in self.score_columns()}
        wanted = [*self.MAP_DETAIL_COLUMNS, "prompt"] if columns is None else list(columns)
        select = ["s.rid"]
        for name in wanted:
            if name == "prompt":
                select.append(f"left(s.prompt, {int(hover_chars)}) AS prompt")
            elif name in self.MAP_DETAIL_COLUMNS:
                select.append(f"{self.MAP_DETAIL_COLUMNS[name]} AS {name}")
            else:
                raise ValueError(f"unknown map detail {name!r}; use {', '.join([*self.MAP_DETAIL_COLUMNS, 'prompt'])}")
        scorers = set()
        if score_column:
            if score_column not in score_cols:
                raise NotFound(f"no score column {score_column!r}; score the workspace first")
            sc = score_cols[score_column]
            select.append(f"{_ident(sc.scorer)}.{_ident(score_column)} AS score")
            scorers.add(sc.scorer)
        q = (
            f"SELECT {', '.join(select)} FROM {self._from(scorers)} JOIN sources src ON src.source_id = s.source_id "
            "WHERE s.rid IN (SELECT unnest(?::BIGINT[])) ORDER BY s.rid"
        )
        return self.cursor().sql(q, params=[[int(r) for r in rids]]).to_arrow_table().to_pydict()

    def cluster_stats(self) -> list[dict]:
        """One row per cluster of the current map: {cluster, name, samples, accepted, rejected, duplicates (shares
        in [0, 1]), ifd_mean, ifd_std (None unless IFD is scored; higher IFD = harder for the model)}."""
        cur = self.cursor()
        key = self._current_map_key(cur)
        has_ifd = "ifd" in {c.column for c in self.score_columns()}
        ifd = "avg(ifd.ifd), stddev_samp(ifd.ifd)" if has_ifd else "NULL, NULL"
        rows = cur.execute(
            f"SELECT mp.cluster, count(*), avg((s.status = 'accepted')::INTEGER), "
            f"avg((s.status = 'rejected')::INTEGER), avg((s.dup_of IS NOT NULL)::INTEGER), {ifd} "
            f"FROM {self._from({'ifd'} if has_ifd else set())} JOIN map_points mp "
            f"ON mp.content_hash = s.content_hash AND mp.map_key = '{key}' GROUP BY 1 ORDER BY 1"
        ).fetchall()
        names = (self.get_map(key) or {}).get("cluster_names", {})
        keys = ("cluster", "samples", "accepted", "rejected", "duplicates", "ifd_mean", "ifd_std")
        return [{**dict(zip(keys, r)), "name": names.get(int(r[0]), f"cluster {r[0]}")} for r in rows]
