"""How far long work is, said one way everywhere: ``progress(done, total=None, message="")``.

Core's long functions (import, scoring, projection, selection, export) call a progress callback now and then; some
pass only ``done`` and ``total`` (None when the total is not known yet), some a message ``"PHASE: detail"`` too. Who
shows it decides how often it wants to hear, through one throttle (``reporting``): the app writes a job's row at most
every ``JOB_EVERY_S`` (``core.jobs``), the CLI moves a bar on a terminal and prints a line ``LABEL: DONE/TOTAL`` at
most every ``LOG_EVERY_S`` elsewhere (``terminal_progress``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

JOB_EVERY_S = 0.3  # a job's row: often enough for a page's progress bar, rarely enough not to slow the work
LOG_EVERY_S = 2.0  # a line in a log (CLI output that is not a terminal)


class Progress(Protocol):
    """A progress callback: ``done`` of ``total`` (None: not known yet) units, and what is being done."""

    def __call__(self, done: int, total: int | None = None, message: str = "") -> None: ...


def phase(message: str) -> str:
    """The part of a progress message that names what is being done: the text before its first colon
    (``"ifd: 40 of 120"`` → ``"ifd"``), or all of it."""
    return message.split(":", 1)[0]


class Throttle:
    """A ``Progress`` that passes a report on to ``show`` when it matters or when ``every_s`` has passed since the
    last one it passed: the first report, the last one (``done >= total``) and the first of a new phase always
    pass, so a display never misses a start, an end or a change of what is being done."""

    def __init__(self, show: Callable[[int, int | None, str], None], every_s: float):
        self._show = show
        self._every_s = every_s
        self._last: float | None = None
        self._phase: str | None = None

    def __call__(self, done: int, total: int | None = None, message: str = "") -> None:
        now = time.monotonic()
        finished = total is not None and done >= total
        new_phase = phase(message) != self._phase
        if self._last is None or finished or new_phase or now - self._last >= self._every_s:
            self._last, self._phase = now, phase(message)
            self._show(done, total, message)


@contextmanager
def reporting(
    show: Callable[[int, int | None, str], None], *, every_s: float, close: Callable[[], None] | None = None
) -> Iterator[Throttle]:
    """The one way long work reports progress: ``with reporting(show, every_s=...) as progress: work(progress)``.

    Args:
        show: draws or stores a report ``(done, total, message)``; it may raise (a job's ``Cancelled``).
        every_s: the least time between two ordinary reports (see ``Throttle``).
        close: called however the work ends (a terminal bar's ``close``).

    Yields:
        The throttled ``Progress`` to hand to the work.
    """
    try:
        yield Throttle(show, every_s)
    finally:
        if close is not None:
            close()


@contextmanager
def terminal_progress(label: str, unit: str) -> Iterator[Throttle]:
    """The CLI's progress on stderr: a tqdm bar on a terminal; elsewhere (pipelines, CI logs) a plain line
    ``LABEL: DONE/TOTAL`` at most every ``LOG_EVERY_S``. A message's phase (``"ifd: …"``) becomes the label."""
    from tqdm import tqdm

    interactive = sys.stderr.isatty()
    bar = tqdm(desc=label, unit=unit, dynamic_ncols=True, disable=not interactive)
    current = {"label": label}

    def show(done: int, total: int | None, message: str) -> None:
        if message and phase(message) != current["label"]:
            current["label"] = phase(message)
            bar.set_description(current["label"])
        if interactive:
            if total is not None and bar.total != total:
                bar.total = total
            bar.n = done
            bar.refresh()
        else:
            of = f"/{total}" if total else ""
            print(f"{current['label']}: {done}{of}", file=sys.stderr, flush=True)

    with reporting(show, every_s=0.0 if interactive else LOG_EVERY_S, close=bar.close) as progress:
        yield progress
