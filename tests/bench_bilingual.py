"""Bilingual benchmark sections of ``tests/bench.py``, on the public data beside the project (``../shared/data``).

    python tests/bench.py embedders labels dedup

- ``embedders``: every bundled embedder side by side on English and Chinese requests: speed, random-pair cosines
  (the calibration ``core.similarity`` stores), near copies found by embedding at the calibrated threshold, cluster
  purity by topic, how many clusters of a mixed English + Chinese map hold both languages, and task-label accuracy.
- ``labels``: the task-label suggestions (``core.labels.suggestions``) with the default embedder on 785 shared samples
  labelled by hand (``tests/data/bench/task_labels.jsonl``: file, record index and label; the texts stay in
  ``../shared/data``), per-label precision and recall; and on the 208 requests of ``tests/data/explore``.
- ``dedup``: the default dedup step (exact + text) on 400 Chinese and 400 English samples with 60 planted copies
  each (40 near, 20 exact), and the embedding dedup it replaced, for comparison.

The shared data is not part of a checkout; without it these sections say so and stop. ``WINNOW_SHARED_DATA`` points
elsewhere.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("WINNOW_SHARED_DATA") or ROOT.parent / "shared" / "data")
LABELS = ROOT / "tests" / "data" / "bench" / "task_labels.jsonl"
FIXTURE = ROOT / "tests" / "data" / "explore" / "task_labels.jsonl"
EN, ZH = "llamafactory_alpaca_en_demo.json", "llamafactory_alpaca_zh_demo.json"
CODE, MATH = "code_alpaca_2k.json", "gsm8k_test.jsonl"

_records: dict[str, list[dict]] = {}


def verdict(ok: bool) -> str:
    return "MEETS TARGET" if ok else "BELOW TARGET"


def have_shared() -> bool:
    if (SHARED / EN).is_file():
        return True
    print(f"  skipped: no shared data at {SHARED} (set WINNOW_SHARED_DATA)")
    return False


def record(file: str, index: int) -> tuple[str, str]:
    """(request, answer) of a shared record: Alpaca's instruction + "\\n" + input, as Winnow imports it; gsm8k's
    question and answer."""
    if file not in _records:
        text = (SHARED / file).read_text(encoding="utf-8")
        _records[file] = [json.loads(x) for x in text.splitlines()] if file.endswith(".jsonl") else json.loads(text)
    r = _records[file][index]
    if "question" in r:
        return r["question"], r["answer"]
    return r["instruction"] + ("\n" + r["input"] if r.get("input") else ""), r["output"]


def count(file: str) -> int:
    record(file, 0)
    return len(_records[file])


def labelled() -> list[dict]:
    """The hand-labelled shared samples: {file, index, label, lang, prompt, answer}."""
    out = []
    for line in LABELS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        prompt, answer = record(row["file"], row["index"])
        out.append({**row, "lang": "zh" if "zh" in row["file"] else "en", "prompt": prompt, "answer": answer})
    return out


def sample(file: str, n: int, seed: int) -> list[int]:
    """n record indices of ``file`` with distinct normalized conversations, drawn with ``seed``."""
    from core.selection.steps.dedup import normalize_text

    seen, unique = set(), []
    for i in range(count(file)):
        key = normalize_text("\n".join(record(file, i)))
        if key not in seen:
            seen.add(key)
            unique.append(i)
    return sorted(np.random.default_rng(seed).choice(unique, n, replace=False).tolist())


def planted(file: str, seed: int = 19) -> tuple[list[str], list[str], int]:
    """400 distinct samples of ``file`` and 60 planted copies (40 near, then 20 exact) of some of them.

    Returns:
        (conversations, prompts, originals): the first ``originals`` (400) entries are the originals.
    """
    from near_copies import near_copy

    rng = np.random.default_rng(seed)
    pairs = [record(file, i) for i in sample(file, 400, seed)]
    sources = rng.choice(400, 60, replace=False)
    for j, s in enumerate(sources[:40].tolist()):
        prompt, answer = pairs[s]
        pairs.append((near_copy(prompt, rng, j), near_copy(answer, rng, j)))
    pairs += [pairs[s] for s in sources[40:].tolist()]
    return [f"{p}\n{a}" for p, a in pairs], [p for p, _ in pairs], 400


def _kept_and_removed(removed: np.ndarray, originals: int, total: int) -> tuple[float, float]:
    gone = set(removed.tolist())
    kept = sum(1 for i in range(originals) if i not in gone) / originals
    caught = sum(1 for i in range(originals, total) if i in gone) / (total - originals)
    return kept, caught


# --- task labels ---------------------------------------------------------------------------------------------------


def _label_run(embedder, rows: list[dict], taxonomy) -> np.ndarray:
    from core.labels.suggestions import suggest_labels, training_rows

    train = training_rows(taxonomy)
    result = suggest_labels(
        embedder.encode([r["prompt"] for r in rows]),
        [r["prompt"] for r in rows],
        [r.get("answer", "") for r in rows],
        taxonomy,
        train,
        embedder.encode(train.texts),
    )
    return result.label_idx


def _macro(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([(pred[truth == c] == c).mean() for c in np.unique(truth)]))


def bench_labels() -> None:
    from core.labels.evidence import find_evidence
    from core.labels.taxonomy import default_taxonomy, label_names
    from core.models.embedders import DEFAULT_EMBEDDER, load_embedder

    print(f"\n[labels] task-label suggestions with {DEFAULT_EMBEDDER.alias}: evidence rules, then a classifier "
          "on the descriptions and examples")  # fmt: skip
    if not have_shared():
        return
    embedder = load_embedder(DEFAULT_EMBEDDER.alias)
    taxonomy = default_taxonomy()
    names = label_names(taxonomy)
    rows = labelled()
    truth = np.array([names.index(r["label"]) for r in rows])
    lang = np.array([r["lang"] for r in rows])
    started = time.perf_counter()
    pred = _label_run(embedder, rows, taxonomy)
    seconds = time.perf_counter() - started
    rules = [find_evidence(r["prompt"], r["answer"]) for r in rows]
    print(f"  {len(rows)} samples labelled by hand ({(lang == 'en').sum()} en, {(lang == 'zh').sum()} zh) in "
          f"{seconds:.1f} s; {sum(e is not None for e in rules)} suggested by a rule")  # fmt: skip
    print(f"  {'label':15} {'en':>4} {'zh':>4} {'precision':>9} {'recall':>6}   rule: precision recall")
    for c, name in enumerate(names):
        mine = truth == c
        said = pred == c
        ruled = np.array([e is not None and e.label == name for e in rules])
        rule_p = f"{(truth[ruled] == c).mean():.2f}" if ruled.any() else "   -"
        rule_r = f"{(ruled & mine).sum() / mine.sum():.2f}" if mine.any() and ruled.any() else "   -"
        precision = f"{(truth[said] == c).mean():.2f}" if said.any() else "   -"
        recall = f"{(pred[mine] == c).mean():.2f}" if mine.any() else "   -"
        print(f"  {name:15} {(mine & (lang == 'en')).sum():4} {(mine & (lang == 'zh')).sum():4} {precision:>9} "
              f"{recall:>6}   {rule_p:>9} {rule_r:>6}")  # fmt: skip
    accuracy = (pred == truth).mean()
    macro = _macro(pred, truth)
    print(f"  accuracy {accuracy:.3f} (en {(pred == truth)[lang == 'en'].mean():.3f}, zh "
          f"{(pred == truth)[lang == 'zh'].mean():.3f}); macro recall {macro:.3f} over the "
          f"{len(np.unique(truth))} labels the data has")  # fmt: skip
    for name in ("code", "math"):
        c = names.index(name)
        recall = (pred[truth == c] == c).mean()
        print(f"  {name} recall {recall:.3f} (target >= 0.85): {verdict(recall >= 0.85)}")
    print(f"  macro recall {macro:.3f} (target >= 0.70): {verdict(macro >= 0.70)}")
    scarce = [n for n in names if (truth == names.index(n)).sum() < 50]
    print(f"  fewer than 50 samples in the shared data: {', '.join(scarce)} (see tests/data/bench/README.md)")
    fixture = [json.loads(x) for x in FIXTURE.read_text(encoding="utf-8").splitlines()]
    got = _label_run(embedder, [{"prompt": r["text"]} for r in fixture], taxonomy)
    want = np.array([names.index(r["label"]) for r in fixture])
    print(f"  tests/data/explore/task_labels.jsonl (208 requests, 16 per label, no answers): accuracy "
          f"{(got == want).mean():.3f}, macro recall {_macro(got, want):.3f}")  # fmt: skip


# --- embedders -----------------------------------------------------------------------------------------------------


def _mixed_topics(per: int = 150) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Requests of three topics in two languages: general (en and zh demo), code (code_alpaca and the zh demo's
    code requests labelled by hand), math (gsm8k and the zh demo's labelled math). Returns (texts, topic, is_zh)."""
    rows = labelled()
    zh_code = [(r["file"], r["index"]) for r in rows if r["lang"] == "zh" and r["label"] == "code"]
    zh_math = [(r["file"], r["index"]) for r in rows if r["lang"] == "zh" and r["label"] == "math"]
    skip = {(r["file"], r["index"]) for r in rows if r["label"] in ("code", "math")}
    general_en = [(EN, i) for i in sample(EN, per, 3) if (EN, i) not in skip]
    general_zh = [(ZH, i) for i in sample(ZH, per, 4) if (ZH, i) not in skip]
    code_en = [(CODE, i) for i in sample(CODE, len(zh_code), 5)]
    math_en = [(MATH, i) for i in sample(MATH, len(zh_math), 6)]
    groups = [(general_en, 0, False), (general_zh, 0, True), (code_en, 1, False), (zh_code, 1, True),
              (math_en, 2, False), (zh_math, 2, True)]  # fmt: skip
    texts, topic, is_zh = [], [], []
    for members, t, z in groups:
        for file, index in members:
            texts.append(record(file, index)[0])
            topic.append(t)
            is_zh.append(z)
    return texts, np.array(topic), np.array(is_zh)


