"""The Ray engine on a real local Ray (one per module, ``ray.init(num_cpus=2)``): the same scores as the local engine,
resume after a real kill of the driver, a worker's failure, cancel, and the errors a user sees."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal

import pytest
from paused_process import kill, start_paused
from test_cli import run_cli
from tiny_models import build_reward_model

from core.errors import Cancelled
from core.importing.workspace import import_file
from core.scoring import get_scorer
from core.scoring.base import Scorer
from core.scoring.engines import Engine
from core.scoring.ray_engine import run_scorer_on_ray
from core.scoring.runner import run_scorer, run_scorers
from core.scoring.shard_driver import WorkerFailed
from core.scoring.shards import ShardFolder
from core.settings import PROJECT_ROOT
from core.store import Store

ray = pytest.importorskip("ray")

WORDS = ["the", "a", "answer", "question", "river", "mountain", "water", "explain", "because", "你", "好", "答", "案"]


@pytest.fixture(scope="module")
def cluster():
    """One local Ray for the module. Its workers import core and this folder (for the test-only scorer below)."""
    env = {"PYTHONPATH": f"{PROJECT_ROOT}:{PROJECT_ROOT / 'tests'}", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def _records() -> list[dict]:
    """Chinese and English, short and long, a duplicate, an empty answer (IFD does not apply), and odd characters."""
    records = []
    for i in range(26):
        if i % 3 == 0:
            records.append({"instruction": f"用中文解释第{i}个问题", "input": "", "output": "这是答案。" * (1 + i % 4)})
        else:
            records.append(
                {
                    "instruction": f"Explain question {i} about the river and the mountain",
                    "input": "because" if i % 4 == 0 else "",
                    "output": ("The answer is water. " * (1 + i % 6)) + "\u200b✓",
                }
            )
    records.append(dict(records[4]))  # a duplicate: scored once
    records.append({"instruction": "Say nothing", "input": "", "output": ""})
    records.append({"instruction": "A long one: " + "mountain " * 300, "input": "", "output": "river " * 200})
    return records


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A workspace file nobody scored yet; each test works on a copy."""
    folder = tmp_path_factory.mktemp("ray-ws")
    source = folder / "mixed.json"
    source.write_text(json.dumps(_records(), ensure_ascii=False), encoding="utf-8")
    path = folder / "ws.duckdb"
    with Store(path) as store:
        import_file(store, source, user="ana")
    return path


@pytest.fixture
def two_copies(workspace, tmp_path):
    """(local, ray): two copies of the unscored workspace."""
    copies = []
    for name in ("local", "ray"):
        shutil.copy(workspace, tmp_path / f"{name}.duckdb")
        copies.append(Store(tmp_path / f"{name}.duckdb"))
    yield copies
    for store in copies:
        store.close()


def _scores(store: Store, name: str) -> dict[str, dict]:
    key = store.scorer_keys()[name]["key"]
    cur = store.cursor().execute(f"SELECT * FROM score_{name} WHERE scorer_key = ? ORDER BY content_hash", [key])
    columns = [d[0] for d in cur.description]
    return {row[0]: dict(zip(columns, row)) for row in cur.fetchall()}


def _largest_difference(a: dict, b: dict) -> float:
    worst = 0.0
    for column, x in a.items():
        if column in ("scored_at",):
            continue
        y = b[column]
        if isinstance(x, (list, tuple)):
            worst = max([worst, *(abs(p - q) for p, q in zip(x, y, strict=True))])
        elif isinstance(x, float) and isinstance(y, float):
            worst = max(worst, 0.0 if x == y or (math.isnan(x) and math.isnan(y)) else abs(x - y))
        else:
            assert x == y, (column, x, y)
    return worst


