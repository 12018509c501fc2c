"""Packing samples into rows of ``max_length`` tokens: the rows, their efficiency, and the packed Parquet files.

Packing is best-fit decreasing (longest sample first, into the fullest row it fits), ties broken by input order, so
it is deterministic; it never needs more than about 11/9 of the fewest rows possible. A packed file holds
``input_ids``, ``labels``, ``position_ids`` restarting at 0 for each sample, and ``sample_ids``/``lengths`` marking
the boundaries, so ``unpack_rows`` gives back each sample.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from core.errors import FormatError

_PACKED_ROWS_PER_GROUP = 1024  # rows per Parquet row group of a packed file


def pack_lengths(lengths: Sequence[int], max_length: int) -> list[list[int]]:
    """Group samples into rows of at most ``max_length`` tokens: best-fit decreasing, deterministic.

    Samples are placed longest first (ties: input order) into the row with the least room that still fits them
    (among rows with equal room, the one that has had it longest); a new row opens when none fits. A Fenwick tree
    over the room left (0..max_length) finds that row in O(log max_length), so a million samples pack in seconds.

    Args:
        lengths: tokens per sample, each between 1 and ``max_length`` (truncate or drop longer ones first).

    Returns:
        The rows in the order they were opened, each the sample indices in the order they were placed.

    Raises:
        ValueError: a length is not in 1..max_length.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    if len(lengths) and (lengths.min() < 1 or lengths.max() > max_length):
        raise ValueError(f"sample lengths must be within 1..{max_length}")
    size = max_length + 1  # room can be 0..max_length; the tree is 1-based over room + 1
    tree = [0] * (size + 1)
    # room -> rows with that much room left; made on first use, since most rooms never occur and a long max_length
    # would otherwise cost a deque per token
    rooms: defaultdict[int, deque[int]] = defaultdict(deque)
    rows: list[list[int]] = []
    top = 1 << size.bit_length()

    def add(room: int, delta: int) -> None:
        i = room + 1
        while i <= size:
            tree[i] += delta
            i += i & -i

    def count_below(room: int) -> int:  # rows with room < ``room``
        i, total = room, 0
        while i > 0:
            total += tree[i]
            i -= i & -i
        return total

    def first_with_room(need: int) -> int | None:  # the smallest room >= need that some row has
        target = count_below(need) + 1  # the target-th row in room order is the first with room >= need
        pos, step = 0, top
        while step:
            nxt = pos + step
            if nxt <= size and tree[nxt] < target:
                pos = nxt
                target -= tree[nxt]
            step >>= 1
        return pos if pos < size else None  # pos + 1 is the tree index, so the room is pos

    sizes = lengths.tolist()
    for i in np.argsort(-lengths, kind="stable").tolist():  # longest first; a stable sort keeps input order on ties
        n = sizes[i]
        room = first_with_room(n)
        if room is None:
            rows.append([i])
            rooms[max_length - n].append(len(rows) - 1)
            add(max_length - n, 1)
            continue
        row = rooms[room].popleft()
        add(room, -1)
        rows[row].append(i)
        rooms[room - n].append(row)
        add(room - n, 1)
    return rows


def packing_stats(lengths: Sequence[int], max_length: int) -> dict:
    """How well samples of these lengths pack into rows of ``max_length``.

    Returns:
        {"samples", "tokens", "rows", "efficiency", "padding_efficiency"}: efficiency = tokens / (rows x max_length)
        (higher is better, 1 = no padding at all); padding_efficiency is the same for one sample per row, padded
        to max_length, for comparison. Both are 0 when there are no samples.
    """
    lengths = [int(n) for n in lengths]
    rows = len(pack_lengths(lengths, max_length)) if lengths else 0
    tokens = sum(lengths)
    return {
        "samples": len(lengths),
        "tokens": tokens,
        "rows": rows,
        "efficiency": round(tokens / (rows * max_length), 4) if rows else 0.0,
        "padding_efficiency": round(tokens / (len(lengths) * max_length), 4) if lengths else 0.0,
    }


