"""The headless CLI, run as users and pipelines run it: a subprocess, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from patience import HANG_S
from paused_process import kill, start_paused

from core.settings import PROJECT_ROOT


def run_cli(*args, env=None, timeout=HANG_S):
    full_env = {**os.environ, "WINNOW_USER": "ci", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "core", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=full_env,
        timeout=timeout,
    )


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


RECORDS = [
    {"instruction": "Name a fruit", "input": "", "output": "Apple."},
    {"instruction": "写一句问候", "input": "", "output": "你好，朋友！"},
]


def test_import_stats_export(tmp_path):
    db = tmp_path / "ws.duckdb"
    src = write_jsonl(tmp_path / "a.jsonl", RECORDS)
    out = run_cli("import", src, "--db", db)
    assert out.returncode == 0, out.stderr
    assert "imported 2 records as alpaca" in out.stdout
    stats = run_cli("stats", "--db", db, "--json")
    assert json.loads(stats.stdout)["by_status"] == {"pending": 2, "accepted": 0, "rejected": 0}
    exp = run_cli("export", "--db", db, "--out", tmp_path / "all.jsonl", "--format", "alpaca", "--status", "all")
    assert exp.returncode == 0, exp.stderr
    lines = (tmp_path / "all.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x) for x in lines] == RECORDS
    none = run_cli("export", "--db", db, "--out", tmp_path / "acc.jsonl", "--format", "alpaca")
    assert none.returncode == 0 and (tmp_path / "acc.jsonl").read_text() == ""


def test_user_mistakes_exit_nonzero_with_one_line_and_no_traceback(tmp_path):
    db = tmp_path / "ws.duckdb"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": "a", "output": "b"}\n{"instruction": "a", "output": \n', encoding="utf-8")
    cases = [
        ("import", bad, "--db", db),
        ("import", tmp_path / "missing.json", "--db", db),
        ("import", write_jsonl(tmp_path / "g.jsonl", [{"q": "x", "a": "y"}]), "--db", db, "--map", "prompt=question"),
        ("stats", "--db", tmp_path / "nowhere.duckdb"),
    ]
    for args in cases:
        out = run_cli(*args)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert "Traceback" not in out.stderr
        assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1, out.stderr
    assert "bad.jsonl" in run_cli("import", bad, "--db", db).stderr


def test_killed_export_never_leaves_a_partial_file(tmp_path):
    db = tmp_path / "ws.duckdb"
    records = [{"instruction": f"Question {i}?", "input": "", "output": f"Answer {i}. " * 40} for i in range(12_000)]
    assert run_cli("import", write_jsonl(tmp_path / "big.jsonl", records), "--db", db, "--no-signals").returncode == 0
    out = tmp_path / "exp" / "big.jsonl"
    # Held after its first batch of two is written to the temporary file, then killed.
    proc = start_paused(
        "export", "--db", db, "--out", out, "--format", "alpaca", "--status", "all", point="export.batch_written#1"
    )
    assert list(out.parent.glob(".big.jsonl.partial-*")), "the export had not started writing"
    kill(proc)
    assert not out.exists()


def test_unknown_status_and_unreadable_paths_are_one_line_errors(tmp_path):
    db = tmp_path / "ws.duckdb"
    assert run_cli("import", write_jsonl(tmp_path / "a.jsonl", RECORDS), "--db", db, "--no-signals").returncode == 0
    bad = run_cli("export", "--db", db, "--out", tmp_path / "x.jsonl", "--format", "alpaca", "--status", "acepted")
    assert bad.returncode == 2 and "unknown status acepted" in bad.stderr and "Traceback" not in bad.stderr
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    out = run_cli("export", "--db", db, "--out", blocked / "x.jsonl", "--format", "alpaca", "--status", "all")
    assert out.returncode == 2 and "Traceback" not in out.stderr and out.stderr.startswith("error:")


@pytest.mark.model
def test_export_training_prints_the_report_and_writes_a_folder(tmp_path):
    db = tmp_path / "ws.duckdb"
    assert run_cli("import", write_jsonl(tmp_path / "a.jsonl", RECORDS), "--db", db, "--no-signals").returncode == 0
    env = {"WINNOW_EXPORT_DIR": str(tmp_path / "exports"), "HF_HUB_OFFLINE": "1"}
    args = ("export-training", "--db", db, "--status", "all", "--val-fraction", "0", "--max-length", "512")

    out = run_cli(*args, "--name", "run", "--pack", env=env)
    assert out.returncode == 0, out.stderr
    folder = tmp_path / "exports" / "run"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["samples"]["written"] == {"train": 2, "validation": 0}
    lines = out.stdout.splitlines()
    assert lines[0] == "samples: 2 matched; train 2, validation 0"
    assert f"tokens (bundled:SmolLM2-135M-Instruct.Q4_1): {manifest['tokens']['total']:,}" in lines[1]
    assert lines[3].startswith("packing train: 2 samples into 1 rows of 512, efficiency ")
    assert "P-tuning" in out.stdout and "ICLR 2024" in out.stdout
    assert lines[-1].startswith(f"wrote {folder}: train.jsonl, train.packed.parquet, dataset_info.json, manifest.json")

    dry = run_cli(*args, "--dry-run", env=env)
    assert dry.returncode == 0 and dry.stdout.splitlines()[:4] == lines[:4] and "wrote" not in dry.stdout
    assert sorted(p.name for p in (tmp_path / "exports").iterdir()) == ["run"]

    for bad, words in (
        (("--name", "../up"), "no folders"),
        (("--stage", "2", "--name", "x"), "--stage picks a stage"),
        (("--selection", "none", "--name", "x"), "drop --status"),
        ((), "--name NAME"),
    ):
        err = run_cli(*args, *bad, env=env)
        assert err.returncode == 2 and words in err.stderr and err.stderr.count("\n") == 1, (bad, err.stderr)


def test_the_score_commands_flags_become_each_scorers_parameters():
    from core.cli.models import scorer_params
    from core.cli.parser import build_parser

    args = build_parser().parse_args(
        ["score", "--model", "m", "--embed-text", "conversation", "--reward-model", "r", "--max-new-tokens", "64"]
    )
    assert scorer_params(args) == {
        "ifd": {"model": "m"},
        "embedding": {"text": "conversation"},
        "reward": {"model": "r"},
        "necessity": {"reward_model": "r", "max_new_tokens": 64},
        "decontam": {},
        "knowledge": {"model": "m"},  # the base model the knowledge categories are for
        "turns": {"model": "m"},  # per-turn IFD, with the IFD model
    }
    assert scorer_params(build_parser().parse_args(["score"])) == {
        "ifd": {},
        "embedding": {},
        "reward": {},
        "necessity": {},
        "decontam": {},
        "knowledge": {},
        "turns": {},
    }
    more = ["score", "--eval-sets", "gsm, math", "--ngram", "12", "--knowledge-fast", "--knowledge-samples", "8"]
    params = scorer_params(build_parser().parse_args([*more, "--answer-field", "short"]))
    assert params["decontam"] == {"eval_sets": ["gsm", "math"], "n": 12, "min_tokens": 8}
    assert params["knowledge"] == {"prompts": 3, "samples": 8, "answer_field": "short"}  # its own flag wins
