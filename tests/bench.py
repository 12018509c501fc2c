"""Winnow's benchmark: speed targets live here, never in timed tests.

    python tests/bench.py                 # everything
    python tests/bench.py import query    # some sections

Each section measures in one run, in a process of its own (so that none slows the next), and prints ratios against
its target; the machine it ran on is printed first.
Synthetic data is generated under .bench/ (git-ignored); nothing third-party is needed.

Sections:
    import   importing 1M Alpaca records (target >= 100k records/s)
    query    page queries on the 1M-row workspace, p95 (target <= 200 ms)
    ifd      the batched IFD engine vs a per-sample loop of the spec, same samples (target >= 1.25x on CPU)
             and in bf16 on the CPU: >= 2x that loop, keeping fp32's ranking on shared Alpaca data (Spearman >= 0.999,
             top-5 % overlap >= 0.97, AUC of Cherry LLM's 5 % picks within 0.005; tests/bench_ifd_precision.py)
    embed    the embedding scorer vs the embedder's own encode() on the same texts (target >= 90 %)
    rescore  re-scoring after editing 1 % of the samples vs a full run (target <= 2 %)
    kcenter  k-center greedy (MoDS coverage), 100k x 384 to 5k centres (target <= 30 s)
    facility facility location, 20k x 384: 1k picks with the similarities kept (target <= 30 s, <= 2 GiB), and
             10 picks recomputing them, as above that size (target <= 256 MiB, the same picks)
    explore  the Explore page on 1M samples: its data path and AppTest renders, first and later (target <= 3 s)
    load     20 sessions reviewing and editing in Review while a scoring job runs: p95 per action, errors, lost edits
             (target: no errors, no lost edits)
    load_jobs  20 sessions in Review, each acting every 5 s, while an IFD job and a heuristics job run: p95 per action
             with the jobs' scorers in the worker process, and in threads as before (target <= 500 ms, no errors, no
             lost edits; tests/bench_load.py)
    scale    IFD on the local engine, the worker process and Ray with 1 and 2 actors: samples/h, the projection to 1M
             samples and 8 workers, and Ray's overhead (tests/bench_scale.py; shared Alpaca, else synthetic)
    embedders  the bundled embedders on shared English and Chinese data: speed, random-pair cosines, near copies,
               cluster purity, mixed-language clusters, label accuracy (tests/bench_bilingual.py; needs ../shared)
    labels   task-label suggestions on 785 hand-labelled shared samples: per-label precision and recall (target:
             recall >= 85 % for code and math, macro recall >= 70 %)
    dedup    the default dedup on 400 Chinese samples + 60 planted copies (target: keep >= 97 % of originals,
             remove >= 90 % of copies), and on English
    train    an evaluation run with the bundled model: training tokens/s, held-out scoring, peak memory, and the
             projected default evaluation of a 300-sample selection (target <= 30 min; tests/bench_training.py)
    decontam the decontam scorer, 1M samples against 10k eval items with 1,000 planted copies (target <= 5 min,
             every copy found, nothing else flagged; tests/bench_decontam.py)
"""

from __future__ import annotations

import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DIR = ROOT / ".bench"

# What the Review page's conflict view says on top (pages/_conflict.py): a conflict, not an error.
CONFLICT_SAID = "Someone saved a newer version"
N_IMPORT = int(os.environ.get("WINNOW_BENCH_ROWS", 1_000_000))


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem_gib = float("nan")
    gpu = "no GPU"
    try:
        import torch

        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB RAM, {gpu}, Python {platform.python_version()}"


def verdict(ok: bool) -> str:
    return "MEETS TARGET" if ok else "BELOW TARGET"


WORDS = [
    "data",
    "model",
    "train",
    "answer",
    "question",
    "river",
    "mountain",
    "code",
    "python",
    "list",
    "number",
    "write",
    "explain",
    "summary",
    "table",
    "history",
    "science",
    "quickly",
    "carefully",
    "because",
    "however",
    "therefore",
    "example",
    "value",
    "result",
    "function",
    "string",
]
ZH = "数据模型训练回答问题河流山脉代码列表数字写作解释总结历史科学例子结果函数字符串"