PACKED_SCHEMA = pa.schema(
    [
        ("input_ids", pa.list_(pa.int32())),
        ("labels", pa.list_(pa.int32())),
        ("position_ids", pa.list_(pa.int32())),
        ("sample_ids", pa.list_(pa.string())),
        ("lengths", pa.list_(pa.int32())),
    ]
)


def _packed_batch(samples: pa.Table, rows: list[list[int]]) -> pa.RecordBatch:
    """Packed rows from per-sample tokens (``samples``: id, input_ids, labels) and the rows' sample indices."""
    order = np.fromiter((i for row in rows for i in row), dtype=np.int64)
    taken = samples.take(pa.array(order)).combine_chunks()
    ids = taken.column("input_ids").chunk(0)
    lengths = np.diff(np.asarray(ids.offsets, dtype=np.int64))
    per_row = np.fromiter((len(row) for row in rows), dtype=np.int64, count=len(rows))
    row_bounds = np.concatenate([[0], np.cumsum(per_row)])  # sample index bounds of each row
    token_bounds = np.concatenate([[0], np.cumsum(lengths)])
    row_offsets = pa.array(token_bounds[row_bounds].astype(np.int32))
    starts = token_bounds[:-1]
    positions = np.arange(token_bounds[-1], dtype=np.int64) - np.repeat(starts, lengths)
    sample_offsets = pa.array(row_bounds.astype(np.int32))
    return pa.record_batch(
        [
            pa.ListArray.from_arrays(row_offsets, ids.flatten()),
            pa.ListArray.from_arrays(row_offsets, taken.column("labels").chunk(0).flatten()),
            pa.ListArray.from_arrays(row_offsets, pa.array(positions.astype(np.int32))),
            pa.ListArray.from_arrays(sample_offsets, taken.column("id").chunk(0)),
            pa.ListArray.from_arrays(sample_offsets, pa.array(lengths.astype(np.int32))),
        ],
        schema=PACKED_SCHEMA,
    )


def write_packed(samples: pa.Table, lengths: Sequence[int], max_length: int, out: Path) -> None:
    """Pack samples into the Parquet file ``out`` (schema ``PACKED_SCHEMA``), rows as ``pack_lengths`` groups them.

    Args:
        samples: per-sample tokens (id, input_ids, labels), in the order of ``lengths``.
        lengths: each sample's tokens (after truncation).
    """
    rows = pack_lengths(lengths, max_length)
    with pq.ParquetWriter(str(out), PACKED_SCHEMA) as writer:
        for k in range(0, len(rows), _PACKED_ROWS_PER_GROUP):
            writer.write_batch(_packed_batch(samples, rows[k : k + _PACKED_ROWS_PER_GROUP]))
        if not rows:
            writer.write_table(PACKED_SCHEMA.empty_table())


def unpack_rows(table: pa.Table) -> Iterator[tuple[str, list[int], list[int]]]:
    """The samples inside packed rows (a packed Parquet file read with ``pyarrow.parquet.read_table``).

    Yields:
        ``(sample_id, input_ids, labels)`` per sample, row by row.

    Raises:
        FormatError: a row's lengths do not add up to its tokens, or its position_ids do not restart at each sample.
    """
    for r, row in enumerate(table.to_pylist()):
        ids, labels, positions = row["input_ids"], row["labels"], row["position_ids"]
        if sum(row["lengths"]) != len(ids) or len(labels) != len(ids) or len(positions) != len(ids):
            raise FormatError("lengths do not add up to the row's tokens", record=r, field="lengths")
        at = 0
        for sample_id, n in zip(row["sample_ids"], row["lengths"], strict=True):
            if positions[at : at + n] != list(range(n)):
                raise FormatError(f"position_ids do not restart at sample {sample_id}", record=r, field="position_ids")
            yield sample_id, ids[at : at + n], labels[at : at + n]
            at += n