@pytest.mark.parametrize("name", ["heuristics", "embedding", "ifd", "reward"])
def test_ray_gives_the_local_engines_scores(name, cluster, two_copies, tiny, cpu_settings, tmp_path_factory):
    local, remote = two_copies
    cpu_settings = cpu_settings.with_(allow_models="any")  # the tiny models live in tmp folders
    params = {"ifd": {"model": tiny}, "embedding": {}, "heuristics": {}}
    if name == "reward":
        params["reward"] = {"model": str(build_reward_model(tmp_path_factory.mktemp("reward"), WORDS))}
    local_report = run_scorers(local, [name], settings=cpu_settings, params=params)[0]
    scorer = get_scorer(name, cpu_settings, **params[name])
    ray_report = run_scorer_on_ray(remote, scorer, actors=2, shard_size=5)
    assert ray_report.scored == local_report.scored == local.count_contents() == 28  # 29 records, one a duplicate
    assert ray_report.key == local_report.key
    want, got = _scores(local, name), _scores(remote, name)
    assert want.keys() == got.keys()
    assert max(_largest_difference(want[h], got[h]) for h in want) <= 1e-6
    applied = [
        row
        for row in got.values()
        if any(v is not None for k, v in row.items() if k not in ("content_hash", "scorer_key", "scored_at"))
    ]
    assert applied, "every result came back empty"
    assert remote.scorer_keys()[name]["columns"] == local.scorer_keys()[name]["columns"]
    assert not ShardFolder(remote.path, name, scorer.key).path.exists()  # merged and cleaned up
    assert run_scorer_on_ray(remote, scorer, actors=1).scored == 0  # nothing is left to send out


