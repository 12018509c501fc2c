"""Reading samples: the ``samples`` table's queries for pages, queues and dashboards (a page of rows, one sample
with its scores, counts), and ``messages_of``, the one place that resolves a sample's messages. Writes to samples
live in ``edits.py`` (versioned changes), ``imports.py``, ``labels.py`` and ``annotations.py``."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pyarrow as pa

from core.errors import NotFound
from core.store.base import _ident, _one
from core.store.filters import SampleFilter

STATUSES = ("pending", "accepted", "rejected")

# Columns a page may show. The embedding and the raw record are never part of a page query.
PAGE_COLUMNS = (
    "rid",
    "id",
    "status",
    "prompt",
    "answer",
    "n_turns",
    "tags",
    "note",
    "version",
    "dup_of",
    "source_index",
    "updated_at",
    "updated_by",
)

TEXT_WINDOW = 65_536  # rids in the first window of a text search's page scan; each next window is twice as wide


def messages_of(messages: str | None, raw: str | dict, fmt: str, mapping: str | dict | None) -> list[dict]:
    """A sample's messages: the edited ones when there are, else its original record converted from its format."""
    if messages is not None:
        return json.loads(messages)
    from core.formats.convert import to_canonical

    raw = json.loads(raw) if isinstance(raw, str) else raw
    mapping = json.loads(mapping) if isinstance(mapping, str) else mapping
    return to_canonical(raw, fmt, mapping).messages


# The tag synthesis puts on the samples it makes; pending ones stay out of every selection (core.selection.workspace)
SYNTHESIZED_TAG = "synthesized"


