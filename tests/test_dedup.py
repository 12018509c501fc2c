"""Tests for core/selection/steps/dedup.py: normalization, shingles, exact, text and embedding near copies against brute force, which
member stays, the report of who duplicates whom, and the Chinese target (400 originals, 60 planted copies)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from dedup_texts import EN, FAMILY, KIND, TEXTS, ZH, pair_set, true_pairs
from near_copies import near_copy

from core.selection.steps import dedup

# Sentences written for this test, about everyday topics, to build Chinese samples beside those in dedup_texts.ZH.
MORE_ZH = [
    "早上起床后先喝一杯温水，可以帮助身体慢慢醒过来。",
    "周末我们打算去郊外爬山，顺便在山顶野餐。",
    "这家面馆的牛肉面汤头浓郁，面条也很有嚼劲。",
    "学习一门新乐器最重要的是每天坚持练习十五分钟。",
    "城市里的共享单车方便了短途出行，也带来了停放的问题。",
    "奶奶在阳台上种了辣椒、葱和几盆茉莉花。",
    "期末考试前，同学们在图书馆里一直复习到闭馆。",
    "雨季来临之前，要记得检查屋顶和窗户有没有漏水。",
    "他把旧书整理好，捐给了社区的小图书角。",
    "做番茄炒蛋时，先炒鸡蛋再放番茄，味道会更好。",
    "这部纪录片讲述了候鸟每年往返几千公里的迁徙。",
    "公司新开了一个咖啡角，大家午休时常在那里聊天。",
    "孩子第一次自己系鞋带，高兴得跑来给我们看。",
    "夜晚的海边很安静，只能听到海浪拍打礁石的声音。",
    "买二手电脑时，要先检查电池和屏幕有没有问题。",
    "老师建议我们每天写一段日记，记录当天的收获。",
    "地铁早高峰人很多，最好提前十分钟出门。",
    "这座古镇保留了许多明清时期的石板路和木房子。",
    "小狗每天傍晚都会在门口等主人下班回家。",
    "冬天洗完头要及时吹干，不然容易着凉感冒。",
    "我们小组决定用问卷调查了解同学们的阅读习惯。",
    "他花了三个月时间，终于把那幅拼图拼完了。",
    "超市在每周三下午会打折出售新鲜的蔬菜和水果。",
    "春节前，家家户户都会打扫房间、贴春联。",
    "跑步时要注意呼吸节奏，不要一开始就跑得太快。",
    "图书馆新到了一批绘本，很受小朋友们欢迎。",
    "妈妈教我用旧毛衣做成了一个暖和的靠垫。",
    "这条河以前污染严重，现在已经能看到小鱼了。",
    "出国旅行前，最好把护照和机票复印一份备用。",
    "晚饭后全家人一起散步，是我们家多年的习惯。",
]
POOL = ZH + MORE_ZH


def chinese_originals(n: int = 400, per: int = 4, seed: int = 0) -> list[str]:
    """``n`` distinct Chinese samples, each ``per`` sentences of ``POOL`` in some order. Two samples share at most
    half of their sentences, so many pairs overlap (hard negatives) but none is a copy of another."""
    rng = np.random.default_rng(seed)
    chosen: list[tuple[int, ...]] = []
    while len(chosen) < n:
        pick = tuple(rng.choice(len(POOL), per, replace=False).tolist())
        if all(len(set(pick) & set(other)) <= per // 2 for other in chosen):
            chosen.append(pick)
    return ["".join(POOL[i] for i in pick) for pick in chosen]


# --- normalized text and shingles ----------------------------------------------------------------------------------


def test_normalize_text():
    assert dedup.normalize_text("  Hello,   World!! ") == "hello, world"
    assert dedup.normalize_text("ＡＢＣ。") == "abc"
    assert dedup.normalize_text("“你好，世界。”") == "你好,世界"  # NFKC folds the fullwidth comma
    assert dedup.normalize_text(None) == ""


def test_tokens_are_cjk_characters_and_words_elsewhere():
    assert dedup.text_tokens("Hello, World! 42 times") == ["hello", "world", "42", "times"]
    assert dedup.text_tokens("用Python写函数。") == ["用", "python", "写", "函", "数"]
    assert dedup.text_tokens("こんにちは 세계") == ["こ", "ん", "に", "ち", "は", "세", "계"]
    assert dedup.text_tokens("snake_case-and co.") == ["snake", "case", "and", "co"]
    assert dedup.shingles("a b c d", 2) == {"a b", "b c", "c d"}
    assert dedup.shingles("天气好", 2) == {"天 气", "气 好"}
    assert dedup.shingles("short", 3) == {"short"} and dedup.shingles("  !! ", 2) == set()
    assert dedup.jaccard("a b c", "a b d", 1) == 0.5 and dedup.jaccard("", "", 2) == 0.0


def test_exact_groups_find_exactly_the_planted_copies():
    groups = dedup.exact_groups(TEXTS)
    assert pair_set(groups) == true_pairs(FAMILY, {"exact"})
    assert dedup.exact_groups(["a", "b", "A.", "b ", "c"]) == [[0, 2], [1, 3]]


# --- near copies by text -------------------------------------------------------------------------------------------


def test_text_signatures_estimate_jaccard_and_find_every_pair_above_the_threshold():
    """The MinHash estimate is within a few standard errors of the exact Jaccard similarity, and the LSH search finds
    the pairs a brute force over all pairs of estimates finds."""
    texts = [EN[k] + " " + EN[(k + 1) % len(EN)] for k in range(40)] + [
        ZH[k] + ZH[(k + 1) % len(ZH)] for k in range(40)
    ]
    texts += [near_copy(t, np.random.default_rng(k), k) for k, t in enumerate(texts[::4])]
    sig = dedup.TextSignatures(texts, ngram=2)
    for i, j in itertools.combinations(range(0, len(texts), 7), 2):
        assert abs(sig.similarity(i, j) - dedup.jaccard(texts[i], texts[j], 2)) < 0.15
    brute = {(i, j) for i, j in itertools.combinations(range(len(texts)), 2) if sig.similarity(i, j) >= 0.6}
    found = {(i, j) for i, j, _ in sig.pairs(0.6)}
    assert found == brute and len(found) >= 15
    assert all(s >= 0.6 for *_, s in sig.pairs(0.6))


def test_text_near_copies_recall_and_precision_on_the_fixture():
    # Near copies (one typo, inserted or replaced word or characters) are at Jaccard >= 0.8 with 2-token shingles;
    # neighbouring bases, which share a whole prompt, stay below 0.45.
    near = [i for i in range(len(TEXTS)) if KIND[i] == "near"]
    sims = sorted(dedup.jaccard(TEXTS[i], TEXTS[FAMILY[i]], 2) for i in near)
    assert sims[0] >= 0.8
    unrelated = max(dedup.jaccard(TEXTS[k], TEXTS[k + 1], 2) for k in range(109) if k != 59)
    assert 0.3 <= unrelated <= 0.45
    found = pair_set(dedup.near_groups_text(TEXTS, 0.6))
    truth = true_pairs(FAMILY, {"exact", "near"})
    assert found == truth


def read_demo_conversations() -> tuple[list[str], dict[str, int]]:
    """Every demo sample's message texts joined by newlines, and the start offset of each demo file."""
    demo = Path(__file__).resolve().parent.parent / "data" / "demo"
    alpaca = json.loads((demo / "general_alpaca.json").read_text(encoding="utf-8"))
    texts = ["\n".join(r[k] for k in ("instruction", "input", "output") if r.get(k)) for r in alpaca]
    start = {"alpaca": 0, "sharegpt": len(texts)}
    for line in (demo / "chats_sharegpt.jsonl").read_text(encoding="utf-8").splitlines():
        texts.append("\n".join(m["value"] for m in json.loads(line)["conversations"]))
    start["openai"] = len(texts)
    for line in (demo / "math_code_openai.jsonl").read_text(encoding="utf-8").splitlines():
        texts.append("\n".join(m.get("content") or "" for m in json.loads(line)["messages"]))
    return texts, start


