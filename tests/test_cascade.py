"""The cheap-first cascade (``select --preset cascade``): each stage works on what the one before kept, the models
score only the survivors, and the report's saving follows from what was not scored."""

from __future__ import annotations

import json
import math
import shutil

import pytest
from test_cli import run_cli

from core.errors import WinnowError
from core.importing.workspace import import_file
from core.scoring import get_scorer
from core.selection.cascade import run_cascade
from core.store import Store


def cascade_records() -> list[dict]:
    """Flawed answers (the filter's), exact and near copies (dedup's), and distinct good ones, English and Chinese."""
    english = [
        ("Why is the sky blue?", "Sunlight scatters off air molecules, and shorter blue wavelengths scatter most."),
        ("Name a prime number above ten.", "Thirteen is prime: no whole number besides one and itself divides it."),
        ("How do bees make honey?", "Bees swallow nectar, enzymes break its sugars down, and they fan off water."),
        ("Write a haiku about autumn.", "Maple leaves drifting / a cold wind combs the orchard / lanterns glow early"),
        ("What does a compiler do?", "It translates source code into machine instructions before the program runs."),
        ("Give a tip for better sleep.", "Keep a fixed wake-up time, even on weekends, and dim screens at night."),
        ("Convert 5 km to miles.", "Five kilometres are about 3.11 miles, since one mile is 1.609 kilometres."),
        ("Who painted the Mona Lisa?", "Leonardo da Vinci painted it in Florence in the early sixteenth century."),
        ("Explain photosynthesis briefly.", "Plants use light energy to turn carbon dioxide and water into glucose."),
    ]
    chinese = [
        ("长城有多长？", "明长城全长约八千八百五十公里，东起山海关，西至嘉峪关。"),
        ("如何煮米饭？", "先把米淘洗两遍，加入适量清水，用中火煮沸后转小火焖十五分钟。"),
        ("解释一下通货膨胀。", "通货膨胀指物价总体水平持续上涨，同样的钱能买到的东西变少。"),
        ("推荐一本经典小说。", "《红楼梦》描写贾府由盛转衰，人物众多，语言优美，值得细读。"),
        ("为什么要多喝水？", "水参与体温调节和新陈代谢，缺水会让人疲倦、头痛、注意力下降。"),
        ("熊猫吃什么？", "大熊猫主要吃竹子，偶尔也吃竹笋、野果和少量小动物。"),
        ("什么是二氧化碳？", "二氧化碳是一种无色气体，由一个碳原子和两个氧原子组成。"),
        ("写一句关于春天的诗。", "春风拂过柳梢头，桃花映红小河流，燕子归来筑新巢。"),
        ("电脑为什么会发热？", "芯片工作时电流通过电阻产生热量，所以需要风扇和散热片降温。"),
    ]
    records = []
    for (q_en, a_en), (q_zh, a_zh) in zip(english, chinese, strict=True):
        records += [{"instruction": q_en, "output": a_en}, {"instruction": q_zh, "output": a_zh}]
    records += [dict(records[0]), dict(records[1])]  # exact copies
    near = dict(records[2])
    near["output"] = records[2]["output"].replace("Thirteen", "13", 1)  # a near copy
    records.append(near)
    records += [
        {"instruction": "Say something", "output": ""},
        {"instruction": "Tell me", "output": "I'm sorry, but I cannot help with that."},
    ]
    return records


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cascade")
    source = folder / "mixed.json"
    source.write_text(json.dumps(cascade_records(), ensure_ascii=False), encoding="utf-8")
    path = folder / "ws.duckdb"
    with Store(path) as store:
        import_file(store, source, user="ana")
    return path


@pytest.fixture
def store(workspace, tmp_path):
    shutil.copy(workspace, tmp_path / "ws.duckdb")
    with Store(tmp_path / "ws.duckdb") as s:
        yield s


def _ifd_of(store: Store, ids: list[str], key: str) -> dict[str, float | None]:
    rows = store.cursor().execute(
        "SELECT s.id, r.ifd FROM samples s LEFT JOIN score_ifd r ON r.content_hash = s.content_hash "
        "AND r.scorer_key = ? WHERE s.id IN (SELECT unnest(?::VARCHAR[]))",
        [key, ids],
    )
    return dict(rows.fetchall())


def _cherry_top(ifd: dict[str, float | None], percent: float) -> int:
    """How many Cherry's rule keeps, counted here from the stored scores: IFD > 1 dropped, then the top share."""
    usable = [v for v in ifd.values() if v is not None and v <= 1.0]
    return math.ceil(len(usable) * percent / 100)


def _ifd_rows(store: Store, key: str) -> int:
    return store.cursor().execute("SELECT count(*) FROM score_ifd WHERE scorer_key = ?", [key]).fetchall()[0][0]


