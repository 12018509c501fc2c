"""Three-way merges for the Review page's conflict panel: the version the editor started from (base), the version
someone saved meanwhile (theirs) and the editor's (mine).

They are pure and line-based, like diff3: changes to different lines combine; changes to the same lines are a
conflict, written between git-style markers.
"""

from __future__ import annotations

import difflib

MARK_THEIRS, MARK_SPLIT, MARK_MINE = "<<<<<<< theirs", "=======", ">>>>>>> yours"


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
