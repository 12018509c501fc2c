"""``export_training``: a training export written into its own folder, built beside it and swapped in whole.

The folder holds the split files, the packed files, a LLaMA-Factory ``dataset_info.json`` and ``manifest.json``
(``core.training.pipeline`` makes them). An interrupted export leaves the previous one whole, and a folder of that
name that is not a Winnow training export is never replaced.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
from datetime import datetime
from pathlib import Path

from core.digest import file_sha256
from core.errors import WinnowError
from core.store import SampleFilter, Store
from core.training.pipeline import MANIFEST_KIND, Progress, TrainingOptions, TrainingReport, prepare
from core.training.writing import (
    DATASET_INFO,
    export_target,
    partial_folder_beside,
    remove_stale_partials,
    write_json_atomic,
)

MANIFEST = "manifest.json"

_SWAP_LOCK = threading.Lock()


def export_training(
    store: Store,
    export_dir: str | os.PathLike,
    name: str,
    *,
    user: str,
    filters: SampleFilter | None = None,
    options: TrainingOptions | None = None,
    progress: Progress | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> TrainingReport:
    """Write a training-ready export into the folder ``export_dir/name``.

    The folder holds ``train.jsonl`` and ``validation.jsonl`` (TRL ``messages`` or ``prompt``/``completion``; no
    validation file when it would be empty), with ``pack`` ``train.packed.parquet`` and ``validation.packed.parquet``
    (see ``unpack_rows``), a LLaMA-Factory ``dataset_info.json`` (for the messages format), and ``manifest.json``:
    the selection and its recipe hash or the filters, scorer keys and models, counts per split and task label, token
    totals and percentiles, the truncation report, packing efficiency, the tokenizer and its template's hash, the
    method advice, warnings and the skipped samples with their reasons.

    The folder is built under a temporary name beside it (readable by its owner only, like every export) and swapped
    in at the end: an interrupted export leaves the previous one whole, and the next export to that name removes the
    leftovers. A folder of that name that is not a Winnow training export is never replaced.

    Args:
        name: a plain folder name inside ``export_dir`` (no folders, no '..').
        filters: which samples (default: accepted); ``filters.selection`` takes a saved selection's members.

    Returns:
        A TrainingReport with the folder, the files written and the manifest.

    Raises:
        WinnowError: a bad name or option, a staged selection without a stage, nothing to write, or a foreign
            folder in the way. PermissionDenied: the user may not export, or the name leads out of ``export_dir``.
        ModelUnavailable: the tokenizer cannot be loaded.
    """
    options = options or TrainingOptions()
    options.check()
    store.authorize(user, "export")
    target = export_target(export_dir, (name or "").strip())
    name = target.name
    _check_replaceable(target)
    filters = filters if filters is not None else SampleFilter(status="accepted")
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(target.parent, name)
    tmp = partial_folder_beside(target)
    try:
        manifest, files = prepare(store, filters, options, tmp, progress, cache_dir)
        if not manifest["samples"]["written"]["train"]:
            raise WinnowError(
                f"nothing to train on: {manifest['samples']['matched']} samples matched, "
                f"{manifest['samples']['skipped']} were left out and {manifest['samples']['dropped_over_max_length']} "
                "were over max_length"
            )
        manifest = {"name": name, **manifest}
        if options.fmt == "messages":
            info = {
                f"{name}_{split}": {"file_name": files[split].name, **json.loads(json.dumps(DATASET_INFO["openai"]))}
                for split in ("train", "validation")
                if split in files
            }
            write_json_atomic(tmp / "dataset_info.json", info)
            manifest["files"]["dataset_info"] = {
                "file": "dataset_info.json",
                "sha256": file_sha256(tmp / "dataset_info.json"),
            }
        else:
            manifest["dataset_info"] = (
                "not written: LLaMA-Factory cannot read conversational prompt/completion lists; export the messages "
                "format for it"
            )
        write_json_atomic(tmp / MANIFEST, manifest)
        with _SWAP_LOCK:
            _check_replaceable(target)
            old = None
            if target.exists():
                old = partial_folder_beside(target)  # the previous export, removed once the new one is in place
                os.replace(target, old / name)
            try:
                os.replace(tmp, target)
            except BaseException:
                if old is not None:
                    _put_back(old / name, target)
                    shutil.rmtree(old, ignore_errors=True)  # empty now: the previous export is back in place
                raise
            # Only now, with the new export in place, is the previous one removed. (Removing it in a ``finally``
            # also deleted it when putting it back had failed, losing both.)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    written = {key: str(target / path.name) for key, path in files.items()}
    if options.fmt == "messages":
        written["dataset_info"] = str(target / "dataset_info.json")
    written["manifest"] = str(target / MANIFEST)
    store.log_event(
        "export-training",
        user=user,
        detail={
            "folder": str(target),
            "format": options.fmt,
            "samples": manifest["samples"]["written"],
            "tokenizer": manifest["tokenizer"]["name"],
            "manifest_sha256": file_sha256(target / MANIFEST),
        },
    )
    return TrainingReport(str(target), written, manifest)


def _put_back(previous: Path, target: Path) -> None:
    """Move the previous export back to ``target`` after the new one could not take its place.

    Raises:
        WinnowError: it could not be moved back either; it is left whole where it is, and the message says where.
    """
    try:
        os.replace(previous, target)
        return
    except OSError as ex:
        error = ex
    # Something took the name meanwhile. Keep the previous export under a name of its own beside it: left inside
    # its temporary folder, the next export would remove it as a killed export's leftovers.
    kept = target.with_name(f"{target.name}.previous-{datetime.now():%Y%m%d-%H%M%S}")
    with contextlib.suppress(OSError):
        os.replace(previous, kept)
        previous = kept
    raise WinnowError(
        f"the export could not replace {target}, nor could the previous export be put back ({error.strerror}): "
        f"it is kept whole in {previous}; move it back to {target} by hand"
    ) from error


def _check_replaceable(target: Path) -> None:
    """Refuse to replace anything at ``target`` but an earlier Winnow training export."""
    if not target.exists() and not target.is_symlink():
        return
    if target.is_symlink() or not target.is_dir():
        raise WinnowError(f"{target} exists and is not a training export folder; pick another name")
    try:
        ours = json.loads((target / MANIFEST).read_text(encoding="utf-8")).get("kind") == MANIFEST_KIND
    except (OSError, ValueError, AttributeError):
        ours = False
    if not ours:
        raise WinnowError(f"{target} exists and is not a Winnow training export; pick another name, or move it away")