class SampleReads:
    """Pages, single samples, queues and counts."""

    def count(self, f: SampleFilter | None = None, *, cap: int | None = None) -> int:
        """How many samples match the filter; with ``cap``, stop counting past it (returns at most cap + 1).

        A text search must read every prompt and answer to count them all (about 0.5 s at 1M samples on 2 cores);
        capped, it stops as soon as it has seen enough, which is what a page needs ("10,000+ matches").
        """
        where, params, used, _ = self._filter_sql(f)
        if cap is None:
            q = f"SELECT count(*) FROM {self._from(used)} WHERE {where}"
        else:
            q = f"SELECT count(*) FROM (SELECT 1 FROM {self._from(used)} WHERE {where} LIMIT {int(cap) + 1})"
        return self.cursor().execute(q, params).fetchall()[0][0]

    def page(
        self,
        f: SampleFilter | None = None,
        *,
        offset: int = 0,
        limit: int = 50,
        with_scores: bool = True,
        order: str = "rid",
        descending: bool = False,
    ) -> pa.Table:
        """One page of samples (never the embedding or the raw record), in ``order``.

        Returns:
            An Arrow table with PAGE_COLUMNS, the source name, and (with_scores) every current score column.
        """
        where, params, filter_scorers, score_cols = self._filter_sql(f)
        if order == "rid" or order in PAGE_COLUMNS:
            order_sql = f"s.{order}"
        elif order in score_cols:
            order_sql = f"{_ident(score_cols[order].scorer)}.{_ident(order)}"
            filter_scorers.add(score_cols[order].scorer)
        else:
            raise NotFound(f"cannot sort by {order!r}")
        direction = "DESC" if descending else "ASC"
        cur = self.cursor()
        # Two steps: find the page's row ids scanning only the columns the filter and order need (a deep OFFSET
        # then costs a top-N over integers, not over wide rows), then fetch the wide columns of those rows alone.
        if f is not None and f.text and order == "rid" and not descending and not filter_scorers:
            rids = self._text_page_rids(cur, where, params, offset, limit)
        else:
            q = (
                f"SELECT s.rid FROM {self._from(filter_scorers)} WHERE {where} "
                f"ORDER BY {order_sql} {direction} NULLS LAST, s.rid LIMIT ? OFFSET ?"
            )
            rids = [r[0] for r in cur.execute(q, params + [int(limit), int(offset)]).fetchall()]
        scorers = {c.scorer for c in score_cols.values()} if with_scores else set()
        select = [f"s.{c}" for c in PAGE_COLUMNS] + ["src.name AS source"]
        if with_scores:
            select += [f"{_ident(c.scorer)}.{_ident(c.column)}" for c in score_cols.values()]
        q = (
            f"SELECT {', '.join(select)} FROM {self._from(scorers)} "
            "JOIN sources src ON src.source_id = s.source_id WHERE s.rid IN (SELECT unnest(?::BIGINT[]))"
        )
        table = cur.sql(q, params=[rids]).to_arrow_table()
        position = {rid: i for i, rid in enumerate(rids)}
        got = table.column("rid").to_pylist()
        return table.take(pa.array(sorted(range(len(got)), key=lambda i: position[got[i]]), pa.int64()))

    @staticmethod
    def _text_page_rids(cur, where: str, params: list, offset: int, limit: int) -> list[int]:
        """Rids of one page of a text search, in rid order, reading only as much of the table as the page needs.

        A substring search cannot use an index, and ``ORDER BY rid LIMIT`` still reads every row. Scanning growing
        rid windows instead (DuckDB skips row groups outside a window by their min/max rid) stops as soon as the
        page is full: a common word's first page reads a sliver of the table; a rare word still reads all of it.
        """
        need = offset + limit
        top = cur.execute("SELECT coalesce(max(rid), 0) FROM samples").fetchall()[0][0]
        found: list[int] = []
        low, window = 1, TEXT_WINDOW
        while low <= top and len(found) < need:
            found += [
                r[0]
                for r in cur.execute(
                    f"SELECT s.rid FROM samples s WHERE {where} AND s.rid >= ? AND s.rid < ? ORDER BY s.rid LIMIT ?",
                    params + [low, low + window, need - len(found)],
                ).fetchall()
            ]
            low += window
            window *= 2
        return found[offset:need]

    def get_sample(self, sample_id: str) -> dict:
        """One sample with its messages (parsed), original record, curation state and current scores."""
        cur = self.cursor()
        rel = cur.execute(
            "SELECT s.rid, s.id, s.source_id, src.name, s.source_index, s.format, s.raw, s.messages, s.tools, "
            "s.prompt, s.answer, s.n_turns, s.content_hash, s.dup_of, s.status, s.tags, s.note, "
            "s.version, s.created_at, s.updated_at, s.updated_by, src.mapping, s.task_label, "
            "s.task_label_confidence, s.task_label_source, s.task_label_reason "
            "FROM samples s JOIN sources src ON src.source_id = s.source_id WHERE s.id = ?",
            [sample_id],
        )
        row = _one(rel.fetchall())
        if row is None:
            raise NotFound(f"no sample {sample_id!r} in this workspace")
        keys = [d[0] for d in rel.description]
        sample = dict(zip(keys, row))
        sample["source"] = sample.pop("name")
        sample["raw"] = json.loads(sample["raw"])
        mapping = sample.pop("mapping")
        sample["edited"] = sample["messages"] is not None
        sample["messages"] = messages_of(sample["messages"], sample["raw"], sample["format"], mapping)
        sample["tools"] = json.loads(sample["tools"]) if sample["tools"] is not None else None
        sample["scores"] = self._scores_for(cur, sample["content_hash"])
        return sample

    def _scores_for(self, cur, content_hash: str) -> dict:
        scores = {}
        for name, key, columns in cur.execute("SELECT name, key, columns FROM scorers ORDER BY name").fetchall():
            cols = [c for c, t in json.loads(columns).items() if "[" not in t]
            if not cols:
                continue
            rel = cur.execute(
                f"SELECT {', '.join(_ident(c) for c in cols)} FROM score_{_ident(name)} "
                "WHERE content_hash = ? AND scorer_key = ?",
                [content_hash, key],
            )
            row = _one(rel.fetchall())
            if row is not None:
                scores.update(zip(cols, row))
        return scores

    def next_pending(self, f: SampleFilter | None = None, *, skip: Sequence[str] = ()) -> dict | None:
        """The next sample to review (pending, in import order, not in ``skip``), or None when the queue is empty."""
        f = f or SampleFilter()
        f = SampleFilter(**{**f.__dict__, "status": "pending"})
        where, params, used, _ = self._filter_sql(f)
        if skip:
            where += " AND s.id NOT IN (SELECT unnest(?::VARCHAR[]))"
            params.append(list(skip))
        row = (
            self.cursor()
            .execute(f"SELECT s.id FROM {self._from(used)} WHERE {where} ORDER BY s.rid LIMIT 1", params)
            .fetchall()
        )
        return self.get_sample(row[0][0]) if row else None

    def stats(self) -> dict:
        """Counts for dashboards and ``core stats``: totals, by status, by source, duplicates, tags."""
        cur = self.cursor()
        total, dups, turns = cur.execute(
            "SELECT count(*), count(dup_of), coalesce(avg(n_turns), 0) FROM samples"
        ).fetchall()[0]
        by_status = self.status_counts()
        by_source = [
            {"source_id": r[0], "name": r[1], "format": r[2], "samples": r[3], "accepted": r[4], "rejected": r[5]}
            for r in cur.execute(
                "SELECT src.source_id, src.name, src.format, count(s.id), count(s.id) FILTER (s.status = 'accepted'), "
                "count(s.id) FILTER (s.status = 'rejected') FROM sources src "
                "LEFT JOIN samples s ON s.source_id = src.source_id GROUP BY ALL ORDER BY src.source_id"
            ).fetchall()
        ]
        tags = dict(
            cur.execute(
                "SELECT tag, count(*) FROM (SELECT unnest(tags) AS tag FROM samples) GROUP BY 1 ORDER BY 2 DESC, 1"
            ).fetchall()
        )
        return {
            "samples": total,
            "by_status": by_status,
            "reviewed": by_status["accepted"] + by_status["rejected"],
            "duplicates": dups,
            "mean_turns": round(float(turns), 3),
            "sources": by_source,
            "tags": tags,
        }

    def all_tags(self) -> list[str]:
        """Every tag in use, the most used first (ties by name)."""
        q = "SELECT tag FROM (SELECT unnest(tags) AS tag FROM samples) GROUP BY 1 ORDER BY count(*) DESC, 1"
        return [r[0] for r in self.cursor().execute(q).fetchall()]

    def status_counts(self) -> dict[str, int]:
        """How many samples have each status ({status: count}, every status present), in one scan."""
        counts = {s: 0 for s in STATUSES}
        counts.update(self.cursor().execute("SELECT status, count(*) FROM samples GROUP BY 1").fetchall())
        return counts

    def revision(self) -> tuple:
        """A token that changes whenever the samples or their scores change: an import, any versioned edit (status,
        tags, note, messages, a confirmed label) or scores written. Cheap at any size (~1 ms at 1M samples: counts,
        a sum of versions and maxima DuckDB keeps statistics for), so pages key their caches on it. Machine-suggested
        labels are not versioned and do not change it."""
        cur = self.cursor()
        q = "SELECT count(*), coalesce(sum(version), 0), max(updated_at) FROM samples"
        token = tuple(cur.execute(q).fetchall()[0])
        for name, key in cur.execute("SELECT name, key FROM scorers ORDER BY name").fetchall():
            rows = cur.execute(f"SELECT count(*), max(scored_at) FROM score_{_ident(name)}").fetchall()[0]
            token += (name, key, *rows)
        return token

    def ids_of_rids(self, rids: Sequence[int]) -> list[str]:
        """The ids of samples given by rid (map selections), in rid order."""
        rows = self.cursor().execute(
            "SELECT id FROM samples WHERE rid IN (SELECT unnest(?::BIGINT[])) ORDER BY rid", [[int(r) for r in rids]]
        )
        return [r[0] for r in rows.fetchall()]

    def ids_in_order(self) -> list[str]:
        """Every sample id, in import order."""
        return [r[0] for r in self.cursor().execute("SELECT id FROM samples ORDER BY rid").fetchall()]

    def contents_of_ids(self, ids: Sequence[str]) -> list[str]:
        """The distinct content hashes of the samples with these ids."""
        rows = self.cursor().execute(
            "SELECT DISTINCT content_hash FROM samples WHERE id IN (SELECT unnest(?::VARCHAR[]))", [list(ids)]
        )
        return [r[0] for r in rows.fetchall()]

    def ids_of_contents(self, content_hashes: Sequence[str]) -> list[str]:
        """The ids of the samples that hold these contents (every copy of a duplicate), in rid order."""
        rows = self.cursor().execute(
            "SELECT id FROM samples WHERE content_hash IN (SELECT unnest(?::VARCHAR[])) ORDER BY rid",
            [list(content_hashes)],
        )
        return [r[0] for r in rows.fetchall()]

    def knowledge_pool(self, field: str | None = None) -> list[tuple]:
        """What the knowledge scorer draws its exemplars from: per sample, in import order, (content_hash, source_id,
        task_label, user turns, last answer, the raw record's ``field`` as text or None)."""
        value = "NULL"
        params: list = []
        if field:
            value = "json_extract_string(raw, ?)"
            params = ["$." + json.dumps(field)]
        return (
            self.cursor()
            .execute(
                f"SELECT content_hash, source_id, task_label, prompt, answer, {value} FROM samples ORDER BY rid", params
            )
            .fetchall()
        )
