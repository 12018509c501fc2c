"""Balance: counts of the samples per value of a dimension (task label, language, source, cluster, answer length,
IFD, status), one SQL GROUP BY each, for the Balance page and mixture plans. Reads ``samples``, ``sources``, the
score tables and the current map; owns no table."""

from __future__ import annotations

from core.errors import NotFound
from core.store.filters import UNKNOWN_LANGUAGE, SampleFilter

BALANCE_DIMENSIONS = (
    "task_label",
    "language",
    "source",
    "cluster",
    "answer_length",
    "ifd",
    "knowledge",
    "contamination",
    "status",
)
# (upper bound, bucket) in answer characters; the last bound is unused (everything above the one before).
ANSWER_BUCKETS = ((100, "a <100"), (500, "b 100-499"), (2000, "c 500-1999"), (8000, "d 2000-7999"), (0, "e 8000+"))
# IFD = loss(answer | instruction) / loss(answer): low = the instruction makes the answer easy to predict (easy),
# near 1 = hard, above 1 = the instruction does not help at all (often a bad pair).
IFD_BUCKETS = ((0.4, "a easy <0.4"), (0.7, "b 0.4-0.7"), (0.9, "c 0.7-0.9"), (1.0, "d hard 0.9-1"), (0, "e ≥1 no help"))


class Balance:
    """Distributions of the samples over the balance dimensions."""

    def _dimension_sql(self, cur, dimension: str) -> tuple[str, set[str], str]:
        """(SQL expression, scorers to join, extra join) for a balance dimension."""
        current = self.scorer_keys(cur=cur)
        if dimension == "task_label":
            return "coalesce(s.task_label, '(unlabeled)')", set(), ""
        if dimension == "source":
            return "src.name", set(), "JOIN sources src ON src.source_id = s.source_id"
        if dimension == "status":
            return "s.status", set(), ""
        if dimension == "language":
            if "heuristics" not in current:
                raise NotFound("no languages yet: run the heuristics scorer (Score page)")
            return f"coalesce(heuristics.h_prompt_lang, '{UNKNOWN_LANGUAGE}')", {"heuristics"}, ""
        if dimension == "cluster":
            key = self._current_map_key(cur)
            join = f"LEFT JOIN map_points mp ON mp.content_hash = s.content_hash AND mp.map_key = '{key}'"
            return "coalesce(mp.cluster::VARCHAR, '(no map)')", set(), join
        if dimension == "answer_length":
            cases = " ".join(f"WHEN length(s.answer) < {hi} THEN '{label}'" for hi, label in ANSWER_BUCKETS[:-1])
            return f"CASE {cases} ELSE '{ANSWER_BUCKETS[-1][1]}' END", set(), ""
        if dimension == "ifd":
            if "ifd" not in {c.column for c in self.score_columns(cur=cur)}:
                raise NotFound("no IFD yet: run the ifd scorer (Score page)")
            cases = " ".join(f"WHEN ifd.ifd < {hi} THEN '{label}'" for hi, label in IFD_BUCKETS[:-1])
            return f"CASE WHEN ifd.ifd IS NULL THEN '(not scored)' {cases} ELSE '{IFD_BUCKETS[-1][1]}' END", {"ifd"}, ""
        if dimension == "knowledge":
            if "knowledge" not in current:
                raise NotFound("no knowledge categories yet: run the knowledge scorer (Score page)")
            expr = "coalesce(knowledge.knowledge_category, '(no short answer or not scored)')"
            return expr, {"knowledge"}, ""
        if dimension == "contamination":
            if "decontam" not in current:
                raise NotFound("not checked against eval sets yet: run the decontam scorer (Balance's Contamination)")
            expr = (
                "CASE WHEN decontam.contaminated IS NULL THEN '(not checked)' WHEN decontam.contaminated THEN "
                "'in ' || decontam.contamination_eval_set ELSE 'clean' END"
            )
            return expr, {"decontam"}, ""
        raise ValueError(f"unknown balance dimension {dimension!r}; use one of {', '.join(BALANCE_DIMENSIONS)}")

    def distribution(self, dimension: str, f: SampleFilter | None = None, *, by: str | None = None) -> list[tuple]:
        """Counts of the samples matching ``f`` per value of a balance dimension (one SQL GROUP BY).

        Args:
            dimension: one of ``BALANCE_DIMENSIONS``: task_label, language (heuristics' h_prompt_lang), source,
                cluster (current map), answer_length (characters, ``ANSWER_BUCKETS``), ifd (``IFD_BUCKETS``),
                knowledge (SliCK categories), contamination (clean, or the eval set), status.
            by: a second dimension, for label × language.

        Returns:
            [(value, count)] or, with ``by``, [(value, by_value, count)], largest first.
        """
        cur = self.cursor()
        where, params, scorers, _ = self._filter_sql(f, cur=cur)
        exprs, joins = [], []
        for dim in [dimension] + ([by] if by else []):
            expr, used, join = self._dimension_sql(cur, dim)
            exprs.append(expr)
            scorers |= used
            if join and join not in joins:
                joins.append(join)
        groups = ", ".join(f"{e} AS d{i}" for i, e in enumerate(exprs))
        q = (
            f"SELECT {groups}, count(*) AS n FROM {self._from(scorers)} {' '.join(joins)} WHERE {where} "
            f"GROUP BY ALL ORDER BY n DESC, {', '.join(f'd{i}' for i in range(len(exprs)))}"
        )
        return [tuple(r) for r in cur.execute(q, params).fetchall()]

    def label_amounts(self, f: SampleFilter | None = None, *, unit: str = "samples") -> dict[str, int]:
        """Per task label, the samples matching ``f``, or their tokens: h_prompt_words + h_answer_words from the
        heuristics scorer, a word count standing in for tokens (a tokenizer would cost minutes at 1M samples)."""
        if unit == "samples":
            return {label: int(n) for label, n in self.distribution("task_label", f)}
        if unit != "tokens":
            raise ValueError(f"unknown unit {unit!r}; use samples or tokens")
        if "heuristics" not in self.scorer_keys():
            raise NotFound("token counts come from the heuristics scorer's word counts: run it first (Score page)")
        where, params, used, _ = self._filter_sql(f)
        scorers = {"heuristics"} | used
        q = (
            "SELECT coalesce(s.task_label, '(unlabeled)'), coalesce(sum(coalesce(heuristics.h_prompt_words, 0) + "
            f"coalesce(heuristics.h_answer_words, 0)), 0) FROM {self._from(scorers)} WHERE {where} GROUP BY 1 "
            "ORDER BY 2 DESC, 1"
        )
        rows = self.cursor().execute(q, params).fetchall()
        return {label: int(n) for label, n in rows}
