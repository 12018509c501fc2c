"""How two versions of a sample differ, in text: conversations as numbered transcripts, unified diffs of a field
(the Review page's unsaved edits, an annotator's edit on the Team page, the history), word diffs in one line for the
log's table.
"""

from __future__ import annotations

import difflib
import json

from core.team.history import decode


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


def messages_diff(before: list[dict], after: list[dict], labels: tuple[str, str] = ("original", "edited")) -> str:
    """A unified diff of two conversations, as transcripts ("" when they are the same)."""
    return "\n".join(
        difflib.unified_diff(transcript(before), transcript(after), fromfile=labels[0], tofile=labels[1], lineterm="")
    )


def diff_text(field_name: str, before: object, after: object, *, labels: tuple[str, str] = ("before", "after")) -> str:
    """A unified diff of one field's two values ("" when they are equal). Messages are compared as transcripts,
    tags one per line."""
    if field_name == "messages":
        return messages_diff(before or [], after or [], labels=labels)
    if field_name == "tags":
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
