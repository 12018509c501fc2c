"""The workspace: one DuckDB file, and the only package with SQL. ``Store`` is its face; one module per concern is
the only home of its tables' queries, over a small base.

    base.py          the connection, a cursor per call, transactions and their retry, checkpoints, copies
    migrations.py    the schema (every table) and its migrations
    filters.py       SampleFilter and its translation into SQL
    accounts.py      users, sessions: accounts and their roles, the permission check, sign-in sessions
    assignments.py   assignments: who reviews which sample, queues and progress
    annotations.py   annotations: each annotator's decision on a shared sample; adjudication
    imports.py       sources: imported files, and inserting their samples
    samples.py       reading samples: pages, one sample, queues, counts
    edits.py         changing samples: versioned, audited edits, one or many
    events.py        events: the audit log
    exports.py       export streams and whole-column arrays for algorithms
    jobs.py          jobs: background jobs and their progress
    scores.py        scorers and score_<name>: one table per scorer, keyed by content
    selections.py    selections, selection_members: saved selections
    maps.py          maps, map_points: the 2-D map and its clusters
    labels.py        the taxonomy and task labels (suggested and confirmed)
    balance.py       distributions over the balance dimensions
    plans.py         plans: mixture plans
    evaluations.py   evaluations, evaluation_runs, _losses, _answers: evaluating a selection by fine-tuning
    eval_sets.py     eval_sets, eval_set_items: test sets the samples are checked against (decontamination)
    meta.py          workspace settings and the facts other modules keep (meta)

``Store`` composes the concern classes, so a caller holds one object: ``Store(path)``, then ``store.page(...)``.
What callers import from the store (``Store``, ``SampleFilter``, the constants) is re-exported here.
"""

from __future__ import annotations

from core.store.accounts import Accounts
from core.store.annotations import DECISIONS, Annotations
from core.store.assignments import Assignments
from core.store.balance import ANSWER_BUCKETS, BALANCE_DIMENSIONS, IFD_BUCKETS, Balance
from core.store.base import StoreBase, _ident
from core.store.edits import SampleEdit, SampleEdits
from core.store.eval_sets import EvalSets
from core.store.evaluations import Evaluations
from core.store.events import AuditLog
from core.store.exports import ExportArrays
from core.store.filters import NO_VALUE, UNKNOWN_LANGUAGE, UNLABELED, FilterQueries, SampleFilter, ScoreColumn
from core.store.imports import Imports
from core.store.jobs import Jobs
from core.store.labels import Labels
from core.store.maps import MAPS_KEPT, Maps, _map_key
from core.store.meta import WorkspaceMeta
from core.store.migrations import SCHEMA_VERSION
from core.store.plans import Plans
from core.store.samples import PAGE_COLUMNS, STATUSES, SYNTHESIZED_TAG, SampleReads, messages_of
from core.store.scores import Scores
from core.store.selections import Selections

__all__ = [
    "ANSWER_BUCKETS",
    "BALANCE_DIMENSIONS",
    "DECISIONS",
    "IFD_BUCKETS",
    "MAPS_KEPT",
    "NO_VALUE",
    "PAGE_COLUMNS",
    "SCHEMA_VERSION",
    "STATUSES",
    "SYNTHESIZED_TAG",
    "UNKNOWN_LANGUAGE",
    "UNLABELED",
    "SampleEdit",
    "SampleFilter",
    "ScoreColumn",
    "Store",
    "_ident",
    "_map_key",
    "messages_of",
]


class Store(
    Accounts,
    Assignments,
    Annotations,
    Imports,
    SampleReads,
    SampleEdits,
    AuditLog,
    ExportArrays,
    Jobs,
    Scores,
    Selections,
    Maps,
    Labels,
    Balance,
    Plans,
    Evaluations,
    EvalSets,
    WorkspaceMeta,
    FilterQueries,
    StoreBase,
):
    """A workspace. Open with ``Store(path)``; close with ``close()`` or use it as a context manager."""
