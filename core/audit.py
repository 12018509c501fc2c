"""A sample's history: its versions rebuilt from the audit log, diffs between them, reverts and three-way merges.

The audit log (``events``) holds, for every versioned change, one row per changed field with its value before and
after, and the version the change produced. A sample's state at any version is therefore its current state with the
changes of every later version undone, newest first (``build_versions``). Undoing from the current state, rather
than replaying from the import, needs nothing but the log: the original messages are the first edit's "before".

A revert computes the fields at the chosen version and writes them with ``Store.update_sample`` as action "revert",
so it is a new version like any other change and history is never rewritten. It is based on the version the caller
saw, so a change made meanwhile is a conflict, never overwritten; permissions are ``update_sample``'s (an annotator
may revert only samples assigned to them, and not one they share with other annotators: see ``core.team``).

The merge functions serve the Review page's conflict panel: the version the editor started from (base), the version
someone saved meanwhile (theirs) and the editor's (mine). They are pure and line-based, like diff3: changes to
different lines combine; changes to the same lines are a conflict, written between git-style markers.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from datetime import datetime

from core import team
from core.errors import ConflictError, NotFound, PermissionDenied
from core.store import Store

# The fields a version holds (and a revert restores), in the order the history shows them.
TRACKED = ("status", "tags", "note", "messages", "task_label")
SUGGESTED = " (suggested)"  # how the log writes a machine-suggested label it replaced
MARK_THEIRS, MARK_SPLIT, MARK_MINE = "<<<<<<< theirs", "=======", ">>>>>>> yours"


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
    if team.records_annotation(store, sample_id, user):
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
    for name in ("status", "note", "messages"):
        if then[name] != now[name]:
            change[name] = then[name]
    if sorted(then["tags"]) != now["tags"]:
        change["tags"] = then["tags"]
    if is_confirmed(then["task_label"]):
        if then["task_label"] != now["task_label"]:
            change["task_label"] = then["task_label"]
    elif is_confirmed(now["task_label"]):
        change["unconfirm_label"] = True
    return store.update_sample(sample_id, expected_version, user=user, action="revert", **change)


# ------------------------------------------------------------------------------------------------ diffs


def transcript(messages: list[dict]) -> list[str]:
    """Messages as lines for a diff: a "[i] role:" header, then the content's lines."""
    lines = []
    for i, m in enumerate(messages or []):
        content = m.get("content")
        lines.append(f"[{i + 1}] {m.get('role')}:")
        if content is not None:
            lines += (content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)).splitlines()
        if m.get("tool_calls"):
            lines += json.dumps(m["tool_calls"], ensure_ascii=False).splitlines()
    return lines


def diff_text(field_name: str, before: object, after: object, *, labels: tuple[str, str] = ("before", "after")) -> str:
    """A unified diff of one field's two values ("" when they are equal). Messages are compared as transcripts,
    tags one per line."""
    if field_name == "messages":
        a, b = transcript(before or []), transcript(after or [])
    elif field_name == "tags":
        a, b = list(before or []), list(after or [])
    else:
        a = "" if before is None else str(before)
        b = "" if after is None else str(after)
        a, b = a.splitlines(), b.splitlines()
    return "\n".join(difflib.unified_diff(a, b, fromfile=labels[0], tofile=labels[1], lineterm=""))


def word_diff(before: str, after: str) -> str:
    """What changed between two texts, word by word, on one line: removed words as ``[-…-]``, added ones as
    ``{+…+}`` (as ``git diff --word-diff``), with at most a few unchanged words around each change."""
    a, b = (before or "").split(), (after or "").split()
    out: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            same = a[i1:i2]
            out.append(" ".join(same) if len(same) <= 6 else f"{' '.join(same[:3])} … {' '.join(same[-3:])}")
            continue
        if i2 > i1:
            out.append(f"[-{' '.join(a[i1:i2])}-]")
        if j2 > j1:
            out.append(f"{{+{' '.join(b[j1:j2])}+}}")
    return " ".join(part for part in out if part)


def _content_text(message: dict | None) -> str:
    if message is None:
        return ""
    content = message.get("content")
    return content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)


def _messages_line(old: list[dict], new: list[dict]) -> str:
    parts = []
    for i in range(max(len(old), len(new))):
        o, n = (old[i] if i < len(old) else None), (new[i] if i < len(new) else None)
        if o == n:
            continue
        what = "(added)" if o is None else "(removed)" if n is None else word_diff(_content_text(o), _content_text(n))
        parts.append(f"[{i + 1}] {(n or o).get('role')}: {what}")
    return " · ".join(parts) or "(no change)"


