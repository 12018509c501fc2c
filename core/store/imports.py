"""Imports: the ``sources`` table (one row per imported file, with its sha256 and format) and the insertion of a
file's samples into ``samples``, all of them or none (``core/importer.py`` parses and validates the file). Also the
files a workspace is made of, which nothing Winnow writes may replace.

A sample's ``messages`` column is NULL until someone edits it: the messages of an unedited sample are its original
record (``raw``) converted from its format, so imports write each record once (the largest cost of importing 1M
records is DuckDB writing bytes). ``core.store.samples.messages_of`` is the one place that resolves them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from contextlib import suppress
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.errors import WinnowError
from core.pause_points import pause_point
from core.store.base import _now, _one


class Imports:
    """Importing files of samples, and the workspace's own files."""

    def find_source_by_sha(self, sha256: str) -> dict | None:
        """The source already imported with this file hash, or None."""
        cur = self.cursor()
        row = cur.execute(
            "SELECT source_id, name, imported_at FROM sources WHERE sha256 = ? ORDER BY source_id LIMIT 1",
            [sha256],
        ).fetchall()
        row = _one(row)
        return None if row is None else {"source_id": row[0], "name": row[1], "imported_at": row[2]}

    def import_source(
        self,
        *,
        name: str,
        path: str | None,
        sha256: str,
        fmt: str,
        mapping: dict | None,
        chunks: Iterable[dict[str, list]],
        rejected: Callable[[], int] = lambda: 0,
        user: str,
    ) -> dict:
        """Insert one file's samples in one transaction: all of them or none.

        Args:
            chunks: column chunks, each a dict of equal-length lists ``source_index``, ``raw``, ``tools``,
                ``prompt``, ``answer``, ``n_turns``, ``content_hash`` (JSON columns serialized). They are
                inserted as they come, so the caller can parse the next chunk while DuckDB writes this one. An
                exception raised by the iterator rolls everything back.
            rejected: called once the chunks are exhausted: how many records were skipped (for the source row).

        Returns:
            {"source_id", "inserted", "duplicates"}: duplicates counts samples whose content already existed (in the
            workspace or earlier in this file); they are kept and flagged with ``dup_of``.
        """
        self.authorize(user, "import")  # before any chunk is parsed
        now = _now()

        def body(cur):
            self.authorize(user, "import", cur=cur, pin=False)
            source_id = cur.execute(
                "INSERT INTO sources (name, path, sha256, format, mapping, records, rejected, imported_at, "
                "imported_by) VALUES (?, ?, ?, ?, ?, 0, 0, ?, ?) RETURNING source_id",
                [name, path, sha256, fmt, json.dumps(mapping) if mapping else None, now, user],
            ).fetchall()[0][0]
            inserted = duplicates = 0
            before = cur.execute("SELECT coalesce(max(rid), 0) FROM samples").fetchall()[0][0]
            seen = _Bases()  # the id bases this import has given so far
            for columns in chunks:
                if len(columns["content_hash"]):
                    duplicates += self._insert_chunk(
                        cur,
                        source_id,
                        fmt,
                        columns,
                        now,
                        user,
                        first_rid=before + inserted + 1,
                        workspace_rids=before,
                        seen=seen,
                    )
                    inserted += len(columns["content_hash"])
                    pause_point("import.chunk_written")
            cur.execute(
                "UPDATE sources SET records = ?, rejected = ? WHERE source_id = ?", [inserted, rejected(), source_id]
            )
            cur.execute(
                "INSERT INTO events (sample_id, ts, user_name, action, field, before, after, version) "
                "VALUES (NULL, ?, ?, 'import', 'source', NULL, ?, NULL)",
                [now, user, json.dumps({"source_id": source_id, "name": name, "records": inserted})],
            )
            pause_point("import.before_commit")
            return {"source_id": source_id, "inserted": inserted, "duplicates": duplicates}

        # The chunks can be read once, so no retry; imports are serialized because ids are derived from what is
        # already in the workspace (there is no index to enforce their uniqueness: it would slow imports 2x).
        with self._import_lock:
            # One DuckDB thread while importing: the other core parses the next chunk (Python, under the GIL).
            # Measured on 2 cores: 1M records in 23 s instead of 28 s with DuckDB's default of one thread per core.
            # DuckDB writes a big insert's row groups to the file before the commit, five at a time by default: the
            # fifth stops the insert for ~2 s (1M Alpaca records) while the parser, its pipe full, waits. One at a
            # time spreads that work over the chunks, where the parse overlaps it, and leaves the commit little to
            # do: 1M records import in ~8 s instead of ~9.5 (2 cores).
            cur = self.cursor()
            threads, row_groups = cur.execute(
                "SELECT current_setting('threads'), current_setting('write_buffer_row_group_count')"
            ).fetchall()[0]
            cur.execute("SET threads = 1")
            cur.execute("SET write_buffer_row_group_count = 1")
            try:
                result = self._retrying(body, retries=1)
                pause_point("import.committed")
                return result
            finally:
                cur.execute(f"SET threads = {int(threads)}")
                cur.execute(f"SET write_buffer_row_group_count = {int(row_groups)}")

    def _insert_chunk(
        self,
        cur,
        source_id: int,
        fmt: str,
        columns: dict,
        now: datetime,
        user: str,
        *,
        first_rid: int,
        workspace_rids: int,
        seen: _Bases,
    ) -> int:
        """Insert one chunk of an import inside its transaction. Returns how many of its samples are duplicates.

        The first sample holding each content (by rid) is what duplicates point to. Ids derive from the content
        hash at import, with a counter for repeats, so they stay unique and stable: the hash's first 16 characters
        (the id's base), then "-k" when k earlier samples have ids of that base. Most samples of an import into an
        empty workspace share their base with no other: ``seen`` tells which, and their id is the base. The others,
        and all of them when the workspace held samples before (rid <= workspace_rids), are numbered one by one from
        what the samples before them hold, this import's earlier chunks included.
        """
        hashes = pa.array(columns["content_hash"], pa.string())
        n = len(hashes)
        bases = pc.utf8_slice_codeunits(hashes, 0, 16)
        clash = seen.add(bases)
        if workspace_rids:
            clash[:] = True
        ids, dup_of, duplicates = bases, pa.nulls(n, pa.string()), 0
        if clash.any():
            ids, dup_of, duplicates = self._number(cur, hashes, bases, clash, first_rid)
        # Built from buffers, not Python objects: pyarrow would import pandas (0.5 s) on the first pa.array of those.
        rids = pa.Array.from_buffers(pa.int64(), n, [None, pa.py_buffer(np.arange(first_rid, first_rid + n))])
        table = pa.table(
            {
                "rid": rids,
                "id": ids,
                "source_index": pa.array(columns["source_index"], pa.int64()),
                "raw": pa.array(columns["raw"], pa.string()),
                "tools": pa.array(columns["tools"], pa.string()),
                "prompt": pa.array(columns["prompt"], pa.string()),
                "answer": pa.array(columns["answer"], pa.string()),
                "n_turns": pa.array(columns["n_turns"], pa.int32()),
                "content_hash": hashes,
                "dup_of": dup_of,
            }
        )
        cur.register("new_samples", table)
        try:
            cur.execute(
                "INSERT INTO samples (rid, id, source_id, source_index, format, raw, tools, prompt, answer, "
                "n_turns, content_hash, dup_of, created_at, updated_at, updated_by) "
                "SELECT rid, id, ?, source_index, ?, raw, tools, prompt, answer, n_turns, content_hash, dup_of, ?, ?, ? "
                "FROM new_samples",
                [source_id, fmt, now, now, user],
            )
        finally:
            cur.unregister("new_samples")
        return duplicates

    def _number(self, cur, hashes: pa.Array, bases: pa.Array, clash: np.ndarray, first_rid: int) -> tuple:
        """Ids and duplicate flags for a chunk whose rows ``clash`` may share a base or a content with a sample before
        them; the other rows keep their base as id. Returns (ids, dup_of, how many are duplicates)."""
        rows = np.flatnonzero(clash)
        picked = hashes.take(pa.Array.from_buffers(pa.int64(), len(rows), [None, pa.py_buffer(rows.astype(np.int64))]))
        cur.register("new_hashes", pa.table({"h": picked}))
        # What the samples before the chunk hold of these rows: the first sample of each content hash, and how many
        # ids each id base has taken.
        try:
            first = dict(
                cur.execute(
                    "SELECT content_hash, arg_min(id, rid) FROM samples WHERE rid < ? "
                    "AND content_hash IN (SELECT h FROM new_hashes) GROUP BY content_hash",
                    [first_rid],
                ).fetchall()
            )
            taken = dict(
                cur.execute(
                    "SELECT left(id, 16), count(*) FROM samples WHERE rid < ? "
                    "AND left(id, 16) IN (SELECT left(h, 16) FROM new_hashes) GROUP BY 1",
                    [first_rid],
                ).fetchall()
            )
        finally:
            cur.unregister("new_hashes")
        ids = bases.to_pylist()
        dup_of: list[str | None] = [None] * len(ids)
        duplicates = 0
        for i, h in zip(rows.tolist(), picked.to_pylist()):
            base = ids[i]
            k = taken.get(base, 0)
            taken[base] = k + 1
            sid = base if k == 0 else f"{base}-{k}"
            ids[i] = sid
            original = first.get(h)
            if original is None:
                first[h] = sid
            else:
                dup_of[i] = original
                duplicates += 1
        return pa.array(ids, pa.string()), pa.array(dup_of, pa.string()), duplicates

    def sources(self) -> list[dict]:
        """Every imported file, oldest first."""
        cur = self.cursor()
        rows = cur.execute(
            "SELECT source_id, name, path, sha256, format, mapping, records, rejected, imported_at, imported_by "
            "FROM sources ORDER BY source_id"
        ).fetchall()
        keys = (
            "source_id",
            "name",
            "path",
            "sha256",
            "format",
            "mapping",
            "records",
            "rejected",
            "imported_at",
            "imported_by",
        )
        return [dict(zip(keys, r)) for r in rows]

    def own_files(self) -> dict[Path, str]:
        """The files this workspace is, or was imported from, which nothing Winnow writes may replace:
        {resolved path: what it is, in words}. Imported files are as their import recorded them."""
        workspace = self.path.resolve()
        files = {
            workspace: "the workspace itself",
            workspace.with_name(workspace.name + ".wal"): "the workspace's write-ahead log",
        }
        for src in self.sources():
            if src["path"]:
                files.setdefault(Path(src["path"]).resolve(), f"an imported file (source {src['source_id']})")
        return files

    def refuse_own_file(self, target: str | os.PathLike, writing: str) -> None:
        """Raise WinnowError when ``target`` is one of ``own_files`` (by any name: links and other spellings too).

        Args:
            writing: what would be written there, for the message ("the export", "the rejects file").
        """
        target = Path(target)
        resolved = target.resolve()
        for path, what in self.own_files().items():
            same = resolved == path
            if not same and target.exists() and path.exists():
                with suppress(OSError):
                    same = os.path.samefile(target, path)
            if same:
                raise WinnowError(f"{target} is {what}: {writing} would replace it; choose another file")