def bench_embedders() -> None:
    import importlib.util

    from core.labels.taxonomy import default_taxonomy, label_names
    from core.map.clusters import cluster, default_k
    from core.models.embedders import BUNDLED_EMBEDDERS, DEFAULT_EMBEDDER, load_embedder
    from core.selection.steps.dedup import near_pairs_embedding
    from core.similarity import pair_percentiles, threshold_from

    print("\n[embedders] the bundled embedders on shared English and Chinese requests (default: "
          f"{DEFAULT_EMBEDDER.alias})")  # fmt: skip
    if not have_shared():
        return
    prompts = {lang: [record(f, i)[0] for i in sample(f, 400, 11)] for lang, f in (("en", EN), ("zh", ZH))}
    plant = {lang: planted(f) for lang, f in (("en", EN), ("zh", ZH))}
    texts, topic, is_zh = _mixed_topics()
    rows = labelled()
    taxonomy = default_taxonomy()
    names = label_names(taxonomy)
    truth = np.array([names.index(r["label"]) for r in rows])
    table = []
    for alias, bundled in BUNDLED_EMBEDDERS.items():
        if importlib.util.find_spec(bundled.module) is None:
            print(f"  {alias}: not installed (pip install {bundled.requirement}); skipped")
            continue
        started = time.perf_counter()
        embedder = load_embedder(alias, device="cpu")
        load = time.perf_counter() - started
        embedder.encode(prompts["en"][:8])  # warm
        started = time.perf_counter()
        vectors = {lang: embedder.encode(p) for lang, p in prompts.items()}
        speed = 800 / (time.perf_counter() - started)
        both = np.vstack([vectors["en"], vectors["zh"]])
        pct = pair_percentiles(both, pairs=10**9)
        mean = {lang: float(np.mean((v @ v.T)[np.triu_indices(len(v), 1)])) for lang, v in vectors.items()}
        near = threshold_from(pct, "near_duplicate")
        dedup = {}
        for lang, (_, planted_prompts, originals) in plant.items():
            a, b, _ = near_pairs_embedding(embedder.encode(planted_prompts), near)
            flagged = {int(x) for x in np.concatenate([a, b])}
            pairs = list(zip(a.tolist(), b.tolist(), strict=True))
            true_pairs = sum(1 for x, y in pairs if y >= originals or x >= originals)
            dedup[lang] = (true_pairs / len(pairs) if pairs else 1.0,
                           sum(1 for i in range(originals, len(planted_prompts)) if i in flagged) / 60)  # fmt: skip
        emb = embedder.encode(texts)
        labels = cluster(emb, default_k(len(texts)), seed=0)
        purity = sum(Counter(topic[labels == c].tolist()).most_common(1)[0][1] for c in np.unique(labels)) / len(texts)
        mixed = [c for c in np.unique(labels) if 0.2 <= is_zh[labels == c].mean() <= 0.8]
        pred = _label_run(embedder, rows, taxonomy)
        table.append((alias, load, speed, mean, pct, near, dedup, purity, len(mixed), len(np.unique(labels)),
                      (pred == truth).mean(), _macro(pred, truth)))  # fmt: skip
    print("  embedder          load s  req/s  cos en  cos zh  p99.9  p99.99  near-dup t  near-dup prec/recall en, zh"
          "   purity  mixed clusters  labels acc/macro")  # fmt: skip
    for alias, load, speed, mean, pct, near, dedup, purity, mixed, k, acc, macro in table:
        print(f"  {alias:16} {load:7.2f} {speed:6.0f} {mean['en']:7.2f} {mean['zh']:7.2f} {pct['p99.9']:6.3f} "
              f"{pct['p99.99']:7.3f} {near:11.3f}  {dedup['en'][0]:.2f}/{dedup['en'][1]:.2f}, "
              f"{dedup['zh'][0]:.2f}/{dedup['zh'][1]:.2f}        {purity:6.3f}  {mixed:3} of {k:3}       "
              f"{acc:.3f}/{macro:.3f}")  # fmt: skip
    print("  cos: mean cosine of random pairs of 400 requests (higher means less spread); p99.9 / p99.99 of all "
          "319,600 pairs of the 800 (core.similarity stores them); near-dup: pairs found by embedding at the "
          "calibrated threshold among 400 requests + 60 planted copies: precision, and share of copies found; "
          f"purity: k-means (k={default_k(len(texts))}) on {len(texts)} general, code and math requests in both "
          "languages, share in their cluster's majority topic; mixed clusters: clusters holding 20-80 % Chinese; "
          "labels: the labels section's pipeline with this embedder")  # fmt: skip


