"""A sample's history: its versions rebuilt from the audit log, and reverts to any of them.

The audit log (``events``) holds, for every versioned change, one row per changed field with its value before and
after, and the version the change produced. A sample's state at any version is therefore its current state with the
changes of every later version undone, newest first (``build_versions``). Undoing from the current state, rather
than replaying from the import, needs nothing but the log: the original messages are the first edit's "before".

A revert computes the fields at the chosen version and writes them with ``Store.update_sample`` as action "revert",
so it is a new version like any other change and history is never rewritten. It is based on the version the caller
saw, so a change made meanwhile is a conflict, never overwritten; permissions are ``update_sample``'s (an annotator
may revert only samples assigned to them, and not one they share with other annotators: see ``core.team.reviews``).

How two versions differ is ``core.team.diffs``; merging two edits of one version is ``core.team.merges``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from core.errors import ConflictError, NotFound, PermissionDenied
from core.store import SampleEdit, Store
from core.team.reviews import records_annotation

# The fields a version holds (and a revert restores), in the order the history shows them.
TRACKED = ("status", "tags", "note", "messages", "task_label")
SUGGESTED = " (suggested)"  # how the log writes a machine-suggested label it replaced


@dataclass(frozen=True)
class Change:
    """One field of one version: its value before and after (decoded: tags and messages are lists)."""

    field: str
    before: object
    after: object


@dataclass
class Version:
    """One version of a sample.

    Attributes:
        version: 1 is the import; each change adds one.
        ts: when it was made (UTC). user: who made it. action: "import", "edit", "review", "bulk", "revert", ...
        changes: what it changed (empty for version 1).
        state: the tracked fields as they were at this version. ``task_label`` is the confirmed label, a suggestion
            as "<label> (suggested)", or None.
    """

    version: int
    ts: datetime | None
    user: str
    action: str
    changes: list[Change] = field(default_factory=list)
    state: dict = field(default_factory=dict)


def decode(field_name: str, value: str | None) -> object:
    """A logged value as the field holds it: tags and messages are stored in the log as JSON."""
    if value is not None and field_name in ("tags", "messages"):
        return json.loads(value)
    return value


def decode_lenient(field_name: str, value: str | None) -> object:
    """``decode``, or the text as it is when it is not JSON (a value the log page cut short)."""
    try:
        return decode(field_name, value)
    except ValueError:
        return value


def label_state(task_label: str | None, source: str | None) -> str | None:
    """A sample's task label as the log writes it: the confirmed label, "<label> (suggested)", or None."""
    if task_label is None or source == "confirmed":
        return task_label
    return task_label + SUGGESTED


def is_confirmed(label: str | None) -> bool:
    return label is not None and not label.endswith(SUGGESTED)


def current_state(sample: dict) -> dict:
    """The tracked fields of a sample from ``Store.get_sample``."""
    return {
        "status": sample["status"],
        "tags": sorted(sample["tags"]),
        "note": sample["note"],
        "messages": sample["messages"],
        "task_label": label_state(sample.get("task_label"), sample.get("task_label_source")),
    }


def build_versions(
    state: dict, version: int, events: list[dict], *, created: datetime | None, created_by: str
) -> list[Version]:
    """Every version of a sample, oldest first, each with its changes and its full state.

    Args:
        state: the sample's tracked fields now (``current_state``), at version ``version``.
        events: its audit events (``Store.history``). Events without a version (workspace notes) and events of
            versions after ``version`` (written after the sample was read) are left out.
        created, created_by: when the sample was imported and by whom: version 1.

    Returns:
        [Version] for version 1 and every version the log has a change for. A version whose change was not
        logged (none should be) has no entry, and the state reconstruction skips over it.
    """
    by_version: dict[int, list[dict]] = {}
    for event in events:
        v = event.get("version")
        if v is not None and 1 < v <= version:
            by_version.setdefault(v, []).append(event)
    entries: list[Version] = []
    state = dict(state)
    for v in sorted(by_version, reverse=True):
        rows = by_version[v]
        changes = [Change(e["field"], decode(e["field"], e["before"]), decode(e["field"], e["after"])) for e in rows]
        actions = list(dict.fromkeys(e["action"] for e in rows))
        entries.append(Version(v, rows[0]["ts"], rows[0]["user_name"], "+".join(actions), changes, dict(state)))
        for change in changes:  # undo this version: the state of the one before it
            if change.field in TRACKED:
                state[change.field] = change.before
    entries.append(Version(1, created, created_by, "import", [], state))
    entries.reverse()
    return entries


def sample_versions(store: Store, sample_id: str) -> list[Version]:
    """Every version of a sample, oldest first (see ``build_versions``).

    Raises:
        NotFound: no such sample.
    """
    return _versions_of(store, store.get_sample(sample_id))


def _versions_of(store: Store, sample: dict) -> list[Version]:
    # The sample was read first, its log now: events of versions saved in between are left out.
    events = store.history(sample["id"])
    importer = next((s["imported_by"] for s in store.sources() if s["source_id"] == sample["source_id"]), "")
    return build_versions(
        current_state(sample), sample["version"], events, created=sample["created_at"], created_by=importer
    )


def state_at(versions: list[Version], version: int) -> dict:
    """The tracked fields at ``version``: those of the newest entry at or before it (a version with no entry
    changed nothing tracked)."""
    candidates = [v for v in versions if v.version <= version]
    if not candidates:
        raise NotFound(f"no version {version}")
    return candidates[-1].state


def same_as(versions: list[Version], index: int) -> int | None:
    """The newest earlier version whose state equals that of ``versions[index]`` (what a revert went back to)."""
    target = versions[index].state
    return next((v.version for v in reversed(versions[:index]) if v.state == target), None)


def revert(store: Store, sample_id: str, to_version: int, *, expected_version: int, user: str) -> int:
    """Make a sample again what it was at ``to_version``, as a new version (action "revert").

    A confirmed task label goes back to the one confirmed then; if none was (a suggestion, or no label), the
    confirmed label is removed and the next suggestion run labels the sample again.

    Returns:
        The new version, or ``expected_version`` when the sample already is as it was then (nothing is written).

    Raises:
        ConflictError: the sample is no longer at ``expected_version``; nothing was written.
        NotFound: no such sample, or no such version.
        PermissionDenied: ``user`` may not edit the sample (an annotator, one not assigned to them, or one they
            share with other annotators: their reviews of it are annotations, and a lead settles it).
    """
    sample = store.get_sample(sample_id)
    if records_annotation(store, sample_id, user):
        raise PermissionDenied(
            f"{user} reviews sample {sample_id} with other annotators, so their reviews of it are annotations: "
            "a lead reverts it"
        )
    if sample["version"] != expected_version:
        raise ConflictError(sample_id, expected_version, sample["version"])
    if not 1 <= to_version <= sample["version"]:
        raise NotFound(f"sample {sample_id} has no version {to_version}: it has versions 1 to {sample['version']}")
    now = current_state(sample)
    then = state_at(_versions_of(store, sample), to_version)
    change: dict = {}
    unconfirm = False
    for name in ("status", "note", "messages"):
        if then[name] != now[name]:
            change[name] = then[name]
    if sorted(then["tags"]) != now["tags"]:
        change["tags"] = then["tags"]
    if is_confirmed(then["task_label"]):
        if then["task_label"] != now["task_label"]:
            change["task_label"] = then["task_label"]
    elif is_confirmed(now["task_label"]):
        unconfirm = True
    return store.update_sample(
        sample_id, expected_version, SampleEdit(**change), user=user, unconfirm_label=unconfirm, action="revert"
    )
