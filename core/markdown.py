"""Imported text shown as Markdown, without fetching anything.

Streamlit renders a Markdown image (``![alt](https://host/pic.png)``, or ``![alt][ref]`` with ``[ref]: url``) as an
``<img>``: every reviewer's browser then fetches it from wherever the imported text says, which tells that host who
reads the data and when (a tracking pixel), and shows whatever it serves. So Review shows images as links unless a lead
enables them for the workspace (``Store.markdown_images``). HTML is never rendered by the pages (Streamlit escapes
it), so the Markdown image syntax is the only way in.
"""

from __future__ import annotations

import re

# A "!" that starts an image: one not already escaped (an even run of backslashes before it, none counts as zero).
# Linear: the lookbehind fails inside a run of backslashes, so each run is scanned from its start only.
_IMAGE_START = re.compile(r"(?<!\\)((?:\\\\)*)!\[")
_FENCE = re.compile(r"[ ]{0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"`+")


def images_as_links(text: str) -> str:
    """``text`` with every Markdown image turned into a link to the same address (``![a](u)`` -> ``!``\\ ``[a](u)``).

    The "!" is escaped, so it shows as a plain "!" before the link and nothing is fetched. Code is left as written:
    fenced blocks and code spans show their text literally, so an image there is no image, and an escape would show.
    """
    if "![" not in text:
        return text
    out: list[str] = []
    fence: str | None = None  # the open fence's marker, while inside a fenced block
    for line in text.splitlines(keepends=True):
        opened = _FENCE.match(line)
        if fence is not None:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
            out.append(line)
        elif opened:
            fence = opened.group(1)
            out.append(line)
        else:
            out.append(_outside_code_spans(line))
    return "".join(out)


def _outside_code_spans(line: str) -> str:
    """Escape image starts in ``line`` except inside code spans (a run of n backticks up to the next run of n)."""
    if "`" not in line:
        return _IMAGE_START.sub(r"\1\\![", line)
    runs = list(_CODE_SPAN.finditer(line))
    # For each run, the index of the next run of the same length: found from the end, one pass, so it stays linear.
    closing: list[int | None] = [None] * len(runs)
    next_of_length: dict[int, int] = {}
    for i in range(len(runs) - 1, -1, -1):
        n = len(runs[i].group())
        closing[i] = next_of_length.get(n)
        next_of_length[n] = i
    parts: list[str] = []
    done = 0  # line[:done] is in parts
    i = 0
    while i < len(runs):
        j = closing[i]
        if j is None:  # an unmatched run is literal backticks
            i += 1
            continue
        start, end = runs[i].start(), runs[j].end()
        parts.append(_IMAGE_START.sub(r"\1\\![", line[done:start]))
        parts.append(line[start:end])
        done = end
        i = j + 1
    parts.append(_IMAGE_START.sub(r"\1\\![", line[done:]))
    return "".join(parts)
