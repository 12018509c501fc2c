"""Shard files of a scoring run on another engine: what goes out, what comes back, and the merge into the workspace.

The Ray engine (``core.scoring.ray_engine``) never lets a worker touch DuckDB, which keeps one writer. The driver
cuts the contents still unscored for a scorer key into shards, sends them out as Arrow tables (content hash and the
text fields; never the embedding column), and each shard's results come back as one Parquet file named by shard in
the run's folder beside the workspace::

    <workspace>.shards/<scorer>-<16 hex digits of the key>/result-00003.parquet

A shard's file is written whole (to a temporary name, then renamed), then merged into the scorer's table in one
transaction, then deleted. So a run killed at any moment leaves only whole result files, and the next run merges
them before it scores anything: it scores only what has no result, and ends with the scores an uninterrupted run
gives. Merging is an upsert by content hash, so merging a file twice (killed after the merge, before the delete)
changes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from core.pause_points import pause_point
from core.scoring.base import Scorer, iter_scored

SHARD_COLUMN = "_shard"  # which shard a row belongs to
APPLIES_COLUMN = "_applies"  # False: the scorer does not apply to the content (its result was None)
ERROR_COLUMN = "_error"  # a worker's message for the rows it could not score; None on success
COLUMNS_COLUMN = "_columns"  # the scorer's columns as JSON: an embedder's dimension is known only on the worker
_HELPERS = (SHARD_COLUMN, ERROR_COLUMN, COLUMNS_COLUMN)
_COLUMNS_KEY = b"winnow.columns"  # where a result file keeps them

_SCALARS = {
    "BOOLEAN": pa.bool_(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "FLOAT": pa.float32(),
    "VARCHAR": pa.string(),
}


def arrow_type(duckdb_type: str) -> pa.DataType:
    """The Arrow type that carries a score column of this DuckDB type unchanged (``FLOAT[384]`` -> list of float32)."""
    base, bracket, _ = duckdb_type.partition("[")
    if base not in _SCALARS:
        raise ValueError(f"unsupported score column type {duckdb_type!r}")
    return pa.list_(_SCALARS[base]) if bracket else _SCALARS[base]


def input_table(contents: list[dict], shard: int) -> pa.Table:
    """One shard to send out: content hash, messages and tools as JSON text, and the shard's number."""
    return pa.table(
        {
            "content_hash": [c["content_hash"] for c in contents],
            "messages": [json.dumps(c["messages"], ensure_ascii=False) for c in contents],
            "tools": [None if c.get("tools") is None else json.dumps(c["tools"], ensure_ascii=False) for c in contents],
            SHARD_COLUMN: pa.array([shard] * len(contents), pa.int64()),
        }
    )


def samples_of(table: pa.Table) -> list[dict]:
    """The scorer input (``core.scoring.base``'s sample dicts) of an input table."""
    return [
        {
            "id": h,
            "content_hash": h,
            "messages": json.loads(m),
            "tools": None if t is None else json.loads(t),
        }
        for h, m, t in zip(
            table["content_hash"].to_pylist(), table["messages"].to_pylist(), table["tools"].to_pylist(), strict=True
        )
    ]


def result_table(
    columns: dict[str, str], hashes: list[str], shards: list[int], rows: list[dict | None] | None, error: str | None
) -> pa.Table:
    """The results of some rows, typed as the scorer's columns say. ``rows`` None with an ``error``: none could be
    scored, and every row carries the error."""
    n = len(hashes)
    data = {
        "content_hash": pa.array(hashes, pa.string()),
        SHARD_COLUMN: pa.array(shards, pa.int64()),
        APPLIES_COLUMN: pa.array([rows is not None and r is not None for r in (rows or [None] * n)], pa.bool_()),
        ERROR_COLUMN: pa.array([error] * n, pa.string()),
        COLUMNS_COLUMN: pa.array([json.dumps(columns)] * n, pa.string()),
    }
    for col, typ in columns.items():
        values = [None if rows is None or r is None else r.get(col) for r in (rows or [None] * n)]
        data[col] = pa.array(values, arrow_type(typ))
    return pa.table(data)


def result_rows(table: pa.Table, columns: dict[str, str]) -> list[tuple[str, dict | None]]:
    """(content_hash, {column: value} or None) pairs, as ``Store.write_scores`` takes them."""
    hashes = table["content_hash"].to_pylist()
    applies = table[APPLIES_COLUMN].to_pylist()
    values = {col: table[col].to_pylist() for col in columns}
    return [(h, {col: values[col][i] for col in columns} if applies[i] else None) for i, h in enumerate(hashes)]


