"""Bulk actions: accept, reject or tag many samples at once, picked by id or by a filter (Browse, Explore).

Each change is versioned and audited one sample at a time, in one transaction (``Store.set_status_many``,
``Store.add_tag_many``), and checked against the acting account's role there.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.errors import WinnowError
from core.store import SampleFilter, Store

ACTIONS = {"accept": "accepted", "reject": "rejected"}  # action -> the status it sets; "tag" adds a tag


def target(ids: Sequence[str] | None, f: SampleFilter) -> SampleFilter:
    """What a bulk action acts on: exactly the ``ids`` (rows picked in a table) when given, else every sample that
    matches ``f``."""
    return SampleFilter(ids=list(ids)) if ids else f


def apply(store: Store, f: SampleFilter, action: str, *, user: str, tag: str | None = None) -> str:
    """Accept, reject or tag every sample matching ``f``.

    Returns:
        What was done, in one line ("Accepted 12 samples (3 already were).").

    Raises:
        WinnowError: an unknown action, or a tag that is empty. PermissionDenied: the role may not.
    """
    ids = store.matching_ids(f)
    if action in ACTIONS:
        changed = store.set_status_many(ids, ACTIONS[action], user=user)
        done = f"{ACTIONS[action].capitalize()} {changed:,} samples"
        already = "already were"
    elif action == "tag":
        tag = (tag or "").strip()
        if not tag:
            raise WinnowError("give the tag to add")
        changed = store.add_tag_many(ids, tag, user=user)
        done = f"Tagged {changed:,} samples “{tag}”"
        already = "already had it"
    else:
        raise WinnowError(f"unknown bulk action {action!r}; expected accept, reject or tag")
    return done + (f" ({len(ids) - changed:,} {already})." if len(ids) > changed else ".")
