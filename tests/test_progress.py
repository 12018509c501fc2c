"""The one progress helper (core/progress.py): what the throttle lets through never depends on timing for the
reports that matter (first, last, a new phase), and the CLI's log lines."""

from __future__ import annotations

import pytest

from core.progress import Throttle, phase, reporting, terminal_progress


def test_the_first_the_last_and_each_new_phase_always_pass():
    shown = []
    throttle = Throttle(lambda *report: shown.append(report), every_s=3600)  # nothing passes for the time alone
    throttle(0, 10, "ifd: 0 of 10")
    throttle(3, 10, "ifd: 3 of 10")  # same phase, too soon: dropped
    throttle(4, 10, "ifd: 4 of 10")
    throttle(0, 5, "embedding: starting")  # a new phase
    throttle(2, 5, "embedding: 2 of 5")
    throttle(5, 5, "embedding: 5 of 5")  # the last
    throttle(7, None)  # no total yet, no message: a phase of its own ("")
    throttle(8, None)
    assert shown == [
        (0, 10, "ifd: 0 of 10"),
        (0, 5, "embedding: starting"),
        (5, 5, "embedding: 5 of 5"),
        (7, None, ""),
    ]


def test_with_no_wait_every_report_passes():
    shown = []
    with reporting(lambda *report: shown.append(report), every_s=0.0) as progress:
        for done in range(4):
            progress(done, 3)
    assert [r[0] for r in shown] == [0, 1, 2, 3]


def test_reporting_closes_its_display_however_the_work_ends():
    closed = []
    with pytest.raises(RuntimeError), reporting(lambda *r: None, every_s=1.0, close=lambda: closed.append(1)):
        raise RuntimeError("the work failed")
    assert closed == [1]


def test_a_phase_is_the_text_before_the_first_colon():
    assert phase("ifd: 40 of 120") == "ifd"
    assert phase("step 2 of 5: dedup") == "step 2 of 5"
    assert phase("reading inputs") == "reading inputs"


def test_the_cli_writes_lines_to_a_log_with_the_phase_as_label(capsys):
    with terminal_progress("score", "sample") as progress:  # stderr is not a terminal under pytest
        progress(0, 4, "heuristics: starting")
        progress(4, 4, "heuristics: 4 of 4")
        progress(0, 2, "ifd: starting")
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["heuristics: 0/4", "heuristics: 4/4", "ifd: 0/2"]
