"""Uploads: a file sent through the Import page, saved once under the workspace's uploads/ folder for the import."""

from __future__ import annotations

import os
import re
from pathlib import Path

from core.errors import WinnowError


def save_upload(
    data: bytes | memoryview, name: str, file_id: str, *, folder: Path, limit_mb: int, keep_name: bool = False
) -> Path:
    """Write an upload to ``folder`` once (the same ``file_id`` again finds it there) and return its path.

    The file is named after the upload's id and its original name, made safe for a path; it is written owner-only
    (0600) and appears under its name only once whole.

    Args:
        data: the upload's bytes.
        name: its original name, as the person's browser gave it.
        file_id: an id the upload keeps across reruns of the page (Streamlit's ``UploadedFile.file_id``).
        folder: where uploads are kept (the workspace's uploads/ folder); created owner-only when missing.
        limit_mb: the largest upload, in MB.
        keep_name: name the file by its original name alone, in a folder of its own named by the upload's id (an
            eval file is known by its file name).

    Raises:
        WinnowError: the upload is over the limit. The browser checks it too, but a request need not come from it.
    """
    size = len(data)
    if size > limit_mb * 1024 * 1024:
        raise WinnowError(
            f"{name}: {size / 1024 / 1024:.1f} MB is over the upload limit of {limit_mb} MB "
            "(WINNOW_MAX_UPLOAD_MB); an admin can import it by its path on the server, or `python -m core import`"
        )
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name).lstrip(".") or "upload"
    target = folder / file_id[:12] / safe if keep_name else folder / f"{file_id[:12]}-{safe}"
    if not target.exists():
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.unlink(missing_ok=True)  # a killed session's leftover would keep its own mode
        # Uploads are people's data: owner only (0600), whatever the umask.
        with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as fh:
            fh.write(data)
        partial.replace(target)
    return target