def _text(rng: random.Random, n: int) -> str:
    if rng.random() < 0.3:
        return "".join(rng.choice(ZH) for _ in range(n))
    return " ".join(rng.choice(WORDS) for _ in range(n))


def make_alpaca(path: Path, n: int, seed: int = 0) -> Path:
    """n synthetic Alpaca records as JSON lines (~400 bytes each, 30 % Chinese)."""
    import orjson

    if path.exists():
        return path
    rng = random.Random(seed)
    tmp = path.with_suffix(".partial")
    with open(tmp, "wb") as fh:
        for i in range(n):
            rec = {
                "instruction": f"{_text(rng, rng.randint(5, 20))} #{i}",
                "input": _text(rng, rng.randint(0, 15)) if rng.random() < 0.4 else "",
                "output": _text(rng, rng.randint(20, 60)),
            }
            fh.write(orjson.dumps(rec) + b"\n")
    tmp.rename(path)
    return path


def bench_import() -> None:
    from core.importing.workspace import import_file
    from core.store import Store

    src = make_alpaca(BENCH_DIR / f"alpaca_{N_IMPORT}.jsonl", N_IMPORT)
    db = BENCH_DIR / "import.duckdb"
    db.unlink(missing_ok=True)
    with Store(db) as store:
        t0 = time.perf_counter()
        report = import_file(store, src, user="bench")
        seconds = time.perf_counter() - t0
    rate = report.imported / seconds
    print(
        f"import   {report.imported:,} Alpaca records in {seconds:.1f} s = {rate:,.0f} records/s "
        f"(target >= 100,000; ratio {rate / 100_000:.2f}) {verdict(rate >= 100_000)}"
    )
    shutil.copy(db, BENCH_DIR / "query.duckdb")