def test_default_threshold_finds_the_demo_near_duplicates_and_nothing_else():
    # Whole conversations: data/demo/README.md plants four near duplicates (Jaccard 0.79-0.88 with 2-token
    # shingles); the closest unrelated pair, two templated math tasks, is at 0.54.
    texts, at = read_demo_conversations()
    planted = {
        (at["alpaca"] + 43, at["alpaca"] + 147),
        (at["alpaca"] + 23, at["alpaca"] + 42),
        (at["sharegpt"] + 26, at["sharegpt"] + 39),
        (at["openai"] + 23, at["openai"] + 52),
    }
    exact = {
        (at["alpaca"] + 78, at["alpaca"] + 126),
        (at["alpaca"] + 29, at["openai"] + 53),
    }  # the second across formats
    assert pair_set(dedup.near_groups_text(texts, 0.6)) == planted | exact


def test_chinese_dedup_keeps_originals_and_removes_planted_copies():
    """The target of issue 19, on Chinese text written for the tests: 400 originals (many pairs sharing half their
    sentences) plus 40 near and 20 exact copies; the default text dedup keeps >= 97 % of the originals and removes
    >= 90 % of the copies (measured: all 400 kept, all 60 removed)."""
    originals = chinese_originals()
    overlaps = [dedup.jaccard(a, b, 2) for a, b in itertools.combinations(originals[:80], 2)]
    assert max(overlaps) >= 0.25  # hard negatives are there
    rng = np.random.default_rng(1)
    sources = rng.choice(400, 60, replace=False).tolist()
    texts = originals + [near_copy(originals[s], rng, k) for k, s in enumerate(sources[:40])]
    texts += [originals[s] for s in sources[40:]]
    removed, report = dedup.find_duplicates(len(texts), texts=texts, text_threshold=0.6, ngram=2)
    gone = set(removed.tolist())
    kept = sum(1 for i in range(400) if i not in gone) / 400
    caught = sum(1 for i in range(400, 460) if i in gone) / 60
    assert kept >= 0.97 and caught >= 0.90, (kept, caught)
    by_removed = {d.removed: d for d in report}
    for k, s in enumerate(sources):
        if 400 + k in by_removed:
            assert by_removed[400 + k].kept == s  # the copy points at its original, which stays
            assert by_removed[400 + k].how == ("text" if k < 40 else "exact")


