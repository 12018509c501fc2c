"""``make bench scale``: IFD throughput of the engines on this machine, and what it means for 1M samples.

The same Alpaca samples (shared/data's alpaca_5000 when it is there, else synthetic ones) are scored with the bundled
135M model on each engine in turn, from an unscored copy of one workspace:
- local: this process (the CLI's engine; on a CPU its forward passes run side by side, one per core);
- worker: the app's jobs' engine (one worker process; the app only merges);
- Ray with 1 and with 2 actors on a local ``ray.init(num_cpus=2)`` (one CPU each).

Each run's time includes its start (a worker's or an actor's model load), as a user's run does. Projections for 1M
samples and for more workers are printed with their formula, and marked as projections.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

N_SAMPLES = int(os.environ.get("WINNOW_BENCH_SCALE_N", 160))
SHARED_ALPACA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "alpaca_5000_pr152.json"


def _source(folder: Path) -> tuple[Path, str]:
    """An Alpaca JSON file of N_SAMPLES records, and where they came from."""
    path = folder / f"scale_{N_SAMPLES}.json"
    if SHARED_ALPACA.exists():
        records = json.loads(SHARED_ALPACA.read_text(encoding="utf-8"))[:N_SAMPLES]
        where = f"the first {len(records)} of shared/data/alpaca_5000"
    else:
        from bench import make_alpaca

        lines = make_alpaca(folder / "scale_synthetic.jsonl", N_SAMPLES, seed=11).read_text().splitlines()
        records = [json.loads(line) for line in lines[:N_SAMPLES]]
        where = f"{len(records)} synthetic Alpaca records"
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return path, where


def bench_scale() -> None:
    import ray
    from bench import BENCH_DIR

    from core.importing.workspace import import_file
    from core.scoring import get_scorer
    from core.scoring.process_engine import _worker, run_scorer_in_worker
    from core.scoring.ray_engine import run_scorer_on_ray
    from core.scoring.runner import run_scorer
    from core.settings import load_settings
    from core.store import Store

    folder = BENCH_DIR / "scale"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    source, where = _source(folder)
    base = folder / "base.duckdb"
    with Store(base) as store:
        import_file(store, source, user="bench")
        contents = store.count_contents()
    single = folder / "single.duckdb"
    one = folder / "one.json"
    one.write_text(json.dumps(json.loads(source.read_text(encoding="utf-8"))[:1]), encoding="utf-8")
    with Store(single) as store:
        import_file(store, one, user="bench")
    settings = load_settings().with_(device="cpu", dtype="fp32")
    get_scorer("ifd", settings).setup()  # converts the bundled model into the cache once, outside the timings

    def one_run(name: str, db_from: Path, run) -> float:
        db = folder / f"{name}.duckdb"
        shutil.copy(db_from, db)
        _worker.stop()  # every run starts its own worker (or actors), as a user's run does
        with Store(db) as store:
            t0 = time.perf_counter()
            report = run(store, get_scorer("ifd", settings))
            seconds = time.perf_counter() - t0
            assert report.scored == store.count_contents(), (name, report)
        return seconds

    def timed(name: str, run) -> tuple[float, float]:
        """(seconds for all the samples, samples/h once started): the start (a worker's or an actor's model load)
        is taken out by also scoring a one-sample workspace, so rate = (N - 1) / (T(N) - T(1))."""
        t_one = one_run(f"{name}-1", single, run)
        t_all = one_run(name, base, run)
        return t_all, (contents - 1) / max(t_all - t_one, 1e-9) * 3600

    times = {
        "local": timed("local", lambda store, scorer: run_scorer(store, scorer)),
        "worker": timed("worker", lambda store, scorer: run_scorer_in_worker(store, scorer)),
    }
    env = {"PYTHONPATH": str(Path(__file__).resolve().parent.parent), "HF_HUB_OFFLINE": "1"}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
    try:
        for actors in (1, 2):
            times[f"ray x{actors}"] = timed(
                f"ray{actors}",
                lambda store, scorer, n=actors: run_scorer_on_ray(store, scorer, actors=n, shard_size=16),
            )
    finally:
        ray.shutdown()
    _worker.stop()

    rate = {name: steady for name, (_, steady) in times.items()}  # samples per hour, once started
    print(f"scale    IFD (bundled SmolLM2-135M, fp32, CPU) on {where}: {contents} contents per run")
    for name, (seconds, steady) in times.items():
        print(
            f"         {name:<8} {seconds:6.1f} s in all; once started {steady:9,.0f} samples/h, so 1M samples in "
            f"{1e6 / steady:7.1f} h = {1e6 / steady / 24:5.2f} days (projected)"
        )
    print(
        f"         Ray driver overhead against the local engine on these 2 CPUs (same run): ray x2 takes "
        f"{times['ray x2'][0] / times['local'][0]:.2f}x the local engine's time in all, "
        f"{rate['local'] / rate['ray x2']:.2f}x once started"
    )
    efficiency = rate["ray x2"] / (2 * rate["ray x1"])
    print(
        f"         projection to N workers of this machine's kind (one CPU each): rate(N) = N x rate(1) x e, with "
        f"e = rate(2) / (2 x rate(1)) = {efficiency:.2f} measured above, held constant (an assumption)"
    )
    for n in (1, 2, 8):
        projected = n * rate["ray x1"] * (efficiency if n > 1 else 1.0)
        print(
            f"         {n} worker(s): {projected:9,.0f} samples/h; 1M samples in {1e6 / projected:7.1f} h (projected)"
        )