def change_line(field_name: str, before: str | None, after: str | None, *, width: int = 240) -> str:
    """One logged change of a field in one line for a table: the changed messages as word diffs ("[3] assistant:
    Lima [-.-] {+is the capital of Peru.+}"), tags added and removed ("+geo −draft"), or "before → after".

    Args:
        before, after: the values as the audit log holds them (JSON for messages and tags).
    """
    line = None
    if field_name in ("messages", "tags") and before is not None and after is not None:
        try:
            old, new = decode(field_name, before), decode(field_name, after)
        except ValueError:  # not JSON (cut short): shown as it is
            old = new = None
        if field_name == "messages" and isinstance(old, list) and isinstance(new, list):
            line = _messages_line(old, new)
        elif field_name == "tags" and isinstance(old, list) and isinstance(new, list):
            line = " ".join(
                [f"+{t}" for t in sorted(set(new) - set(old))] + [f"−{t}" for t in sorted(set(old) - set(new))]
            )
    if line is None:
        line = f"{'—' if before in (None, '') else before} → {'—' if after in (None, '') else after}"
    return line if len(line) <= width else line[: width - 1] + "…"


# ------------------------------------------------------------------------------------------------ merges


def _hunks(base: list[str], other: list[str]) -> list[tuple[int, int, list[str]]]:
    """The changes that turn ``base`` into ``other``: (start, end, replacement lines) over base's lines."""
    matcher = difflib.SequenceMatcher(None, base, other, autojunk=False)
    return [(i1, i2, other[j1:j2]) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def _apply(base: list[str], lo: int, hi: int, hunks: list[tuple[int, int, list[str]]]) -> list[str]:
    """base[lo:hi] with one side's hunks (all inside the range, in order) applied."""
    out, at = [], lo
    for start, end, lines in hunks:
        out += base[at:start] + lines
        at = end
    return out + base[at:hi]


def merge_text(base: str, theirs: str, mine: str) -> tuple[str, bool]:
    """Three-way merge of a text, line by line.

    Returns:
        (merged text, clean). Changes to different lines are combined (clean). Where both sides changed the same
        or adjacent lines differently, the merged text holds both between ``<<<<<<< theirs``, ``=======`` and
        ``>>>>>>> yours`` lines, and clean is False: a person must choose.
    """
    if theirs == mine or mine == base:
        return theirs, True
    if theirs == base:
        return mine, True
    b, t, m = (s.splitlines(keepends=True) for s in (base, theirs, mine))
    # A text that does not end with a newline would glue its last line to a marker: compare with one added.
    for lines in (b, t, m):
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
    sides = sorted([(*h, "theirs") for h in _hunks(b, t)] + [(*h, "mine") for h in _hunks(b, m)], key=lambda h: h[:2])
    out: list[str] = []
    clean, at, i = True, 0, 0
    while i < len(sides):
        # A cluster: hunks that overlap or touch, from either side.
        lo, hi = sides[i][0], sides[i][1]
        group = [sides[i]]
        i += 1
        while i < len(sides) and sides[i][0] <= hi:
            hi = max(hi, sides[i][1])
            group.append(sides[i])
            i += 1
        out += b[at:lo]
        theirs_part = _apply(b, lo, hi, [h[:3] for h in group if h[3] == "theirs"])
        mine_part = _apply(b, lo, hi, [h[:3] for h in group if h[3] == "mine"])
        if {h[3] for h in group} == {"theirs"} or theirs_part == mine_part:
            out += theirs_part
        elif {h[3] for h in group} == {"mine"}:
            out += mine_part
        else:
            clean = False
            out += [MARK_THEIRS + "\n", *theirs_part, MARK_SPLIT + "\n", *mine_part, MARK_MINE + "\n"]
        at = hi
    out += b[at:]
    merged = "".join(out)
    # Give back the texts' own ending, not the newline added for comparing.
    if not theirs.endswith("\n") and not mine.endswith("\n") and merged.endswith("\n"):
        merged = merged[:-1]
    return merged, clean


def has_conflict_markers(text: str) -> bool:
    """Whether a merged text still holds an unresolved conflict."""
    lines = text.splitlines()
    return MARK_THEIRS in lines and MARK_MINE in lines


def merge_tags(base: list[str], theirs: list[str], mine: list[str]) -> list[str]:
    """Theirs, plus the tags I added, minus the tags I removed (always clean)."""
    added, removed = set(mine) - set(base), set(base) - set(mine)
    return sorted((set(theirs) | added) - removed)


def merge_messages(base: list[dict], theirs: list[dict], mine: list[dict]) -> tuple[list[dict] | None, bool]:
    """Three-way merge of messages, one message's text at a time.

    Returns:
        (messages, clean). When the three lists do not have the same roles in the same order (someone added or
        removed a turn) and both sides changed them, there is no message-by-message merge: (None, False).
    """
    if theirs == mine or mine == base:
        return theirs, True
    if theirs == base:
        return mine, True
    shape = [[m.get("role") for m in msgs] for msgs in (base, theirs, mine)]
    if not shape[0] == shape[1] == shape[2]:
        return None, False
    merged, clean = [], True
    for b, t, m in zip(base, theirs, mine):
        bc, tc, mc = b.get("content"), t.get("content"), m.get("content")
        if all(isinstance(c, str) for c in (bc, tc, mc)):
            text, ok = merge_text(bc, tc, mc)
            merged.append({**t, "content": text})
            clean &= ok
        elif tc == mc or mc == bc:
            merged.append(t)
        elif tc == bc:
            merged.append(m)
        else:  # structured content both sides changed: keep mine, flagged
            merged.append(m)
            clean = False
    return merged, clean