def test_a_killed_driver_resumes_to_the_same_scores(cluster, workspace, tmp_path):
    """The CLI, connected to this module's Ray, killed once right after a shard's file is written (before its merge)
    and once after a later merge; each restart merges what was left and scores only what has no result."""
    db = tmp_path / "ws.duckdb"
    shutil.copy(workspace, db)
    args = ("score", "--db", db, "--scorers", "heuristics", "--engine", "ray", "--address", cluster, "--shard-size", 4)
    for point in ("score.shard_written#2", "score.shard_merged#3"):
        kill(start_paused(*args, point=point))
    with Store(db) as store:
        key = get_scorer("heuristics").key
        assert ShardFolder(db, "heuristics", key).pending(), "the kill before the merge left a whole result file"
        merged = store.count_unscored("heuristics", key)
        assert 0 < merged[0] < merged[1]
    done = run_cli(*args, env={"HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    reference = tmp_path / "reference.duckdb"
    shutil.copy(workspace, reference)
    with Store(db) as resumed, Store(reference) as whole:
        run_scorer(whole, get_scorer("heuristics"))
        want, got = _scores(whole, "heuristics"), _scores(resumed, "heuristics")
        assert want.keys() == got.keys()
        assert all(_largest_difference(want[h], got[h]) == 0.0 for h in want)
        assert not ShardFolder(db, "heuristics", key).path.exists()


class PoisonedScorer(Scorer):
    """Fails on any sample whose prompt holds the word "poison" (a test-only scorer, shipped to the workers)."""

    name = "poisoned"
    columns = {"x": "DOUBLE"}

    def score_batch(self, samples):
        for sample in samples:
            if "poison" in sample["messages"][0]["content"]:
                raise ValueError("cannot score a poisoned prompt")
        return [{"x": 1.0} for _ in samples]


def test_a_failing_worker_names_the_samples_and_merges_nothing_of_their_shard(cluster, tmp_path):
    records = [{"instruction": f"ok {i}", "output": "fine"} for i in range(12)]
    records.insert(5, {"instruction": "a poison prompt", "output": "bad"})  # in the 2nd shard of 4
    source = tmp_path / "poison.json"
    source.write_text(json.dumps(records), encoding="utf-8")
    with Store(tmp_path / "ws.duckdb") as store:
        import_file(store, source, user="ana")
        samples = store.cursor().execute("SELECT id, content_hash FROM samples ORDER BY rid").fetchall()
        with pytest.raises(WorkerFailed) as failure:
            run_scorer_on_ray(store, PoisonedScorer(), shard_size=4)
        message = str(failure.value)
        assert "cannot score a poisoned prompt" in message and "\n" not in message
        named = [sample_id for sample_id, _ in samples if sample_id in message]
        assert named == [samples[5][0]]  # the poisoned sample, not its shard mates
        scored = {h for (h,) in store.cursor().execute("SELECT content_hash FROM score_poisoned").fetchall()}
        assert not scored & {h for _, h in samples[4:8]}  # its shard is not merged, not even in part


class DyingScorer(Scorer):
    """Kills its own process with SIGKILL (as the out-of-memory killer would) the first time it meets a prompt holding
    the word "die"; the marker file, made just before, says it did. A test-only scorer, shipped to the workers."""

    name = "dying"
    columns = {"x": "DOUBLE"}
    default_params = {"marker": ""}

    def score_batch(self, samples):
        for sample in samples:
            if "die" in sample["messages"][0]["content"].split():
                try:
                    with open(self.params["marker"], "x"):
                        pass
                except FileExistsError:
                    continue  # killed once already
                os.kill(os.getpid(), signal.SIGKILL)
        return [{"x": float(len(sample["messages"][-1]["content"]))} for sample in samples]


def test_a_killed_worker_is_replaced_and_the_scores_equal_an_uninterrupted_run(cluster, tmp_path):
    records = [{"instruction": f"ok {i}", "output": "fine" * (i + 1)} for i in range(12)]
    records.insert(6, {"instruction": "now die please", "output": "gone"})  # in the 2nd shard of 4
    source = tmp_path / "dying.json"
    source.write_text(json.dumps(records), encoding="utf-8")
    marker = tmp_path / "killed"
    for name in ("ray", "local"):
        with Store(tmp_path / f"{name}.duckdb") as store:
            import_file(store, source, user="ana")
    with Store(tmp_path / "ray.duckdb") as store:
        report = run_scorer_on_ray(store, DyingScorer(marker=str(marker)), shard_size=4)
        assert marker.exists(), "the worker was never killed"
        assert report.scored == 13
        killed = _scores(store, "dying")
    with Store(tmp_path / "local.duckdb") as store:
        run_scorer(store, DyingScorer(marker=str(marker)))  # the marker is there: nothing dies
        assert killed.keys() == _scores(store, "dying").keys()
        assert all(_largest_difference(killed[h], v) == 0.0 for h, v in _scores(store, "dying").items())


def test_cancel_keeps_merged_shards_and_a_second_run_finishes(cluster, two_copies):
    local, remote = two_copies
    run_scorer(local, get_scorer("heuristics"))
    seen = []
    with pytest.raises(Cancelled):
        run_scorer_on_ray(
            remote,
            get_scorer("heuristics"),
            shard_size=5,
            progress=lambda done, total, message: seen.append(done),
            cancelled=lambda: len(seen) > 1,  # after the first merged shard
        )
    key = get_scorer("heuristics").key
    left, contents = remote.count_unscored("heuristics", key)
    assert 0 < left < contents
    report = run_scorer_on_ray(remote, get_scorer("heuristics"), shard_size=5)
    assert report.scored == left and report.already == contents - left
    assert _scores(local, "heuristics").keys() == _scores(remote, "heuristics").keys()


def test_nothing_to_score_still_makes_the_key_current(cluster, two_copies, cpu_settings):
    _, remote = two_copies
    run_scorer(remote, get_scorer("heuristics"))
    report = run_scorers(remote, ["heuristics"], engine=Engine("ray", actors=1))[0]
    assert report.scored == 0 and report.already == remote.count_contents()
    assert remote.scorer_keys()["heuristics"]["key"] == get_scorer("heuristics").key


def test_an_unreachable_address_is_one_line_naming_it(workspace, tmp_path):
    db = tmp_path / "ws.duckdb"
    shutil.copy(workspace, db)
    done = run_cli("score", "--db", db, "--scorers", "heuristics", "--engine", "ray", "--address", "127.0.0.1:9")
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert "cannot reach Ray at 127.0.0.1:9" in done.stderr and "Traceback" not in done.stderr


def test_engine_choices_are_checked():
    from core.errors import WinnowError

    with pytest.raises(WinnowError, match="unknown engine"):
        Engine("spark")
    with pytest.raises(WinnowError, match="at least 1 actor"):
        Engine("ray", actors=0)
    assert str(Engine("ray", address="auto", actors=2, gpus_per_actor=0.5)) == "Ray at auto, 2 actor(s), 0.5 GPU each"


def test_the_cascade_picks_the_same_on_ray(cluster, two_copies, tiny, cpu_settings):
    from core.selection.cascade import run_cascade

    settings = cpu_settings.with_(allow_models="any")
    picks = {}
    for store, engine in zip(two_copies, (Engine("local"), Engine("ray", actors=2, shard_size=4)), strict=True):
        result = run_cascade(store, name="c", user="ana", settings=settings, small_model=tiny, engine=engine)
        picks[engine.kind] = (result.ids, [(s.samples_in, s.samples_out, s.scored) for s in result.stages])
    assert picks["ray"] == picks["local"]
    assert picks["ray"][1][-1][2] > 0  # the IFD stage scored on the workers