class _Bases:
    """The id bases an import has given so far, as 64-bit keys (equal bases, equal keys), sorted."""

    def __init__(self):
        self.keys = np.zeros(0, np.uint64)
        self.lost = False  # a chunk's bases were not all 16 bytes long: the keys no longer say which are new

    def add(self, bases: pa.Array) -> np.ndarray:
        """Record a chunk's bases; return which rows share their key with another row of the chunk or an earlier
        base (rarely but possibly with a different base: they are only numbered one by one)."""
        n = len(bases)
        lengths = pc.min_max(pc.binary_length(bases))
        if self.lost or (lengths["min"].as_py(), lengths["max"].as_py()) != (16, 16):
            self.lost = True  # not the 16 hex digits of a content hash: number every row from now on
            return np.ones(n, bool)
        start = int(np.frombuffer(bases.buffers()[1], np.int32, count=1, offset=bases.offset * 4)[0])
        raw = np.frombuffer(bases.buffers()[2], np.uint64, count=2 * n, offset=start).reshape(n, 2)
        keys = raw[:, 0] ^ (raw[:, 1] * np.uint64(0x9E3779B97F4A7C15))
        order = np.argsort(keys)
        ordered = keys[order]
        twins = ordered[1:] == ordered[:-1]
        repeated = np.zeros(n, bool)
        repeated[1:] |= twins
        repeated[:-1] |= twins
        clash = np.empty(n, bool)
        clash[order] = repeated
        # Sorted needles: each search starts where the last one ended, which keeps it in cache.
        at = np.searchsorted(self.keys, ordered)
        if len(self.keys):
            clash[order] |= self.keys[np.minimum(at, len(self.keys) - 1)] == ordered
        self.keys = np.insert(self.keys, at, ordered)  # still sorted, in one pass
        return clash
