"""``python -m core evaluate`` as a user runs it: a subprocess on a real workspace with a tiny random Llama, killed
after its first stored run and run again, which trains only the missing runs; the --json shape; one-line errors."""

from __future__ import annotations

import json

import pytest
from paused_process import kill, start_paused
from test_cli import run_cli, write_jsonl
from test_evaluation_runs import chatter, sums

from core.importing.workspace import import_file
from core.store import SampleFilter, Store


@pytest.fixture
def db(tmp_path):
    data = write_jsonl(tmp_path / "pool.jsonl", sums(range(30)) + chatter(range(60)))
    with Store(tmp_path / "ws.duckdb") as store:
        import_file(store, data, user="ci")
        ids = [r["id"] for r in store.page(SampleFilter(text="Add "), limit=100).to_pylist()]
        store.save_selection(
            "sums", recipe="steps: []", recipe_hash="x", log=[], members=[(i, 1) for i in ids], user="ci"
        )
    return tmp_path / "ws.duckdb"


def test_a_killed_evaluation_resumes_with_only_the_missing_runs(db, tiny, tmp_path):
    test_file = write_jsonl(
        tmp_path / "qa.jsonl", [{"q": f"Add {i} and {i + 7}.", "a": f"{2 * i + 7}"} for i in (900, 901)]
    )
    args = ["evaluate", "--db", db, "--selection", "sums", "--model", tiny, "--random", "2", "--holdout", "0.1"]
    args += [
        "--max-steps",
        "3",
        "--max-length",
        "64",
        "--device",
        "cpu",
        "--eval-file",
        test_file,
        "--eval-map",
        "prompt=q,response=a",
    ]
    proc = start_paused(*args, point="evaluate.run_stored#1")
    kill(proc)
    with Store(db, read_only=True) as store:
        assert [r["status"] for r in store.evaluation_runs("sums-vs-random")] == [
            "done",
            "planned",
            "planned",
            "planned",
        ]
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr
    assert "trained 3 runs; kept 1 finished before" in again.stdout
    assert "qa.jsonl: selection" in again.stdout and "lower is better" in again.stdout
    shown = run_cli("evaluate", "--db", db, "--name", "sums-vs-random", "--json")  # by name alone: as stored
    assert shown.returncode == 0, shown.stderr
    summary = json.loads(shown.stdout)  # nothing else on stdout: the trainer's own prints are off
    assert [(r["kind"], r["seed"]) for r in summary["runs"]] == [
        ("selection", None),
        ("random", 1),
        ("random", 2),
        ("base", None),
    ]
    assert summary["runs"][0]["train_samples"] == summary["runs"][1]["train_samples"] > 0
    assert set(summary["runs"][0]["eval_loss"]) == {"holdout", "qa.jsonl"}
    assert set(summary["comparison"]) == {"holdout", "qa.jsonl"}
    assert {"candidate", "random_mean", "difference", "difference_95", "base", "verdict"} <= set(
        summary["comparison"]["qa.jsonl"]
    )


def test_bad_evaluate_requests_are_one_line(db, tiny, tmp_path):
    missing = run_cli("evaluate", "--db", db, "--selection", "nope", "--model", tiny)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert missing.stderr.strip().splitlines()[-1] == (
        "error: no selection named 'nope'; run a recipe first (Select page, or `core select`)"
    )
    early = run_cli("evaluate", "--db", db, "--selection", "sums", "--eval-map", "prompt=q")
    assert early.returncode == 2 and "--eval-map follows the --eval-file it maps" in early.stderr
    neither = run_cli("evaluate", "--db", db)
    assert neither.returncode == 2 and "give --selection NAME or --recipe FILE" in neither.stderr
    nofile = run_cli("evaluate", "--db", db, "--selection", "sums", "--eval-file", tmp_path / "gone.jsonl")
    assert nofile.returncode == 2 and "no eval file" in nofile.stderr and "Traceback" not in nofile.stderr
