"""The digests Winnow records: of a file (an imported file's, to know it again, and each export file's, in its
manifest), and of a list of names (an evaluation's selection members and each run's contents, to tell on a later
look whether they changed). One function each, so that every place computes the same one."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: Path) -> str:
    """Return the SHA-256 of the file at ``path`` as 64 hex digits, read 1 MiB at a time (files of any size)."""
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def lines_sha256(lines) -> str:
    """Return the SHA-256 of strings joined by newlines, in their order (sample ids, content hashes)."""
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()