def _dropped_by_cheap_stages(store: Store) -> list[str]:
    """The ids of the empty answer, the refusal, the exact copies and the near copy (the later copy of each)."""
    rows = store.cursor().execute("SELECT id FROM samples ORDER BY rid").fetchall()
    return [rows[i][0] for i in range(18, 23)]


def test_each_stage_takes_what_the_last_kept_and_models_score_only_survivors(store, tiny, cpu_settings, tmp_path):
    settings = cpu_settings.with_(allow_models="any")
    large = shutil.copytree(tiny, tmp_path / "large")  # another path: another key, as a larger model would have
    result = run_cascade(
        store,
        name="big",
        user="ana",
        settings=settings,
        small_model=tiny,
        large_model=str(large),
        top_percent=50,
        large_percent=50,
    )
    names = [s.name for s in result.stages]
    assert names == ["signals filter", "exact and near dedup", "small-model IFD", "large-model IFD"]
    assert result.stages[0].samples_in == store.count() == 23
    for before, after in zip(result.stages, result.stages[1:]):
        assert after.samples_in == before.samples_out
    signals, dedup, small, big = result.stages
    assert signals.samples_out == 21  # the empty answer and the refusal
    assert dedup.samples_out == 18  # two exact copies and one near copy
    small_key = get_scorer("ifd", settings, model=tiny).key
    large_key = get_scorer("ifd", settings, model=str(large)).key
    after_dedup = sorted(set(store.ids_in_order()) - set(_dropped_by_cheap_stages(store)))
    small_ifd = _ifd_of(store, after_dedup, small_key)
    assert small.samples_out == _cherry_top(small_ifd, 50) > 0
    assert _ifd_rows(store, small_key) == small.scored == 18  # never the 5 the cheap stages removed
    assert _ifd_rows(store, large_key) == big.scored == small.samples_out  # only the small model's picks
    contents = store.count_contents()
    assert small.saved_hours == pytest.approx((contents - 18) * small.seconds / 18 / 3600)
    n = small.samples_out
    assert big.saved_hours == pytest.approx((contents - n) * big.seconds / n / 3600)
    saved = {"ids": store.selection_ids("big")}
    assert sorted(saved["ids"]) == sorted(result.ids) and len(result.ids) == big.samples_out > 0
    # the large model chose among the small model's picks
    picks = (
        store.cursor()
        .execute(
            "SELECT s.id FROM samples s JOIN score_ifd r ON r.content_hash = s.content_hash WHERE r.scorer_key = ?",
            [large_key],
        )
        .fetchall()
    )
    small_picks = [p for (p,) in picks if p in after_dedup]  # not the removed copies of the same content
    assert len(small_picks) == small.samples_out and set(result.ids) <= set(small_picks)
    assert big.samples_out == _cherry_top(_ifd_of(store, small_picks, large_key), 50)


def test_without_a_large_model_there_are_three_stages_and_bad_shares_are_refused(store, tiny, cpu_settings):
    settings = cpu_settings.with_(allow_models="any")
    result = run_cascade(store, name="small", user="ana", settings=settings, small_model=tiny, top_percent=100)
    assert [s.name for s in result.stages][-1] == "small-model IFD"
    key = get_scorer("ifd", settings, model=tiny).key
    survivors = sorted(set(store.ids_in_order()) - set(_dropped_by_cheap_stages(store)))
    usable = {i for i, v in _ifd_of(store, survivors, key).items() if v is not None and v <= 1.0}
    assert set(result.ids) == usable  # 100 % keeps every survivor whose IFD Cherry's rule accepts
    with pytest.raises(WinnowError, match="percent"):
        run_cascade(store, name="x", user="ana", settings=settings, small_model=tiny, top_percent=0)


def test_the_cli_prints_each_stage_and_the_saving(workspace, tiny, tmp_path):
    db = tmp_path / "ws.duckdb"
    shutil.copy(workspace, db)
    done = run_cli("select", "--db", db, "--preset", "cascade", "--name", "c", "--model", tiny, "--top-percent", 50)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    with Store(db) as store:
        kept = len(store.selection_ids("c"))
    assert lines[0] == f"selection 'c': {kept} samples by the cascade (local)"
    assert lines[1].startswith("  1. signals filter: 23 -> 21 (removed 2)")
    assert lines[3].startswith(f"  3. small-model IFD: 18 -> {kept} (removed {18 - kept}); scored 18 contents")
    assert "model-hours saved" in lines[-1]
    refused = run_cli("select", "--db", db, "--preset", "cascade", "--name", "c", "--budget", 5)
    assert refused.returncode != 0 and "takes no --budget" in refused.stderr