def bench_query() -> None:
    from core.store import SampleEdit, SampleFilter, Store

    db = BENCH_DIR / "query.duckdb"
    if not db.exists():
        bench_import()
    with Store(db) as store:
        n = store.count()
        rng = random.Random(1)
        ids = [r["id"] for r in store.page(limit=200, offset=n // 2).to_pylist()]
        store.set_status_many(ids[:100], "accepted", user="bench")
        store.set_status_many(ids[100:], "rejected", user="bench")
        store.update_sample(ids[0], store.get_sample(ids[0])["version"], SampleEdit(tags=["checked"]), user="bench")
        kinds = {
            "all, deep page": lambda: SampleFilter(),
            "status=accepted": lambda: SampleFilter(status="accepted"),
            "status=pending": lambda: SampleFilter(status="pending"),
            "text search": lambda: SampleFilter(text=rng.choice(WORDS) + " " + rng.choice(WORDS)),
            "tag": lambda: SampleFilter(tag="checked"),
            "hide duplicates": lambda: SampleFilter(duplicates=False),
        }
        timings: dict[str, list[float]] = {k: [] for k in kinds}
        store.page(limit=50)  # warm the buffer
        for _ in range(20):
            for kind, make in kinds.items():
                f = make()
                cap = 1_000 if f.text else None  # what Browse asks: a text search shows "1,000+ matches"
                total = store.count(f, cap=cap)
                offset = rng.randrange(0, max(1, total - 50)) if kind == "all, deep page" else 0
                t0 = time.perf_counter()
                store.count(f, cap=cap)
                store.page(f, offset=offset, limit=50)
                timings[kind].append((time.perf_counter() - t0) * 1000)
        # A word no sample holds: the whole table is read (no substring index yet). Reported, not in the p95.
        t0 = time.perf_counter()
        store.count(SampleFilter(text="zzqx"), cap=1_000)
        store.page(SampleFilter(text="zzqx"), limit=50)
        rare_ms = (time.perf_counter() - t0) * 1000
    every = [t for ts in timings.values() for t in ts]
    p95 = statistics.quantiles(every, n=20)[-1]
    print(
        f"query    page + count at {n:,} rows, {len(every)} queries: p95 {p95:.0f} ms "
        f"(target <= 200 ms; ratio {p95 / 200:.2f}) {verdict(p95 <= 200)}"
    )
    for kind, ts in timings.items():
        print(f"         {kind:<16} p50 {statistics.median(ts):6.0f} ms   max {max(ts):6.0f} ms")
    print(f"         text search for a word no sample holds (full scan, not in the p95): {rare_ms:.0f} ms")


def _demo_samples(limit: int) -> list[dict]:
    """Real chats from the demo files (written for Winnow), as scorer input."""
    from core.demo import DEMO_DIR, DEMO_FILES
    from core.formats.convert import to_canonical
    from core.formats.detect import detect_format
    from core.formats.mapped import parse_mapping
    from core.formats.readers import iter_records

    samples = []
    for name, mapping in DEMO_FILES:
        fmt = "mapped" if mapping else None
        mapping = parse_mapping(mapping) if mapping else None
        records = [r.data for r in iter_records(DEMO_DIR / name)]
        fmt = fmt or detect_format(records)
        for data in records:
            c = to_canonical(data, fmt, mapping)
            samples.append({"id": str(len(samples)), "messages": c.messages, "tools": c.tools})
    rng = random.Random(3)
    rng.shuffle(samples)
    return samples[:limit]


def bench_ifd() -> None:
    """The batched IFD engine against a plain per-sample loop of the spec: same samples and model, in one process,
    each timed twice (alternating) and its best kept."""
    import torch

    from core.models.language import load_causal_lm
    from core.scoring.base import cpu_workers
    from core.scoring.ifd import ifd_batched, ifd_reference, prepare_inputs
    from core.settings import load_settings

    model, tok, info = load_causal_lm("", device="auto", dtype="auto", cache_dir=load_settings().cache_dir)
    samples = _demo_samples(60)
    items = prepare_inputs(tok, samples, "auto", 512)
    # tokens through the model: conditioned (prompt + answer) and direct ([start] + answer) passes
    tokens = sum(len(i.prompt_ids) + 2 * len(i.answer_ids) + 1 for i in items if i.reason is None)
    budget = 512 if info.device == "cpu" else 16_384
    ifd_batched(model, tok, samples[:4], token_budget=budget)  # warm up both paths
    ifd_reference(model, tok, samples[0])
    results = {}

    def timed(name, run):
        t0 = time.perf_counter()
        results[name] = run()
        return time.perf_counter() - t0

    # Alternate the two and keep each one's best: on a shared VM one pass can be 20 % off the next.
    t_ref = timed("reference", lambda: [ifd_reference(model, tok, s) for s in samples])
    t_eng = timed("engine", lambda: ifd_batched(model, tok, samples, token_budget=budget))
    t_ref = min(t_ref, timed("reference", lambda: [ifd_reference(model, tok, s) for s in samples]))
    t_eng = min(t_eng, timed("engine", lambda: ifd_batched(model, tok, samples, token_budget=budget)))
    reference, engine = results["reference"], results["engine"]
    diff = max((abs(a["ifd"] - b["ifd"]) for a, b in zip(reference, engine) if a["ifd"] is not None), default=0.0)
    ratio = t_ref / t_eng
    target = 1.25 if info.device == "cpu" else 20.0
    print(
        f"ifd      {len(samples)} demo samples, {tokens:,} tokens, {info.name} on {info.device}/{info.dtype}, "
        f"{torch.get_num_threads()} threads, engine workers {cpu_workers() if info.device == 'cpu' else 1}"
    )
    print(
        f"         per-sample loop {tokens / t_ref:,.0f} tokens/s, engine {tokens / t_eng:,.0f} tokens/s: "
        f"{ratio:.2f}x (target >= {target:g}x) {verdict(ratio >= target)}; max |IFD difference| {diff:.1e}"
    )
    if info.device == "cpu":
        _ifd_cpu_ceiling(model, items, tokens, t_ref, t_eng)
        bench_ifd_precision(budget)


def _ifd_cpu_ceiling(model, items, tokens: int, t_ref: float, t_eng: float) -> None:
    """Why the fp32 engine cannot go much faster on a CPU: matmul work per run against this machine's sgemm rate."""
    import torch
    import torch.nn.functional as F

    from core.scoring.base import cpu_workers, run_side_by_side

    body = model.get_decoder()
    body_params = sum(p.numel() for p in body.parameters()) - body.get_input_embeddings().weight.numel()
    head_params = model.get_output_embeddings().weight.numel()
    scored = [i for i in items if i.reason is None]
    # the loop feeds every token and runs the LM head on every position; the engine does not feed the last answer
    # token of either pass and runs the head only on the rows that predict answer tokens
    ref_flops = 2 * (body_params + head_params) * tokens
    answer_rows = sum(2 * len(i.answer_ids) for i in scored)
    eng_flops = 2 * body_params * (tokens - 2 * len(scored)) + 2 * head_params * answer_rows
    config = model.config
    a = torch.randn(512, config.hidden_size)
    w = torch.randn(config.intermediate_size, config.hidden_size)
    workers = cpu_workers()
    jobs = 40 * workers
    run_side_by_side(lambda _: F.linear(a, w), list(range(workers)), workers)
    t0 = time.perf_counter()
    run_side_by_side(lambda _: F.linear(a, w), list(range(jobs)), workers)
    peak = 2 * a.shape[0] * w.shape[0] * w.shape[1] * jobs / (time.perf_counter() - t0)
    print(
        f"         matmul work: the engine does {eng_flops / ref_flops:.0%} of the loop's; loop "
        f"{ref_flops / t_ref / 1e9:,.0f} GFLOP/s, engine {eng_flops / t_eng / 1e9:,.0f} GFLOP/s, bare "
        f"{a.shape[0]}x{w.shape[1]}x{w.shape[0]} sgemm {peak / 1e9:,.0f} GFLOP/s ({workers} side by side): at that "
        f"rate the fp32 engine's ceiling is {t_ref / (eng_flops / peak):.2f}x"
    )


def bench_signals() -> None:
    """The heuristics scorer (run on every import) against the same signals with py3langid one text at a time."""
    from core.scoring import heuristics as H

    demo = _demo_samples(400)
    samples = demo * 10
    H._language_tables()

    def one_text_at_a_time(text):  # py3langid's own per-text walk, pooled as detect_languages does
        prose = H._prose(text)
        if prose is None:
            return None
        pooled = {}
        for lang, p in H._language_identifier().rank(prose)[:8]:
            pooled[H._MAIN_LANGUAGE.get(lang, lang)] = pooled.get(H._MAIN_LANGUAGE.get(lang, lang), 0.0) + p
        lang, confidence = max(pooled.items(), key=lambda item: item[1])
        return lang if confidence >= H.LANG_MIN_CONFIDENCE else None

    def before():
        rows = []
        for sample in samples:
            user, answer = H._sides(sample)
            rows.append(H.heuristics(sample, (one_text_at_a_time(user), one_text_at_a_time(answer))))
        return rows

    t0 = time.perf_counter()
    old = before()
    t_old = time.perf_counter() - t0
    t0 = time.perf_counter()
    new = H.heuristics_batch(samples)
    t_new = time.perf_counter() - t0
    t0 = time.perf_counter()
    old = before()
    t_old = min(t_old, time.perf_counter() - t0)
    t0 = time.perf_counter()
    new = H.heuristics_batch(samples)
    t_new = min(t_new, time.perf_counter() - t0)
    same = sum(a == b for a, b in zip(old, new, strict=True))
    n = len(samples)
    print(
        f"signals  heuristics on the {len(demo)} demo samples x 10: {n / t_new:,.0f} samples/s with batched language ID, "
        f"{n / t_old:,.0f}/s one text at a time = {t_old / t_new:.2f}x; {same:,} of {n:,} rows identical; "
        f"1M samples ~{1_000_000 / (n / t_new) / 60:.0f} min on one core"
    )


def bench_embed() -> None:
    """The embedding scorer against the embedder's own encode() on the same texts (the default embedder)."""
    from core.scoring import get_scorer
    from core.scoring.base import iter_scored
    from core.scoring.embedding import embedding_text

    samples = _demo_samples(400) * 5
    samples = [{**s, "id": str(i)} for i, s in enumerate(samples)]
    scorer = get_scorer("embedding")
    scorer.setup()
    texts = [embedding_text(s) for s in samples]
    scorer.model.encode(texts[:64])  # warm up

    def direct() -> float:
        t0 = time.perf_counter()
        scorer.model.encode(texts, batch_size=64)
        return time.perf_counter() - t0

    def through_scorer() -> float:
        t0 = time.perf_counter()
        sum(len(batch) for batch, _rows in iter_scored(scorer, samples))
        return time.perf_counter() - t0

    # alternate the two and keep each one's best, so neither gains from running second (warm caches)
    t_direct = direct()
    t_scorer = through_scorer()
    t_direct = min(t_direct, direct())
    t_scorer = min(t_scorer, through_scorer())
    n = len(texts)
    share = t_direct / t_scorer
    print(
        f"embed    {n:,} texts: encode() {n / t_direct:,.0f}/s, scorer {n / t_scorer:,.0f}/s = {share:.0%} "
        f"of direct (target >= 90 %) {verdict(share >= 0.9)}"
    )


def bench_rescore() -> None:
    """Re-scoring after editing 1 % of the samples, against the full run that preceded it."""
    from core.importing.workspace import import_file
    from core.scoring import get_scorer
    from core.scoring.runner import run_scorer
    from core.store import SampleEdit, Store

    n = 5_000
    src = make_alpaca(BENCH_DIR / f"alpaca_{n}.jsonl", n, seed=5)
    db = BENCH_DIR / "rescore.duckdb"
    db.unlink(missing_ok=True)
    with Store(db) as store:
        import_file(store, src, user="bench")
        scorer = get_scorer("embedding")
        scorer.setup()  # model load is not part of either run
        t0 = time.perf_counter()
        full = run_scorer(store, scorer)
        t_full = time.perf_counter() - t0
        ids = [r["id"] for r in store.page(limit=n // 100, offset=n // 3).to_pylist()]
        for sid in ids:
            sample = store.get_sample(sid)
            messages = [dict(m) for m in sample["messages"]]
            messages[-1]["content"] += " (edited)"
            store.update_sample(sid, sample["version"], SampleEdit(messages=messages), user="bench")
        t0 = time.perf_counter()
        again = run_scorer(store, scorer)
        t_again = time.perf_counter() - t0
    share = t_again / t_full
    print(
        f"rescore  embedding, {full.scored:,} samples in {t_full:.1f} s; after editing {len(ids)} (1 %): "
        f"{again.scored} re-scored in {t_again:.2f} s = {share:.1%} of the full run (target <= 2 %) "
        f"{verdict(share <= 0.02)}"
    )


def bench_kcenter() -> None:
    """MoDS coverage: k-center greedy, 100k x 384 normalized vectors to 5k centres."""
    import numpy as np

    from core.selection.steps.diversity import k_center_greedy

    rng = np.random.default_rng(0)
    emb = rng.standard_normal((100_000, 384), dtype=np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    t0 = time.perf_counter()
    result = k_center_greedy(emb, 5_000, seed=0)
    seconds = time.perf_counter() - t0
    print(
        f"kcenter  100,000 x 384 -> {len(result.indices):,} centres in {seconds:.1f} s, covering radius "
        f"{result.radius:.3f} (target <= 30 s; ratio {seconds / 30:.2f}) {verdict(seconds <= 30)}"
    )


# One facility-location run in a fresh process, so the peak memory it reports is that run's own, above the data
# itself. The peak is VmHWM (Linux): ru_maxrss would carry over the parent's peak at the fork.
_FACILITY_RUN = """
import json, re, sys, time
from pathlib import Path
import numpy as np
sys.path.insert(0, {root!r})
from core.selection.steps.diversity import facility_location
from core.store import SampleEdit
emb = np.random.default_rng(0).standard_normal(({n}, 384), dtype=np.float32)
for lo in range(0, len(emb), 1024):  # in blocks, so making the data leaves no high-water mark above the data
    emb[lo : lo + 1024] /= np.linalg.norm(emb[lo : lo + 1024], axis=1, keepdims=True)
def peak_kib():
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1))
before = peak_kib()
t0 = time.perf_counter()
picks = facility_location(emb, {budget}, dense_limit={limit})
seconds = time.perf_counter() - t0
extra = (peak_kib() - before) / 1024
print(json.dumps({{"seconds": seconds, "extra_mib": extra, "picks": picks.tolist()}}))
"""


def _facility_run(n: int, budget: int, dense_limit: int) -> dict:
    import json
    import subprocess

    code = _FACILITY_RUN.format(root=str(ROOT), n=n, budget=budget, limit=dense_limit)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def bench_facility() -> None:
    """Superfiltering-D's facility location on 20k x 384 spread-out vectors, the largest n whose similarities are
    kept (1.6 GB): 1,000 picks with them, and 10 picks on the path above the limit, which recomputes them and must
    pick the same samples."""
    from core.selection.steps.diversity import _FL_DENSE_LIMIT

    n = 20_000
    kept = _facility_run(n, 1_000, _FL_DENSE_LIMIT)
    lazy = _facility_run(n, 10, 0)
    same = lazy["picks"] == kept["picks"][:10]
    ok = kept["seconds"] <= 30 and kept["extra_mib"] <= 2048
    print(
        f"facility {n:,} x 384 -> 1,000 picks, similarities kept: {kept['seconds']:.1f} s, "
        f"+{kept['extra_mib']:,.0f} MiB (target <= 30 s and <= 2 GiB; ratios {kept['seconds'] / 30:.2f}, "
        f"{kept['extra_mib'] / 2048:.2f}) {verdict(ok)}"
    )
    ok = lazy["extra_mib"] <= 256 and same
    print(
        f"facility the same above the limit (recomputed): 10 picks in {lazy['seconds']:.1f} s, "
        f"+{lazy['extra_mib']:,.0f} MiB, same picks: {same} (target <= 256 MiB and the same picks; ratio "
        f"{lazy['extra_mib'] / 256:.2f}) {verdict(ok)}"
    )


EXPLORE_TARGET_S = 3.0  # the issue: "at 1M samples the page must be usable within ~3 s"


def _explore_workspace() -> Path:
    """The import benchmark's 1M-sample workspace with a fabricated map: 200 clusters of Zipf-like sizes (a few
    tiny), 2-D points around a centre per cluster, 8-d embeddings (the page reads only whether a content has one),
    languages and IFD. No UMAP on 1M points: the benchmark measures the page's data path, not the projection.
    Built once under .bench/ and reused."""
    import numpy as np

    from core.map import workspace
    from core.store import Store

    db = BENCH_DIR / "explore.duckdb"
    if db.exists():
        return db
    source = BENCH_DIR / "import.duckdb"
    if not source.exists():
        bench_import()
    t0 = time.perf_counter()
    partial = BENCH_DIR / "explore.partial.duckdb"
    shutil.copy(source, partial)
    with Store(partial) as store:
        arrays = store.sample_arrays(["content_hash", "prompt"])
        prompt_of = dict(zip(arrays["content_hash"], arrays["prompt"]))  # the last sample's, fine for a language
        hashes = list(prompt_of)
        n, k, dim = len(hashes), 200, 8
        rng = np.random.default_rng(0)
        weights = 1 / np.arange(1, k + 1) ** 1.1
        weights[-5:] /= 20  # five clusters of a few hundred points: stratification must keep them visible
        clusters = rng.choice(k, size=n, p=weights / weights.sum()).astype(np.int32)
        centres = rng.uniform(-20, 20, (k, 2)).astype(np.float32)
        xy = centres[clusters] + rng.normal(0, 0.6, (n, 2)).astype(np.float32)
        directions = rng.standard_normal((k, dim)).astype(np.float32)
        ifd = rng.beta(4, 3, n)
        columns = {
            "embedding": ("bench-embedder", {"embedding": f"FLOAT[{dim}]"}),
            "heuristics": ("bench-heuristics", {"h_prompt_lang": "VARCHAR"}),
            "ifd": ("bench-ifd", {"ifd": "DOUBLE"}),
        }
        for name, (key, cols) in columns.items():
            store.ensure_scorer(name, key, cols, {"model": "bench"} if name == "embedding" else {})
        for start in range(0, n, 100_000):
            part = range(start, min(start + 100_000, n))
            rows = {
                "embedding": [(hashes[i], {"embedding": directions[clusters[i]].tolist()}) for i in part],
                "heuristics": [
                    (hashes[i], {"h_prompt_lang": "zh" if prompt_of[hashes[i]][:1] in ZH else "en"}) for i in part
                ],
                "ifd": [(hashes[i], {"ifd": float(ifd[i])}) for i in part],
            }
            for name, (key, cols) in columns.items():
                store.write_scores(name, key, cols, rows[name])
        fingerprint = store.embedding_fingerprint()
        store.save_map(
            workspace.map_key(fingerprint, k, 0),
            embedding_key=fingerprint["embedding_key"],
            k=k,
            seed=0,
            content_hashes=hashes,
            xy=xy,
            clusters=clusters,
            names={c: f"{WORDS[c % len(WORDS)]} · {WORDS[(c * 7 + 3) % len(WORDS)]}" for c in range(k)},
            user="bench",
        )
    partial.rename(db)
    print(f"explore  built {db.name}: {n:,} samples on a {k}-cluster map in {time.perf_counter() - t0:.0f} s (once)")
    return db


def bench_explore() -> None:
    """The Explore page at 1M samples: its data path call by call, then the page itself through AppTest."""
    import pytest
    import streamlit as st
    from page_workspace import navigation_v2, signed_in_app

    from core.map import workspace
    from core.store import Store
    from core.team import accounts
    from pages import _common

    db = _explore_workspace()

    def timed(fn):
        t0 = time.perf_counter()
        out = fn()
        return out, time.perf_counter() - t0

    # What the page asks the store, first render (nothing cached) and later renders (per map and revision cached).
    with Store(db) as store:
        _, t_rev = timed(store.revision)
        _, t_fp = timed(store.embedding_fingerprint)
        coords, t_coords = timed(store.map_coordinates)
        view, t_view = timed(lambda: workspace.map_view(store))
        _, t_status = timed(lambda: workspace.point_values(store, view, "status"))
        _, t_ifd = timed(lambda: workspace.point_values(store, view, "ifd"))
        _, t_stats = timed(store.cluster_stats)
        n = len(coords["rid"])
        if not store.users():
            accounts.add_user(store, "bench", "admin", "bench-password", by="bench")
    first = t_rev + t_fp + t_view + t_stats
    print(f"explore  {n:,} samples on the map, {len(view['rid']):,} drawn (a sample stratified by cluster)")
    print(
        f"         data path, first render {first:.2f} s: revision {t_rev * 1000:.0f} ms, embedding fingerprint "
        f"{t_fp:.2f} s, map view {t_view:.2f} s (coordinates {t_coords:.2f} s, then the sample and 100k hover "
        f"texts), cluster stats {t_stats:.2f} s"
    )
    print(
        f"         data path, later renders: revision {t_rev * 1000:.0f} ms (the rest is cached), colour by status "
        f"+{t_status:.2f} s, by ifd +{t_ifd:.2f} s"
    )

    # The page itself, signed in, as a browser session runs it (the browser's own drawing is not included). A first
    # render starts with empty caches; each kind of render is timed three times and its median counts.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WINNOW_DB", str(db))
        navigation_v2(mp)
        at = signed_in_app("bench", "bench-password")
        at.default_timeout = 120
        at.run()
        at.switch_page("pages/explore.py")
        cold, warm, by_status, by_ifd = [], [], [], []
        for _ in range(3):
            st.cache_data.clear()
            cold.append(timed(at.run)[1])
            assert not at.exception, at.exception
            warm.append(timed(at.run)[1])
            at.selectbox(key="explore_color").set_value("status")
            by_status.append(timed(at.run)[1])
            at.selectbox(key="explore_color").set_value("ifd")
            by_ifd.append(timed(at.run)[1])
            at.selectbox(key="explore_color").set_value("cluster")
            assert not at.exception, at.exception
        spec_mb = len(at.get("plotly_chart")[0].proto.spec) / 1e6
        _common.get_store(db).close()
        _common._open_store.clear()
    runs = {"first": cold, "later": warm, "status": by_status, "ifd": by_ifd}
    medians = {name: statistics.median(ts) for name, ts in runs.items()}
    worst = max(medians.values())
    print(
        f"         page (AppTest, app.py + Explore), medians of 3: first render {medians['first']:.2f} s (max "
        f"{max(cold):.2f}), later renders {medians['later']:.2f} s, colour by status {medians['status']:.2f} s, by "
        f"ifd {medians['ifd']:.2f} s; chart {spec_mb:.0f} MB of JSON (target <= {EXPLORE_TARGET_S:g} s; ratio "
        f"{worst / EXPLORE_TARGET_S:.2f}) {verdict(worst <= EXPLORE_TARGET_S)}"
    )


from bench_bilingual import bench_dedup, bench_embedders, bench_labels  # noqa: E402 (needs ROOT on sys.path)
from bench_decontam import bench_decontam  # noqa: E402
from bench_ifd_precision import bench_ifd_precision  # noqa: E402
from bench_load import bench_load, bench_load_jobs  # noqa: E402
from bench_scale import bench_scale  # noqa: E402
from bench_training import bench_train  # noqa: E402

SECTIONS = {
    "import": bench_import,
    "query": bench_query,
    "ifd": bench_ifd,
    "signals": bench_signals,
    "embed": bench_embed,
    "rescore": bench_rescore,
    "kcenter": bench_kcenter,
    "facility": bench_facility,
    "explore": bench_explore,
    "load": bench_load,
    "load_jobs": bench_load_jobs,
    "scale": bench_scale,
    "embedders": bench_embedders,
    "labels": bench_labels,
    "dedup": bench_dedup,
    "train": bench_train,
    "decontam": bench_decontam,
}


def main(argv: list[str]) -> int:
    chosen = argv or list(SECTIONS)
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        print(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}", file=sys.stderr)
        return 2
    BENCH_DIR.mkdir(exist_ok=True)
    if len(chosen) == 1:
        if not os.environ.get(_CHILD):
            print(f"machine  {machine()}", flush=True)
        SECTIONS[chosen[0]]()
        return 0
    # Each section in a fresh process: what one leaves behind (a million rows' objects for the collector to walk,
    # threads, caches, a loaded model) must not slow the next one's figures. A section run alone measures the same.
    print(f"machine  {machine()}", flush=True)
    failed = []
    for name in chosen:
        done = subprocess.run([sys.executable, __file__, name], env={**os.environ, _CHILD: "1"}, check=False)
        if done.returncode:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


_CHILD = "_WINNOW_BENCH_SECTION"  # set for a section's own process: the machine line is printed once, by the parent


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
