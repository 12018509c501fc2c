import threading

import pytest

from core.errors import Cancelled
from core.scoring import available_scorers, get_scorer
from core.scoring.base import Scorer, batches_by_budget, estimate_tokens, iter_scored, register, run_side_by_side


def make(n, cost):
    return {"id": str(n), "cost": cost}


def by_cost(sample):
    return sample["cost"]


def test_batches_respect_budget_and_size_and_keep_every_sample_once():
    samples = [make(i, c) for i, c in enumerate([5, 100, 7, 30, 31, 99, 2, 64, 64, 1, 300, 8])]
    batches = batches_by_budget(samples, by_cost, token_budget=200, max_batch=3)
    assert sorted(s["id"] for b in batches for s in b) == sorted(s["id"] for s in samples)
    for batch in batches:
        assert len(batch) <= 3
        padded = len(batch) * max(s["cost"] for s in batch)
        assert padded <= 200 or len(batch) == 1  # the 300-token sample gets a batch of its own
    assert [s["cost"] for s in batches[0]] == [300]


def test_batches_are_sorted_by_length_so_padding_is_small():
    samples = [make(i, c) for i, c in enumerate([10, 500, 12, 480, 11, 490, 13, 470])]
    batches = batches_by_budget(samples, by_cost, token_budget=2000, max_batch=4)
    assert [sorted(s["cost"] for s in b) for b in batches] == [[470, 480, 490, 500], [10, 11, 12, 13]]


def test_batches_of_nothing_and_bad_limits():
    assert batches_by_budget([], by_cost, 100, 4) == []
    with pytest.raises(ValueError):
        batches_by_budget([make(0, 1)], by_cost, 0, 4)


def test_estimate_tokens_counts_cjk_characters_more_than_ascii():
    assert estimate_tokens("a" * 400) == pytest.approx(100, abs=2)
    assert estimate_tokens("北" * 100) == pytest.approx(100, abs=2)


class Echo(Scorer):
    name = "test-echo"
    columns = {"echo_len": "INTEGER"}
    default_params = {"model": "m", "n": 1}

    def score_batch(self, samples):
        return [{"echo_len": len(s["messages"])} for s in samples]


def test_registry_refuses_duplicate_names_and_lists_scorers():
    register(Echo)
    register(Echo)  # the same class again (a module imported twice) is fine

    class Other(Echo):
        pass

    with pytest.raises(ValueError, match="already registered"):
        register(Other)
    assert {"ifd", "embedding", "heuristics", "reward", "test-echo"} <= set(available_scorers())
    with pytest.raises(KeyError, match="available"):
        get_scorer("no-such-scorer")
    with pytest.raises(ValueError, match="no parameter"):
        get_scorer("test-echo", temperature=3)


def test_key_is_stable_and_changes_with_params_and_version():
    register(Echo)
    a, b = get_scorer("test-echo", n=2), get_scorer("test-echo", n=2)
    assert a.key == b.key and a.key.startswith("test-echo/v1/") and len(a.key.rsplit("/", 1)[1]) == 16
    assert get_scorer("test-echo", n=3).key != a.key
    assert get_scorer("test-echo", model="other").key != get_scorer("test-echo").key

    class EchoV2(Echo):
        version = 2

    assert EchoV2(n=2).key != a.key
    assert a.describe()["params"] == {"model": "m", "n": 2}


def test_iter_scored_yields_each_batch_with_its_rows_and_honours_cancel():
    register(Echo)
    scorer = get_scorer("test-echo")
    samples = [
        {"id": str(i), "messages": [{"role": "user", "content": "x" * 40 * (i + 1)}] * (i % 3 + 1)} for i in range(10)
    ]
    seen = {}
    for batch, rows in iter_scored(scorer, samples, token_budget=100, max_batch=4):
        for sample, row in zip(batch, rows, strict=True):
            seen[sample["id"]] = row["echo_len"]
    assert seen == {s["id"]: len(s["messages"]) for s in samples}
    calls = iter(range(100))
    with pytest.raises(Cancelled):
        for _ in iter_scored(scorer, samples, token_budget=100, max_batch=2, cancelled=lambda: next(calls) >= 2):
            pass


def _new_thread_count() -> int:
    import torch

    seen = []
    thread = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    return seen[0]


def test_side_by_side_runs_every_job_once_on_single_threaded_workers():
    import torch

    seen, lock = [], threading.Lock()

    def work(job):
        with lock:
            seen.append((job, torch.get_num_threads(), torch.is_inference_mode_enabled(), threading.get_ident()))

    default = _new_thread_count()
    caller = torch.get_num_threads()
    run_side_by_side(work, list(range(50)), workers=3)
    assert sorted(job for job, *_ in seen) == list(range(50))
    assert {(threads, inference) for _, threads, inference, _ in seen} == {(1, True)}
    assert len({ident for *_, ident in seen}) <= 3
    # neither the caller's thread count nor the one new threads start with is left at the workers' 1
    assert torch.get_num_threads() == caller and _new_thread_count() == default


def test_a_job_started_while_workers_run_gets_the_default_thread_count(tmp_path):
    import torch

    from core import jobs
    from core.store import Store

    default = _new_thread_count()
    if default < 2:
        torch.set_num_threads(2)  # make the default distinguishable from the workers' 1
    try:
        with Store(tmp_path / "ws.duckdb") as store:
            counts = []

            def start_a_job(_):
                job = jobs.start_job(
                    store, "score", {}, lambda progress: counts.append(torch.get_num_threads()), user="u"
                )
                jobs.wait(job, timeout=30)

            run_side_by_side(start_a_job, [0, 1], workers=2)
        assert counts == [max(default, 2)] * 2
    finally:
        torch.set_num_threads(default)


def test_a_workers_error_reaches_the_caller_and_stops_the_rest():
    done = []
    both_in_flight = threading.Barrier(2)  # jobs 0 and 1 run at once, so on the two different workers
    failing: list[threading.Thread] = []

    def work(job):
        if job == 0:
            failing.append(threading.current_thread())
        if job in (0, 1):
            both_in_flight.wait()
        if job == 0:
            raise RuntimeError("out of memory in batch 0")
        if job == 1:
            # Finish only once the failing worker has recorded its error and stopped: then this worker must stop too,
            # instead of draining the other 98 jobs.
            failing[0].join()
        done.append(job)

    with pytest.raises(RuntimeError, match="batch 0"):
        run_side_by_side(work, list(range(100)), workers=2)
    assert done == [1]