# --- dedup ---------------------------------------------------------------------------------------------------------


def bench_dedup() -> None:
    from core.models.embedders import DEFAULT_EMBEDDER, MINILM, load_embedder
    from core.selection.recipe import STEPS
    from core.selection.steps.dedup import find_duplicates
    from core.similarity import calibrated_threshold

    defaults = {k: p.default for k, p in STEPS["dedup"].params.items()}
    print(f"\n[dedup] the default dedup step ({defaults}) on 400 samples + 40 near and 20 exact planted copies")
    if not have_shared():
        return
    for lang, file in (("zh", ZH), ("en", EN)):
        conversations, prompts, originals = planted(file)
        started = time.perf_counter()
        removed, _ = find_duplicates(
            len(conversations),
            texts=conversations,
            exact=defaults["exact"],
            text_threshold=defaults["minhash_threshold"],
            ngram=defaults["ngram"],
        )
        seconds = time.perf_counter() - started
        kept, caught = _kept_and_removed(removed, originals, len(conversations))
        ok = kept >= 0.97 and caught >= 0.90
        print(f"  {lang}: text dedup keeps {kept:.1%} of originals (target >= 97 %), removes {caught:.1%} of planted "
              f"copies (target >= 90 %) in {seconds:.2f} s: {verdict(ok)}")  # fmt: skip
        for alias, threshold in ((MINILM.alias, 0.95), (DEFAULT_EMBEDDER.alias, "auto")):
            embedder = load_embedder(alias, device="cpu")
            emb = embedder.encode(prompts)
            t = calibrated_threshold(embedder.name, "near_duplicate") if threshold == "auto" else threshold
            removed, _ = find_duplicates(
                len(prompts), texts=prompts, emb=emb, emb_rows=np.arange(len(prompts)), embedding_threshold=t
            )
            kept, caught = _kept_and_removed(removed, originals, len(prompts))
            print(f"      for comparison, exact + embedding dedup of the requests with {alias} at {t}: keeps "
                  f"{kept:.1%} of originals, removes {caught:.1%} of planted copies")  # fmt: skip
