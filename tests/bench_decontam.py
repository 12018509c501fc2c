"""``make bench`` section ``decontam``: the decontam scorer on 1M synthetic Alpaca records (words drawn by Zipf's
law from a made-up English and Chinese vocabulary) against an eval set of 10k items drawn the same way, 1,000 of them planted in the workspace four ways (verbatim,
whitespace and case changed, inside a longer prompt, one word changed). Target: <= 5 minutes for 1M samples, every
verbatim copy found (95 % with one word changed), nothing else flagged."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

EVAL_ITEMS = 10_000
PLANTED = 1_000
TARGET_S = 300
KINDS = ("verbatim", "case and spaces", "inside a prompt", "one word changed")


def _vocabulary(rng: np.random.Generator, words: int) -> list[str]:
    """Made-up words of 1 to 4 syllables, and 30 % of them Chinese characters, so texts mix both."""
    syllables = [c + v for c in "bdfghklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]
    out = []
    for k in range(words):
        if k % 10 < 3:
            out.append(chr(0x4E00 + int(rng.integers(0, 6000))))
        else:
            out.append("".join(syllables[i] for i in rng.integers(0, len(syllables), int(rng.integers(1, 5)))))
    return out


def _texts(rng: np.random.Generator, vocab: list[str], count: int, low: int, high: int) -> list[str]:
    """``count`` texts of ``low`` to ``high`` words drawn by Zipf's law (exponent 1.1), as natural text is: a few
    words everywhere, most words rare, so shared runs of words are rare unless copied."""
    lengths = rng.integers(low, high + 1, count)
    ranks = (rng.zipf(1.1, int(lengths.sum())) - 1) % len(vocab)
    cuts = np.concatenate([[0], np.cumsum(lengths)])
    return [" ".join(vocab[i] for i in ranks[cuts[k] : cuts[k + 1]]) for k in range(count)]


def _training_file(path: Path, rng: np.random.Generator, vocab: list[str], n: int) -> Path:
    if path.exists():
        return path
    tmp = path.with_suffix(".partial")
    with open(tmp, "w", encoding="utf-8") as fh:
        for start in range(0, n, 100_000):
            k = min(100_000, n - start)
            prompts, answers = _texts(rng, vocab, k, 5, 40), _texts(rng, vocab, k, 20, 120)
            for i, (p, a) in enumerate(zip(prompts, answers, strict=True)):
                fh.write(json.dumps({"instruction": f"{p} #{start + i}", "input": "", "output": a}) + "\n")
    tmp.rename(path)
    return path


def bench_decontam() -> None:
    from bench import BENCH_DIR, N_IMPORT, verdict

    from core.decontamination.workspace import add_eval_set_file
    from core.importing.workspace import import_file
    from core.scoring.runner import run_scorers
    from core.store import Store

    rng = np.random.default_rng(5)
    vocab = _vocabulary(rng, 50_000)
    questions, answers = _texts(rng, vocab, EVAL_ITEMS, 12, 60), _texts(rng, vocab, EVAL_ITEMS, 5, 80)
    items = [{"question": q, "answer": a} for q, a in zip(questions, answers, strict=True)]
    src = _training_file(BENCH_DIR / f"decontam_train_{N_IMPORT}.jsonl", rng, vocab, N_IMPORT)
    eval_path = BENCH_DIR / "decontam_eval.jsonl"
    eval_path.write_text("".join(json.dumps(it, ensure_ascii=False) + "\n" for it in items), encoding="utf-8")
    planted = []
    for k in range(PLANTED):
        q, a = items[k * (EVAL_ITEMS // PLANTED)]["question"], items[k * (EVAL_ITEMS // PLANTED)]["answer"]
        how = k % 4
        if how == 1:
            q, a = "  ".join(q.upper().split()), a.upper()
        elif how == 2:
            q = f"Please answer the following question and explain your reasoning step by step. {q} Thank you!"
        elif how == 3:  # one word changed
            words = q.split()
            words[len(words) // 2] = "changed"
            q = " ".join(words)
        planted.append({"instruction": q, "input": "", "output": a})
    planted_path = BENCH_DIR / "decontam_planted.jsonl"
    planted_path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in planted), encoding="utf-8")
    db = BENCH_DIR / "decontam.duckdb"
    db.unlink(missing_ok=True)
    with Store(db) as store:
        import_file(store, src, user="bench")
        import_file(store, planted_path, user="bench")
        add_eval_set_file(store, eval_path, name="eval", mapping="prompt=question,response=answer", user="bench")
        started = time.perf_counter()
        (report,) = run_scorers(store, ["decontam"], user="bench")
        seconds = time.perf_counter() - started
        flagged = dict(
            store.cursor()
            .execute(
                "SELECT src.name, count(*) FILTER (WHERE d.contaminated) FROM samples s JOIN sources src USING "
                "(source_id) JOIN score_decontam d ON d.content_hash = s.content_hash GROUP BY 1"
            )
            .fetchall()
        )
        found_at = {
            r[0]
            for r in store.cursor()
            .execute(
                "SELECT s.source_index FROM samples s JOIN sources src USING (source_id) JOIN score_decontam d ON "
                "d.content_hash = s.content_hash WHERE src.name = ? AND d.contaminated",
                [planted_path.name],
            )
            .fetchall()
        }
        samples = store.count()
    false_flags = flagged.get(src.name, 0)
    recall = {how: sum(k in found_at for k in range(i, PLANTED, 4)) / (PLANTED // 4) for i, how in enumerate(KINDS)}
    projected = seconds * 1_000_000 / samples
    print(
        f"decontam {samples:,} samples against {EVAL_ITEMS:,} eval items in {seconds:.1f} s "
        f"({report.scored / seconds:,.0f} contents/s; 1M samples: {projected:.0f} s, target <= {TARGET_S}, ratio "
        f"{TARGET_S / projected:.2f}) {verdict(projected <= TARGET_S)}"
    )
    met = min(recall[k] for k in KINDS[:3]) == 1.0 and recall[KINDS[3]] >= 0.95 and false_flags == 0
    print(
        "         planted copies found: "
        + ", ".join(f"{how} {share:.1%}" for how, share in recall.items())
        + f" (target 100 % for the first three, >= 95 % with one word changed: a short item can fall below both "
        f"tests); other samples flagged {false_flags} of {samples - PLANTED:,} (target 0) {verdict(met)}"
    )
