"""Assignments: a filter's samples given out to annotators with overlap, taken back, and each annotator's progress.

A lead gives the samples of a filter to annotators, each sample to ``k`` of them (``distribute``). When a sample has
one assignee, that annotator's review changes the sample as any review does; when it has several, their reviews are
kept as annotations (``core.team.reviews``) and a lead settles it (``core.team.adjudication``).
``annotator_progress`` gives per-annotator progress and throughput (the Activity page reads it); ``progress_of`` what
the sidebar and Review say of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.errors import NotFound
from core.store import SampleFilter, Store

PROGRESS_HOURS = 24  # the window of ``annotator_progress``'s recent throughput


def distribute(
    store: Store,
    f: SampleFilter | None,
    annotators: Sequence[str],
    *,
    overlap: int = 1,
    limit: int | None = None,
    only_unassigned: bool = True,
    by: str,
) -> dict:
    """Give each sample matching ``f`` to ``overlap`` distinct annotators, round-robin, so loads stay balanced.

    The annotators with the fewest assignments so far come first in the rotation (ties keep the given order), so
    that over several calls, too, nobody carries more than their share. Deterministic for the same workspace state.

    Args:
        f: which samples (status, cluster, task label, selection ...); None = all.
        overlap: annotators per sample (k); samples with k >= 2 are reviewed as annotations and adjudicated.
        limit: at most this many samples, the first in import order.
        only_unassigned: leave samples that already have an assignee alone.

    Returns:
        {"samples", "assignments", "per_user": {name: new assignments}} (see ``Store.distribute``).
    """
    names = list(dict.fromkeys(n.strip() for n in annotators if n and n.strip()))
    # A misspelt selection, or a cluster without a map, is an error, not a filter that quietly matches nothing.
    if f is not None and f.selection is not None:
        store.get_selection(f.selection, with_log=False)
    if f is not None and f.cluster is not None and store.get_map() is None:
        raise NotFound("no map yet, so no clusters: compute one on the Explore page (or `python -m core map`)")
    loads = store.assignment_loads()
    ordered = sorted(names, key=lambda n: (loads.get(n, 0), names.index(n)))
    return store.distribute(f, ordered, overlap=overlap, limit=limit, only_unassigned=only_unassigned, by=by)


def unassign(store: Store, f: SampleFilter | None, annotators: Sequence[str] | None = None, *, by: str) -> int:
    """Take back the open assignments (pending, not decided yet) of the samples matching ``f``; returns how many."""
    return store.unassign(f, annotators, by=by)


def annotator_progress(store: Store, *, user: str | None = None) -> list[dict]:
    """Per annotator (every annotator account, and anyone else with assignments; only ``user`` when given), by name:

    {annotator, assigned, done (decided by them), remaining (their queue), settled (decided by someone else: a lead's
    review or adjudication), done_24h (done in the last 24 hours), per_hour (done_24h / 24; higher = faster),
    last_done (a UTC timestamp, None when nothing yet)}.
    """
    rows = {r["user"]: r for r in store.assignment_progress(hours=PROGRESS_HOURS, user=user)}
    if user is not None:
        names = {user}
    else:
        names = set(rows) | {u["name"] for u in store.users() if u["role"] == "annotator" and not u["disabled"]}
    out = []
    for name in sorted(names):
        r = rows.get(name, {"assigned": 0, "done": 0, "remaining": 0, "done_recent": 0, "last_done": None})
        out.append(
            {
                "annotator": name,
                "assigned": int(r["assigned"]),
                "done": int(r["done"]),
                "remaining": int(r["remaining"]),
                "settled": max(int(r["assigned"]) - int(r["done"]) - int(r["remaining"]), 0),
                "done_24h": int(r["done_recent"]),
                "per_hour": int(r["done_recent"]) / PROGRESS_HOURS,
                "last_done": r["last_done"],
            }
        )
    return out


@dataclass(frozen=True)
class Progress:
    """How far someone's reviewing is: ``done`` of ``total``, in words (``text``), with ``remaining`` to go."""

    done: int
    total: int
    remaining: int
    text: str

    @property
    def fraction(self) -> float:
        return min(self.done / self.total, 1.0) if self.total else 0.0


def progress_of(store: Store, name: str, role: str) -> Progress:
    """What the sidebar and Review say of progress: an annotator's own assignments ("2 of 30 of your assignments"),
    or, for leads and admins, the reviews of the whole workspace ("2 of 342 reviewed")."""
    if role == "annotator":
        mine = (annotator_progress(store, user=name) or [{"assigned": 0, "done": 0, "remaining": 0}])[0]
        done, total, remaining = mine["done"], mine["assigned"], mine["remaining"]
        return Progress(done, total, remaining, f"{done:,} of {total:,} of your assignments")
    counts = store.status_counts()
    total, done = sum(counts.values()), counts["accepted"] + counts["rejected"]
    return Progress(done, total, total - done, f"{done:,} of {total:,} reviewed")
