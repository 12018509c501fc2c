"""The demo workspace that ``make run`` opens: the files in data/demo, written for Winnow."""

from __future__ import annotations

from pathlib import Path

from core.importer import ImportReport, import_file
from core.settings import PROJECT_ROOT
from core.store import Store

DEMO_DIR = PROJECT_ROOT / "data" / "demo"

# (file, field mapping or None for a file whose format is detected)
DEMO_FILES: tuple[tuple[str, str | None], ...] = (
    ("general_alpaca.json", None),
    ("chats_sharegpt.jsonl", None),
    ("math_code_openai.jsonl", None),
    ("qa_mapped.csv", "prompt=question,response=answer"),
)


def load_demo(store: Store, *, user: str, folder: Path = DEMO_DIR) -> list[ImportReport]:
    """Import the demo files into an empty workspace. A workspace that holds samples is left alone.

    Returns:
        One report per imported file (empty when the workspace already had samples).
    """
    if store.count() > 0:
        return []
    return [import_file(store, folder / name, user=user, mapping=mapping) for name, mapping in DEMO_FILES]
