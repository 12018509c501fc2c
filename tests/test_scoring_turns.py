"""Per-turn scores: every assistant turn of a chat scored with its history, the worst and the mean kept, on the
multi-turn demo chats and a tiny model (what is checked is the cutting and the aggregation, not the model)."""

from __future__ import annotations

import json
import math

import pytest

from core.importing.workspace import import_file
from core.scoring import get_scorer
from core.scoring.runner import run_scorers
from core.scoring.turns import turn_cuts
from core.settings import PROJECT_ROOT
from core.store import SampleFilter, Store

DEMO_CHATS = PROJECT_ROOT / "data" / "demo" / "chats_sharegpt.jsonl"


def test_a_chat_is_cut_after_each_assistant_turn():
    messages = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "u1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "u2"},
        {"role": "assistant", "content": "a2"},
    ]
    cuts = turn_cuts({"content_hash": "h", "messages": messages})
    assert [c["messages"][-1]["content"] for c in cuts] == ["a1", "a2"]
    assert cuts[1]["messages"] == messages and cuts[0]["messages"] == messages[:3]


def test_turn_scores_are_the_ifd_of_each_cut(tiny, tmp_path, cpu_settings):
    settings = cpu_settings.with_(allow_models="any")
    with Store(tmp_path / "ws.duckdb") as store:
        import_file(store, DEMO_CHATS, user="lead")
        (report,) = run_scorers(store, ["turns"], settings=settings, params={"turns": {"model": tiny}}, user="lead")
        assert report.scored > 0
        rows = store.page(SampleFilter(), limit=1000).to_pylist()
        chats = [r for r in rows if r["n_turns"] >= 2]
        assert chats, "the demo has multi-turn chats"
        sample = store.get_sample(chats[0]["id"])
        ifd = get_scorer("ifd", settings, model=tiny)
        with ifd:
            each = [r["ifd"] for r in ifd.score_batch(turn_cuts({"content_hash": "x", **sample}))]
        scores = sample["scores"]
        assert scores["turn_count"] == len(each) >= 2
        known = [v for v in each if v is not None]
        assert scores["turn_ifd_mean"] == pytest.approx(sum(known) / len(known), rel=1e-6)
        assert scores["turn_ifd_max"] == pytest.approx(max(known), rel=1e-6)
        assert each[scores["turn_ifd_max_at"] - 1] == pytest.approx(max(known), rel=1e-6)
        single = next(r for r in rows if r["n_turns"] == 1)
        assert store.get_sample(single["id"])["scores"].get("turn_count") is None  # one answer: nothing per turn
        # Browse and Select filter on the worst turn
        hardest = store.count(SampleFilter(score_ranges={"turn_ifd_max": (scores["turn_ifd_max"], None)}))
        assert 1 <= hardest <= len(chats)
        assert all(math.isfinite(v) for v in known)
        assert json.dumps(scores, default=str)
