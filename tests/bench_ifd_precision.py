"""``make bench`` section ``ifd``, its bf16 part: the IFD engine in bf16 on the CPU must keep fp32's *ranking*, on
the Alpaca records of the shared data (``../shared/data/alpaca_5000_pr152.json``; issue #14). Targets:

- speed: the bf16 engine >= 2x the per-sample fp32 loop (``ifd_reference``) on the same samples;
- Spearman of bf16 IFD against fp32 IFD >= 0.999, and the top 5 % of both overlapping >= 0.97
  (``core/scoring/rank_agreement.py``);
- ranking AUC of Cherry LLM's published 5 % picks (``tests/data/bench/cherry_5pct_alpaca5000.txt``, 335 of the 5,000)
  within 0.005 of fp32's, so bf16 finds the samples Cherry chose as well as fp32 does.

Scoring all 5,000 twice takes too long for the section (~15 min on 2 cores), so by default it scores every Cherry
pick and a seeded random draw of the other records, ``WINNOW_BENCH_IFD_N`` in all (default 1,000; 5000 scores
everything). The per-sample loop is slower still: it is timed on ``WINNOW_BENCH_IFD_LOOP_N`` of those (default 40),
against bf16 on the same ones.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

ALPACA = "alpaca_5000_pr152.json"
PICKS = Path(__file__).resolve().parent / "data" / "bench" / "cherry_5pct_alpaca5000.txt"
N_SCORED = int(os.environ.get("WINNOW_BENCH_IFD_N", 1000))
N_LOOP = int(os.environ.get("WINNOW_BENCH_IFD_LOOP_N", 40))
SEED = 14
SPEED_TARGET, SPEARMAN_TARGET, OVERLAP_TARGET, AUC_TARGET = 2.0, 0.999, 0.97, 0.005


def cherry_picks() -> list[int]:
    """Positions in alpaca_5000 of the records Cherry LLM published as its 5 % selection (see the file's header)."""
    lines = PICKS.read_text(encoding="utf-8").splitlines()
    return [int(line) for line in lines if line.strip() and not line.startswith("#")]


def probe_subset(total: int, picks: list[int], n: int, seed: int = SEED) -> list[int]:
    """Sorted positions to score: ``n`` of ``total``, every pick among them (half of them picks drawn at random when
    ``n`` is under twice the picks, so the AUC always has both sides), the others drawn at random (``seed``)."""
    if n >= total:
        return list(range(total))
    rng = random.Random(seed)
    chosen = set(picks) if n >= 2 * len(picks) else set(rng.sample(picks, max(1, n // 2)))
    others = sorted(set(range(total)) - set(picks))
    return sorted(chosen | set(rng.sample(others, n - len(chosen))))


def bench_ifd_precision(budget: int) -> None:
    """Score the probe subset with the engine in fp32 and in bf16 on the CPU; print speed and rank agreement."""
    import json

    from bench import verdict
    from bench_bilingual import SHARED

    from core.formats.convert import to_canonical
    from core.models.language import load_causal_lm
    from core.scoring.ifd import ifd_batched, ifd_reference, prepare_inputs
    from core.scoring.rank_agreement import ranking_auc, spearman, top_count, top_overlap
    from core.settings import load_settings

    if not (SHARED / ALPACA).is_file():
        print(f"         bf16 rank guarantee skipped: no {ALPACA} at {SHARED} (set WINNOW_SHARED_DATA)")
        return
    records = json.loads((SHARED / ALPACA).read_text(encoding="utf-8"))
    picks = cherry_picks()
    where = probe_subset(len(records), picks, N_SCORED)
    samples = [{"id": str(i), "messages": to_canonical(records[i], "alpaca").messages} for i in where]
    cache = load_settings().cache_dir
    fp32_lm, tok, _ = load_causal_lm("", device="cpu", dtype="fp32", cache_dir=cache)
    bf16_lm, _, _ = load_causal_lm("", device="cpu", dtype="bf16", cache_dir=cache)
    ifd_batched(bf16_lm, tok, samples[:4], token_budget=budget)  # warm up bf16's kernels

    def tokens(batch: list[dict]) -> int:
        items = prepare_inputs(tok, batch, "auto", 512)
        return sum(len(i.prompt_ids) + 2 * len(i.answer_ids) + 1 for i in items if i.reason is None)

    def timed(run) -> tuple[float, list]:
        t0 = time.perf_counter()
        out = run()
        return time.perf_counter() - t0, out

    t_fp32, fp32 = timed(lambda: ifd_batched(fp32_lm, tok, samples, token_budget=budget))
    t_bf16, bf16 = timed(lambda: ifd_batched(bf16_lm, tok, samples, token_budget=budget))
    # the loop on a seeded few of the same samples, alternated with bf16 on those, each one's best kept
    few = random.Random(SEED).sample(samples, min(N_LOOP, len(samples)))
    t_loop = t_few = float("inf")
    for _ in range(2):
        t_loop = min(t_loop, timed(lambda: [ifd_reference(fp32_lm, tok, s) for s in few])[0])
        t_few = min(t_few, timed(lambda: ifd_batched(bf16_lm, tok, few, token_budget=budget))[0])
    n_tokens, few_tokens = tokens(samples), tokens(few)

    scored = [
        (a["ifd"], b["ifd"], i) for a, b, i in zip(fp32, bf16, where, strict=True) if None not in (a["ifd"], b["ifd"])
    ]
    x, y = [a for a, _, _ in scored], [b for _, b, _ in scored]
    picked = set(picks)
    labels = [i in picked for _, _, i in scored]
    ratio = t_loop / t_few
    rho = spearman(x, y)
    overlap = top_overlap(x, y, 0.05)
    k = top_count(len(x), 0.05)
    auc_fp32, auc_bf16 = ranking_auc(x, labels), ranking_auc(y, labels)
    gap = abs(auc_bf16 - auc_fp32)
    diff = max(abs(a - b) for a, b in zip(x, y))
    n_picks = sum(labels)
    subset = (
        "all of"
        if len(where) == len(records)
        else f"{n_picks} Cherry picks + {len(where) - n_picks:,} others (seed {SEED}) of"
    )
    print(
        f"         bf16 on the CPU, {len(where):,} samples: {subset} {ALPACA} ({len(x):,} scored, {n_tokens:,} "
        f"tokens; WINNOW_BENCH_IFD_N={len(records)} for all)"
    )
    print(
        f"         speed on {len(few)} of them (the per-sample loop is too slow for all): fp32 loop "
        f"{few_tokens / t_loop:,.0f} tokens/s, bf16 engine {few_tokens / t_few:,.0f} tokens/s: {ratio:.2f}x (target "
        f">= {SPEED_TARGET:g}x) {verdict(ratio >= SPEED_TARGET)}; on all {len(where):,}: fp32 engine "
        f"{n_tokens / t_fp32:,.0f} tokens/s, bf16 engine {n_tokens / t_bf16:,.0f} tokens/s"
    )
    print(
        f"         Spearman bf16 vs fp32 {rho:.5f} (target >= {SPEARMAN_TARGET}) {verdict(rho >= SPEARMAN_TARGET)}; "
        f"max |IFD difference| {diff:.1e}"
    )
    print(
        f"         top-5 % overlap {overlap:.3f} ({round(overlap * k)} of {k}; target >= {OVERLAP_TARGET}) "
        f"{verdict(overlap >= OVERLAP_TARGET)}"
    )
    print(
        f"         ranking AUC of Cherry's {n_picks} picks (higher IFD = picked): fp32 {auc_fp32:.4f}, bf16 "
        f"{auc_bf16:.4f}, difference {gap:.4f} (target <= {AUC_TARGET}) {verdict(gap <= AUC_TARGET)}"
    )