class ShardFolder:
    """The folder of one scorer key's run: result files waiting to be merged.

    Args:
        workspace: the DuckDB file; the folder sits beside it (``<file>.shards/``).
        scorer: the scorer's name; key: its key (the folder is per key, so another key never merges here).
    """

    def __init__(self, workspace: str | os.PathLike, scorer: str, key: str):
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        safe = re.sub(r"[^A-Za-z0-9_-]", "_", scorer)
        self.path = Path(f"{workspace}.shards") / f"{safe}-{digest}"

    def result_path(self, shard: int) -> Path:
        return self.path / f"result-{shard:05d}.parquet"

    def pending(self) -> list[Path]:
        """Whole result files not merged yet (from a killed run), in shard order."""
        return sorted(self.path.glob("result-*.parquet")) if self.path.is_dir() else []

    def next_shard(self) -> int:
        """A shard number no pending file uses."""
        taken = [int(p.stem.split("-")[1]) for p in self.pending()]
        return max(taken, default=-1) + 1

    def write(self, shard: int, table: pa.Table) -> Path:
        """Write a shard's results whole: to a temporary name, then renamed, so a kill never leaves half a file.
        The scorer's columns (from the worker) go in the file's metadata."""
        self.path.mkdir(parents=True, exist_ok=True)
        final = self.result_path(shard)
        partial = final.with_suffix(".partial")
        columns = table[COLUMNS_COLUMN][0].as_py() if table.num_rows else "{}"
        table = table.drop_columns(list(_HELPERS))
        pq.write_table(table.replace_schema_metadata({_COLUMNS_KEY: columns.encode()}), partial)
        os.replace(partial, final)
        pause_point("score.shard_written")
        return final

    def merge(self, store, name: str, key: str, params: dict, path: Path) -> int:
        """Upsert one result file into the scorer's table in one transaction, then delete it. Returns its rows."""
        table = pq.read_table(path)
        columns = json.loads(table.schema.metadata[_COLUMNS_KEY])
        rows = result_rows(table, columns)
        store.ensure_scorer(name, key, columns, params)
        store.write_scores(name, key, columns, rows)
        pause_point("score.shard_merged")
        path.unlink()
        return len(rows)

    def clean(self) -> None:
        """Remove the folder once nothing is pending (and its parent, when empty)."""
        if self.path.is_dir() and not self.pending():
            shutil.rmtree(self.path, ignore_errors=True)
            with contextlib.suppress(OSError):  # another key's run is pending there
                self.path.parent.rmdir()


class ShardScorer:
    """What a worker runs (a Ray actor, or a worker process): set the scorer up once, then score the shards (or parts
    of shards) it is handed, returning result tables.

    A failure does not raise here (Ray would retry and then wrap it in its own traceback): the rows come back with the
    worker's message in ``_error``, and the driver stops the run with the sample ids and that message.
    """

    def __init__(self, scorer: Scorer, token_budget: int | None):
        from core.scoring.base import use_default_threads

        use_default_threads()
        self.scorer = scorer
        self.token_budget = token_budget
        self.setup_error: str | None = None
        try:
            scorer.setup()
        except Exception as error:  # said on the first batch, with the samples it was meant for
            self.setup_error = f"{type(error).__name__}: {error}"

    def __call__(self, batch: pa.Table) -> pa.Table:
        hashes = batch["content_hash"].to_pylist()
        shards = batch[SHARD_COLUMN].to_pylist()
        columns = self.scorer.columns
        if self.setup_error is not None:
            return result_table(columns, hashes, shards, None, self.setup_error)
        by_hash: dict[str, dict | None] = {}
        try:
            for scored, rows in iter_scored(self.scorer, samples_of(batch), token_budget=self.token_budget):
                for sample, row in zip(scored, rows, strict=True):
                    by_hash[sample["content_hash"]] = row
        except Exception:
            return self._one_by_one(batch, hashes, shards)
        return result_table(columns, hashes, shards, [by_hash[h] for h in hashes], None)

    def _one_by_one(self, batch: pa.Table, hashes: list[str], shards: list[int]) -> pa.Table:
        """After a batch failed: score each sample alone, so the error names the samples that fail, not their
        batch mates. Slow, but only on the way to stopping the run."""
        parts = []
        for i, sample in enumerate(samples_of(batch)):
            try:
                row = self.scorer.score_batch([sample])[0]
                parts.append(result_table(self.scorer.columns, [hashes[i]], [shards[i]], [row], None))
            except Exception as error:
                message = f"{type(error).__name__}: {error}"
                parts.append(result_table(self.scorer.columns, [hashes[i]], [shards[i]], None, message))
        return pa.concat_tables(parts)
