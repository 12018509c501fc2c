"""Start ``python -m core ...`` held at a pause point (core/pause_points.py), to kill it exactly there.

The test waits for the process's own word that it reached the point, read from its standard error; it never guesses
from the clock or from how big a file has grown.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys

from patience import HANG_S

from core.pause_points import ENV, PAUSE_LINE
from core.settings import PROJECT_ROOT


class ExitedFirst(AssertionError):
    """The process ended before it reached its pause point."""


def start_paused(*args, point: str, env: dict | None = None) -> subprocess.Popen:
    """Run ``python -m core ARGS`` and return it once it waits at ``point`` ("name" or "name#N" for the Nth time).

    Raises:
        ExitedFirst: with its exit code and standard error, if it ended before reaching the point.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "core", *map(str, args)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "WINNOW_USER": "ci", "HF_HUB_OFFLINE": "1", **(env or {}), ENV: point},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    said = []
    for line in proc.stderr:  # progress lines and logs come first; the pause line is the last before the wait
        if line.startswith(PAUSE_LINE):
            return proc
        said.append(line)
    code = proc.wait()
    raise ExitedFirst(f"exited with {code} before pausing at {point}: {''.join(said)[-2000:]}")


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL a paused process and reap it."""
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if proc.stderr:
        proc.stderr.close()


def wait_for_exit(pid: int) -> None:
    """Block until process ``pid`` (not a child of ours) has exited, without polling (Linux pidfd)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        ready, _, _ = select.select([fd], [], [], HANG_S)
        assert ready, f"process {pid} still runs after {HANG_S} s"
    finally:
        os.close(fd)