# --- near copies by embedding --------------------------------------------------------------------------------------


def unit_rows(n: int, d: int, seed: int = 0, clusters: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    if clusters:
        x = rng.standard_normal((clusters, d))[rng.integers(0, clusters, n)] * 2 + x
    x = x.astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("exact", [True, False])
def test_embedding_pairs_and_groups_against_brute_force(exact):
    rng = np.random.default_rng(8)
    x = unit_rows(2000, 32, seed=8, clusters=40)
    src = rng.choice(2000, 100, replace=False)
    dst = rng.choice(np.setdiff1d(np.arange(2000), src), 100, replace=False)
    noise = rng.standard_normal((100, 32)).astype(np.float32)
    x[dst] = x[src] + 0.15 * noise / np.linalg.norm(noise, axis=1, keepdims=True)  # cosine about 0.99
    x[dst] /= np.linalg.norm(x[dst], axis=1, keepdims=True)
    sims = x @ x.T
    np.fill_diagonal(sims, 0)
    truth_all = {(int(a), int(b)) for a, b in zip(*np.nonzero(np.triu(sims >= 0.95)), strict=True)}
    assert {tuple(sorted(p)) for p in zip(src.tolist(), dst.tolist(), strict=True)} <= truth_all
    a, b, s = dedup.near_pairs_embedding(x, 0.95, exact=exact)
    assert set(zip(a.tolist(), b.tolist(), strict=True)) == truth_all and (a < b).all()
    np.testing.assert_allclose(s, sims[a, b], atol=1e-5)
    found = pair_set(dedup.near_groups_embedding(x, 0.95, exact=exact))
    assert truth_all <= found
    for p, q in found - truth_all:  # chaining joins pairs below the threshold only through pairs above it
        assert sims[p, q] < 0.95


# --- which member stays, and the report ----------------------------------------------------------------------------


def test_merge_groups_and_keep_best():
    merged = dedup.merge_groups(8, [[0, 3]], [[3, 5], [6, 7]])
    assert merged == [[0, 3, 5], [6, 7]]
    kept, dropped = dedup.keep_best(merged, np.array([0.1, 0, 0, 0.9, 0, np.nan, 0.5, 0.5]))
    assert kept.tolist() == [3, 6] and dropped.tolist() == [0, 5, 7]
    kept, dropped = dedup.keep_best(merged)
    assert kept.tolist() == [0, 6] and dropped.tolist() == [3, 5, 7]


def test_report_names_the_kept_sample_and_how_each_removed_one_was_found():
    base = "请用三句话概括这篇关于城市绿化的文章，并说明作者最主要的观点是什么。" * 2
    other = "写一首关于秋天落叶的小诗，要求押韵，并且不少于八行。" * 2
    texts = [base, base + "！", base.replace("城市", "乡村", 1), other, "完全无关的一句话，讲的是天气。"]
    x = np.eye(5, dtype=np.float32)
    x[4] = x[3]  # unrelated texts, but the same embedding
    removed, report = dedup.find_duplicates(
        5,
        texts=texts,
        text_threshold=0.6,
        emb=x,
        emb_rows=np.arange(5),
        embedding_threshold=0.99,
        scores=[0, 1, 0, 0, 0],
    )
    assert removed.tolist() == [0, 2, 4]
    got = {d.removed: d for d in report}
    assert (got[0].kept, got[0].how, got[0].similarity) == (1, "exact", 1.0)  # the higher score stays
    assert (got[2].kept, got[2].how) == (1, "text") and 0.6 <= got[2].similarity < 1
    assert (got[4].kept, got[4].how, got[4].similarity) == (3, "embedding", 1.0)
    assert dedup.find_duplicates(5, texts=texts, exact=False, text_threshold=None)[0].tolist() == []
