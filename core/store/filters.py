"""Which samples a call looks at: ``SampleFilter``, and its translation into SQL (a WHERE clause over ``samples s``
and the score tables it joins). Owns no table: its clauses read ``scorers``, ``score_heuristics``, ``map_points``,
``selection_members`` and ``meta`` (the current map)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import duckdb

from core.errors import NotFound
from core.store.base import _ident

UNLABELED = "(unlabeled)"  # a task_label filter value and a balance bucket: samples with no label yet
NO_VALUE = "(none)"  # a score_values value: the sample has no value in that column
UNKNOWN_LANGUAGE = "(unknown)"  # a language filter value and a balance bucket: no language detected (or not scored)


@dataclass
class SampleFilter:
    """Which samples a page, a queue or an export looks at. Empty fields do not filter.

    Attributes:
        status: one status or several.
        source_ids: samples from these sources only.
        tag: samples carrying this tag.
        text: case-insensitive substring of the prompt or the answer.
        duplicates: True = only samples flagged as exact duplicates, False = hide them.
        score_ranges: {column: (low, high)} over current score columns; None bounds are open.
        score_values: {column: values} over current text or yes/no score columns (a knowledge category, a
            contamination flag): the sample's value, as text ("true"/"false" for a flag), is one of them; ``NO_VALUE``
            stands for none (not scored, or not applicable).
        ids: exactly these samples.
        task_label: samples with this task label (suggested or confirmed); ``UNLABELED`` for none.
        language: samples whose prompt is in this language (the heuristics scorer's h_prompt_lang, e.g. "en");
            ``UNKNOWN_LANGUAGE`` for those it could not tell or has not scored.
        cluster: samples in this cluster of the current map.
        selection: members of this saved selection (see ``save_selection``).
        stage: with ``selection``, members of this stage only (1-based).
    """

    status: str | Sequence[str] | None = None
    source_ids: Sequence[int] | None = None
    tag: str | None = None
    text: str | None = None
    duplicates: bool | None = None
    score_ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    score_values: dict[str, Sequence[str]] = field(default_factory=dict)
    ids: Sequence[str] | None = None
    task_label: str | None = None
    language: str | None = None
    cluster: int | None = None
    selection: str | None = None
    stage: int | None = None


NUMERIC_TYPES = ("DOUBLE", "FLOAT", "INTEGER", "BIGINT")  # the SQL types scorers write numbers as


@dataclass(frozen=True)
class ScoreColumn:
    """A current score column (``Store.score_columns``): the scorer whose table holds it, its name, its SQL type."""

    scorer: str
    column: str
    type: str

    @property
    def numeric(self) -> bool:
        """Whether the column holds numbers (a range filter, a colour scale, a histogram), not text or booleans."""
        return self.type in NUMERIC_TYPES


class FilterSQL(NamedTuple):
    """A filter in SQL: ``SELECT ... FROM {_from(scorers)} WHERE {where}`` with ``params``."""

    where: str
    params: list
    scorers: set[str]  # the score tables the filter's score ranges need joined
    score_cols: Mapping[str, ScoreColumn]  # the current score columns, by column name


class _ScoreColumnsOnDemand(Mapping):
    """The current score columns by name, read on first use: most filters (a count, a queue) name no score column,
    and a page run makes a dozen of them."""

    def __init__(self, read: Callable[[], list[ScoreColumn]]):
        self._read, self._columns = read, None

    def _all(self) -> dict[str, ScoreColumn]:
        if self._columns is None:
            self._columns = {c.column: c for c in self._read()}
        return self._columns

    def __getitem__(self, column: str) -> ScoreColumn:
        return self._all()[column]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


class FilterQueries:
    """Turns a ``SampleFilter`` into SQL for the modules that query samples."""

    def _filter_sql(self, f: SampleFilter | None, *, cur: duckdb.DuckDBPyConnection | None = None) -> FilterSQL:
        """``f`` as SQL over the current score columns. ``cur``: read them inside that transaction (the columns are
        read when first looked at, so use them before it ends)."""
        score_cols = _ScoreColumnsOnDemand(lambda: self.score_columns(cur=cur))
        where, params = self._where(f, score_cols, cur=cur)
        scorers = {score_cols[c].scorer for c in [*(f.score_ranges if f else {}), *(f.score_values if f else {})]}
        return FilterSQL(where, params, scorers, score_cols)

    def _where(
        self,
        f: SampleFilter | None,
        score_cols: Mapping[str, ScoreColumn],
        *,
        cur: duckdb.DuckDBPyConnection | None = None,
    ) -> tuple[str, list]:
        if f is None:
            return "TRUE", []
        clauses: list[str] = []
        params: list = []
        if f.status:
            statuses = [f.status] if isinstance(f.status, str) else list(f.status)
            if statuses == ["not_rejected"]:
                clauses.append("s.status <> 'rejected'")
            else:
                clauses.append("s.status IN (SELECT unnest(?::VARCHAR[]))")
                params.append(statuses)
        if f.source_ids:
            clauses.append("s.source_id IN (SELECT unnest(?::INTEGER[]))")
            params.append(list(f.source_ids))
        if f.tag:
            clauses.append("list_contains(s.tags, ?)")
            params.append(f.tag)
        if f.text:
            # A case-insensitive RE2 literal: measured 1.8x faster than ILIKE over the same rows.
            pattern = "(?i)" + re.escape(f.text)
            clauses.append("(regexp_matches(s.prompt, ?) OR regexp_matches(s.answer, ?))")
            params += [pattern, pattern]
        if f.duplicates is True:
            clauses.append("s.dup_of IS NOT NULL")
        elif f.duplicates is False:
            clauses.append("s.dup_of IS NULL")
        if f.task_label == UNLABELED:
            clauses.append("s.task_label IS NULL")
        elif f.task_label is not None:
            clauses.append("s.task_label = ?")
            params.append(f.task_label)
        if f.language is not None:
            if "heuristics" not in self.scorer_keys(cur=cur):
                raise NotFound("no languages yet: run the heuristics scorer (Score page)")
            # A subquery, not a join: a filter must not change which columns a page's FROM clause has.
            known = (
                "SELECT content_hash FROM score_heuristics WHERE h_prompt_lang {} "
                "AND scorer_key = (SELECT key FROM scorers WHERE name = 'heuristics')"
            )
            if f.language == UNKNOWN_LANGUAGE:
                clauses.append(f"s.content_hash NOT IN ({known.format('IS NOT NULL')})")
            else:
                clauses.append(f"s.content_hash IN ({known.format('= ?')})")
                params.append(f.language)
        if f.cluster is not None:
            clauses.append(
                "s.content_hash IN (SELECT content_hash FROM map_points WHERE cluster = ? "
                "AND map_key = (SELECT value FROM meta WHERE key = 'current_map'))"
            )
            params.append(int(f.cluster))
        if f.ids is not None:
            clauses.append("s.id IN (SELECT unnest(?::VARCHAR[]))")
            params.append(list(f.ids))
        if f.selection is not None:
            member = "SELECT sample_id FROM selection_members WHERE selection = ?"
            params.append(f.selection)
            if f.stage is not None:
                member += " AND stage = ?"
                params.append(int(f.stage))
            clauses.append(f"s.id IN ({member})")
        for col, (lo, hi) in (f.score_ranges or {}).items():
            sc = score_cols.get(col)
            if sc is None:
                raise NotFound(f"no score column {col!r}; score the workspace first")
            ref = f"{_ident(sc.scorer)}.{_ident(col)}"
            if lo is not None:
                clauses.append(f"{ref} >= ?")
                params.append(lo)
            if hi is not None:
                clauses.append(f"{ref} <= ?")
                params.append(hi)
        for col, values in (f.score_values or {}).items():
            sc = score_cols.get(col)
            if sc is None:
                raise NotFound(f"no score column {col!r}; score the workspace first")
            ref = f"{_ident(sc.scorer)}.{_ident(col)}"
            wanted = [str(v) for v in values if v != NO_VALUE]
            either = [f"CAST({ref} AS VARCHAR) IN (SELECT unnest(?::VARCHAR[]))"] if wanted else []
            params += [wanted] if wanted else []
            if NO_VALUE in values:
                either.append(f"{ref} IS NULL")
            clauses.append(f"({' OR '.join(either) or 'FALSE'})")
        return (" AND ".join(clauses) or "TRUE"), params

    def _from(self, scorers: Iterable[str]) -> str:
        joins = ["samples s"]
        for name in sorted(set(scorers)):
            t = _ident(name)
            joins.append(
                f"LEFT JOIN score_{t} {t} ON {t}.content_hash = s.content_hash "
                f"AND {t}.scorer_key = (SELECT key FROM scorers WHERE name = '{t}')"
            )
        return " ".join(joins)
