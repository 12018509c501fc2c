"""The headless commands: ``python -m core COMMAND ...``.

Exit code 0 on success; on a user's mistake, one line on stderr and a non-zero exit code, never a traceback.
Anything that is not a ``WinnowError`` is a bug and surfaces with its traceback.

The commands' words are in ``parser.py``; what they do is in ``samples.py`` (import, export, export-training, select,
stats, backup, demo), ``models.py`` (score, map, label), ``evaluation.py`` (evaluate) and ``team.py`` (user,
assign). The long ones call ``core.actions``, as the app's pages do, and show their progress with
``core.progress.terminal_progress``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from core.cli.parser import build_parser
from core.errors import WinnowError
from core.settings import load_settings

EXIT_USER_ERROR = 2


def main(argv: list[str] | None = None) -> int:
    """Run the command ``argv`` (default: the process's arguments). Returns the exit code: 0, ``EXIT_USER_ERROR``
    after a user's mistake (one line on stderr), 130 when interrupted."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings().with_(
            db=Path(args.db) if getattr(args, "db", None) else None, user=getattr(args, "user", None)
        )
        # WINNOW_ALLOW_MODELS limits what the app's users make the server load; the CLI acts as whoever runs it.
        settings = settings.with_(allow_models="any")
        return args.func(args, settings)
    except WinnowError as ex:
        print(f"error: {ex}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as ex:  # a file or folder the user named cannot be read or written
        where = f" {ex.filename}" if ex.filename else ""
        print(f"error:{where}: {ex.strerror or ex}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
