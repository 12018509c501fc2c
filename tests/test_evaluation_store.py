"""The workspace's evaluation tables (core/store/evaluations.py): a plan stored whole, runs finished one at a time
with their per-item losses read back exactly, the live curve, permissions and deletion."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import PermissionDenied, WinnowError
from core.store import Store
from core.team import accounts


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "ws.duckdb") as s:
        accounts.add_user(s, "ada", "admin", "ada-password", by="ada")
        accounts.add_user(s, "lena", "lead", "lena-password", by="ada")
        accounts.add_user(s, "ann", "annotator", "ann-password", by="ada")
        yield s


RUNS = [
    {"run": "selection", "kind": "selection", "seed": None, "train_ids": ["a", "b"]},
    {"run": "random-1", "kind": "random", "seed": 1, "train_ids": ["c", "d"]},
]


def test_runs_are_planned_then_finished_one_at_a_time(store):
    store.create_evaluation("e1", config={"seed": 0}, plan={"holdout": []}, runs=RUNS, user="lena")
    assert [(r["run"], r["status"], r["train_ids"]) for r in store.evaluation_runs("e1")] == [
        ("selection", "planned", ["a", "b"]),
        ("random-1", "planned", ["c", "d"]),
    ]
    store.record_run_curve("e1", "selection", [(1, 2.5), (2, 2.0)])
    assert store.evaluation_runs("e1")[0]["curve"] == [[1, 2.5], [2, 2.0]]
    nll, tokens = np.array([1.25, 3.5, 0.1]), np.array([3, 7, 1])
    store.finish_evaluation_run(
        "e1",
        "selection",
        result={"train_samples": 2, "adapter_dir": "/x", "curve": [(1, 2.5)], "train_tokens": 40, "seconds": 1.5},
        losses={"holdout": (nll, tokens), "math.jsonl": (nll[:1], tokens[:1])},
        answers={"holdout": ["four", "five"]},
        user="lena",
    )
    runs = store.evaluation_runs("e1")
    assert [r["status"] for r in runs] == ["done", "planned"]
    assert runs[0]["train_tokens"] == 40 and runs[0]["finished_at"] is not None
    got = store.evaluation_losses("e1")
    assert set(got) == {"selection"} and set(got["selection"]) == {"holdout", "math.jsonl"}
    assert got["selection"]["holdout"][0].tolist() == nll.tolist()
    assert got["selection"]["holdout"][1].tolist() == tokens.tolist()
    assert store.evaluation_answers("e1") == {"selection": {"holdout": ["four", "five"]}}
    assert store.evaluations()[0] | {"created_at": None} == {
        "name": "e1",
        "created_at": None,
        "created_by": "lena",
        "runs": 2,
        "done": 1,
    }


def test_names_are_unique_and_only_leads_evaluate_or_delete(store):
    store.create_evaluation("e1", config={}, plan={}, runs=RUNS, user="lena")
    with pytest.raises(WinnowError, match="exists already"):
        store.create_evaluation("e1", config={}, plan={}, runs=RUNS, user="lena")
    with pytest.raises(PermissionDenied):
        store.create_evaluation("e2", config={}, plan={}, runs=RUNS, user="ann")
    with pytest.raises(PermissionDenied):
        store.delete_evaluation("e1", user="ann")
    assert store.delete_evaluation("e1", user="lena") is True
    assert store.evaluations() == [] and store.evaluation_runs("e1") == []
    assert store.delete_evaluation("e1", user="lena") is False
