"""The demo files in data/demo are the source of the demo: they read as Winnow reads them, and each planted defect
in defects.json is what it says, and is the only one of its kind."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from core.demo import DEMO_DIR, DEMO_FILES
from core.formats.convert import to_canonical
from core.formats.detect import detect_format
from core.formats.mapped import parse_mapping
from core.formats.messages import Canonical, content_hash
from core.formats.readers import iter_records
from core.scoring.heuristics import heuristics

DEFECTS = json.loads((DEMO_DIR / "defects.json").read_text(encoding="utf-8"))["defects"]
_CJK = re.compile(r"[\u4e00-\u9fff]")


def read(name: str, mapping: str | None) -> list[Canonical]:
    mapping = parse_mapping(mapping) if mapping else None
    raws = list(iter_records(DEMO_DIR / name))
    fmt = detect_format([r.data for r in raws], path=name, mapping=mapping)
    return [to_canonical(r.data, fmt, mapping) for r in raws]  # raises on any record Winnow would refuse


@pytest.fixture(scope="module")
def demo() -> dict[str, list[Canonical]]:
    return {name: read(name, mapping) for name, mapping in DEMO_FILES}


def sample(demo, ref: dict) -> dict:
    c = demo[ref["file"]][ref["record"] - 1]
    return {"messages": c.messages, "tools": c.tools}


def is_chinese(c: Canonical) -> bool:
    """A sample is Chinese when its request is: the first line of its first user turn (an Alpaca input that follows,
    e.g. a text to translate, does not count)."""
    first_user = next(m["content"] for m in c.messages if m["role"] == "user")
    return bool(_CJK.search(first_user.split("\n", 1)[0]))


def test_files_are_plain_utf8_with_unix_lines_and_under_a_megabyte():
    total = 0
    for name, _ in DEMO_FILES:
        data = (DEMO_DIR / name).read_bytes()
        data.decode("utf-8")
        assert not data.startswith(b"\xef\xbb\xbf") and b"\r" not in data, name
        total += len(data)
    assert total < 1_000_000


def test_every_record_reads_and_ends_with_an_answer(demo):
    for name, samples in demo.items():
        for i, c in enumerate(samples, 1):
            assert c.messages[-1]["role"] == "assistant", (name, i)
            assert all(m["content"].strip() for m in c.messages[:-1]), (name, i)


def test_the_readme_tables_match_the_files(demo):
    readme = (DEMO_DIR / "README.md").read_text(encoding="utf-8")
    for name, samples in demo.items():
        zh = sum(map(is_chinese, samples))
        row = f"| `{name}` | "
        line = next(line for line in readme.splitlines() if line.startswith(row))
        cells = [c.strip() for c in line.split("|")]
        assert cells[3:6] == [str(len(samples)), str(len(samples) - zh), str(zh)], line
    for defect in DEFECTS:
        assert f"| `{defect['defect']}` |" in readme and defect["what"] in readme


def test_exact_duplicates_are_only_the_planted_ones(demo):
    where: dict[str, list[tuple[str, int]]] = {}
    for name, samples in demo.items():
        for i, c in enumerate(samples, 1):
            where.setdefault(content_hash(c.messages, c.tools), []).append((name, i))
    found = sorted(refs for refs in where.values() if len(refs) > 1)
    planted = sorted(
        [(r["file"], r["record"]) for r in d["records"]] for d in DEFECTS if d["defect"].startswith("exact-")
    )
    assert found == planted and len(planted) == 3


def _shingles(text: str) -> set[str]:
    text = re.sub(r"\s+", " ", text.lower())
    return {text[i : i + 5] for i in range(len(text) - 4)}


def test_each_planted_defect_is_what_it_says(demo):
    kinds = Counter()
    for d in DEFECTS:
        name, refs = d["defect"], d["records"]
        samples = [sample(demo, r) for r in refs]
        signals = [heuristics(s) for s in samples]
        kind = name.split("-")[0]
        kinds[kind] += 1
        if kind == "exact":
            assert samples[0] == samples[1] and len(refs) == 2
        elif kind == "near":
            a, b = (_shingles(json.dumps(s["messages"], ensure_ascii=False)) for s in samples)
            assert samples[0] != samples[1] and len(a & b) / len(a | b) > 0.4, name
        elif kind == "empty":
            assert signals[0]["h_answer_empty"]
        elif kind == "repetitive":
            assert signals[0]["h_answer_word_rep"] > 0.5
        elif kind == "refusal":
            assert signals[0]["h_refusal"], name
        elif kind == "wrong":
            assert signals[0]["h_lang_mismatch"] and (signals[0]["h_prompt_lang"], signals[0]["h_answer_lang"]) == (
                "zh",
                "en",
            )
        else:  # "unrelated" and "ifd" are about meaning: the record exists, its answer is long
            assert signals[0]["h_answer_words"] > 20, name
        # Records are numbered from 1 and exist.
        assert all(1 <= r["record"] <= len(demo[r["file"]]) for r in refs)
    assert kinds == {
        "exact": 3,
        "near": 4,
        "empty": 1,
        "repetitive": 1,
        "refusal": 2,
        "unrelated": 1,
        "wrong": 1,
        "ifd": 1,
    }
    # No other answer is empty, and no other one refuses.
    flagged = {(r["file"], r["record"]) for d in DEFECTS for r in d["records"]}
    for name, samples in demo.items():
        for i, c in enumerate(samples, 1):
            if (name, i) not in flagged:
                assert c.messages[-1]["content"].strip(), (name, i)
