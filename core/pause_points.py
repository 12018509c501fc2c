"""Pause points: named places where a test can hold a process, to kill it exactly there.

The fault tests kill real processes in the middle of an import, an export or a scoring run, and check what the
workspace and the files look like afterwards. Killing on a timer, or when a file has grown past some size, races the
machine: a fast run finishes before the kill, a slow one is killed before the point it meant. So the code marks the
points that matter with :func:`pause_point`, and a test names one of them in the environment of the process it
starts::

    _WINNOW_PAUSE_AT="score.batch_written#2"      # the 2nd time that point is reached

When that point is reached for that time, the process writes one line, ``PAUSE_LINE`` followed by the point, to its
standard error and then waits forever; the test reads the line (it observes the point, it does not guess it) and
sends SIGKILL. Worker processes inherit the variable and the standard error, so a point in a worker works the same.

This is for tests only: the variable is not a setting, is documented nowhere a user reads, and costs one dictionary
lookup when unset.
"""

from __future__ import annotations

import os
import sys
import threading

ENV = "_WINNOW_PAUSE_AT"
PAUSE_LINE = "winnow-paused-at "

_counts: dict[str, int] = {}
_lock = threading.Lock()


def _target() -> tuple[str, int] | None:
    spec = os.environ.get(ENV)
    if not spec:
        return None
    name, _, nth = spec.partition("#")
    return name, int(nth or 1)


def pause_point(name: str) -> None:
    """Hold this process forever if a test asked to pause at ``name`` and this is the time it asked for."""
    target = _target()
    if target is None or target[0] != name:
        return
    with _lock:
        _counts[name] = _counts.get(name, 0) + 1
        reached = _counts[name] == target[1]
    if reached:
        sys.stderr.write(f"{PAUSE_LINE}{name}#{target[1]} pid {os.getpid()}\n")
        sys.stderr.flush()
        threading.Event().wait()  # until the test kills us
