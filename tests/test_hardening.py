"""Hardening (issue 18): adversarial texts, recipes and races that a security and reliability review found.

Each test here failed on the code before its fix. Nothing races the clock: a cost is compared with the cost of the
same work on a tenth of the input, in the same run (linear work grows 10x; the quadratic regexes grew 100x), and
races are made deterministic with barriers and conditions.
"""

from __future__ import annotations

import gc
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_cli import run_cli

from core.scoring.heuristics import COLUMNS, heuristics, heuristics_batch
from core.settings import PROJECT_ROOT
from core.store import SampleEdit

DEMO = PROJECT_ROOT / "data" / "demo"


def chat(user: str, answer: str) -> dict:
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]}


# ------------------------------------------------------------------------------------------------ 1. regexes

# Texts that make a regex with a `\s*` across lines, or a nested quantifier, do quadratic work; each of about n
# characters. The 5 MB line is ``long_line`` at full size (see test_a_5_mb_line_is_scored).
ADVERSARIAL_TEXTS = {
    "newlines": lambda n: "\n" * n,
    "blank_lines_with_spaces": lambda n: " \n" * (n // 2),
    "crlf_and_tabs": lambda n: "\t\r\n" * (n // 3),
    "spaces": lambda n: " " * n,
    "backticks": lambda n: "`" * n,
    "fences": lambda n: "```\n" * (n // 4),
    "unclosed_fence": lambda n: "```" + "x" * n,
    "tildes": lambda n: "~" * n,
    "dash_markers": lambda n: "-\n" * (n // 2),
    "numbered_markers": lambda n: "1.\n" * (n // 3),
    "indented_star_markers": lambda n: "  *  \n" * (n // 6),
    "marker_then_blank_lines": lambda n: "- " + "\n" * n,
    "hashes": lambda n: "#\n" * (n // 2),
    "seven_hashes": lambda n: "####### " * (n // 8),
    "repeated_word": lambda n: "word " * (n // 5),
    "repeated_phrase": lambda n: "I'm sorry, but as an AI " * (n // 24),
    "long_line": lambda n: "ab" * (n // 2),
    "cjk": lambda n: "字" * n,
    "blank_runs_then_text": lambda n: ("\n" * 99 + "x") * (n // 100),
    "leading_space_then_sure": lambda n: " " * n + "sure",
}


def _cpu_seconds(fn, repeat: int = 3) -> float:
    """The least CPU time of ``repeat`` calls: CPU time, so other processes on the machine do not count."""
    best = float("inf")
    gc.disable()
    try:
        for _ in range(repeat):
            started = time.process_time()
            fn()
            best = min(best, time.process_time() - started)
    finally:
        gc.enable()
    return best


@pytest.mark.parametrize("shape", ADVERSARIAL_TEXTS)
def test_signals_cost_grows_linearly_on_adversarial_texts(shape):
    make = ADVERSARIAL_TEXTS[shape]
    small, large = make(10_000), make(100_000)
    heuristics(chat(small, small))  # warm up (language tables, caches)
    ratio = _cpu_seconds(lambda: heuristics(chat(large, large))) / max(
        _cpu_seconds(lambda: heuristics(chat(small, small))), 1e-4
    )
    # linear work costs ~10x; the quadratic patterns cost ~100x here (and hours on a 200 KB answer)
    assert ratio < 30, f"{shape}: 10x the text cost {ratio:.0f}x the time"


def test_a_5_mb_line_is_scored():
    line = "ab" * 2_500_000
    row = heuristics(chat("Repeat this.", line))
    assert row["h_answer_chars"] == 5_000_000 and row["h_answer_words"] == 1
    assert row["h_md_list_items"] == row["h_md_headings"] == row["h_code_blocks"] == 0
    assert row["h_answer_char_rep"] == pytest.approx(0.5, abs=1e-3)  # two 10-grams; the top one (sqrt 2) counts


def test_a_file_of_adversarial_answers_imports_and_is_scored(tmp_path):
    """The whole path the review found frozen: the CLI imports the file, then computes the signals of every sample."""
    from core.store import Store

    records = [
        {"instruction": f"Adversarial case {shape}", "input": "", "output": make(100_000) + f" end of {shape}"}
        for shape, make in ADVERSARIAL_TEXTS.items()
    ]
    path = tmp_path / "adversarial.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    db = tmp_path / "ws.duckdb"
    done = subprocess.run(
        [sys.executable, "-m", "core", "import", str(path), "--db", str(db), "--user", "lena"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"imported {len(records)} records" in done.stdout
    with Store(db, read_only=True) as store:
        values = store.sample_arrays(["h_answer_chars"])
    assert sorted(values["h_answer_chars"]) == sorted(len(r["output"]) for r in records)


# The patterns before the fix: on ordinary text they must count exactly what the fixed ones count.
_OLD_FENCE = re.compile(r"^\s*(```|~~~)", re.MULTILINE)
_OLD_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+\S", re.MULTILINE)


def _demo_answers() -> list[str]:
    texts = []
    for path in DEMO.glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            for turn in record.get("messages") or record.get("conversations") or []:
                texts.append(turn.get("content") or turn.get("value") or "")
    texts += [r["output"] for r in json.loads((DEMO / "general_alpaca.json").read_text(encoding="utf-8"))]
    return texts


MARKDOWN = [
    "Sure! Here is the plan.\n\n## Steps\n\n1. Mix\n2. Bake\n- cool it\n\n```\ncode\n```\n",
    "Intro\n\n\n   ```python\nx = 1\n```\n\n  ~~~\nmore\n~~~\n* a\n+ b\n10) ten\n",
    "- item\n\n\n-\tnext\n  -  nested\n\u3000- ideographic space\n\xa0* no-break space\n\r\n1.\r\n",
    "text ``` not a fence\n````\nfour\n````\n\n\n\f```\nform feed\n\v~~~\n",
    "-\nfoo\n1.\n\nbar\n*\n",
]


def test_the_fixed_patterns_count_what_the_old_ones_did_on_ordinary_text():
    texts = _demo_answers() + MARKDOWN
    assert len(texts) > 300
    for text in texts:
        row = heuristics(chat("q", text))
        assert row["h_md_list_items"] == len(_OLD_LIST_ITEM.findall(text)), text[:80]
        assert row["h_code_blocks"] == (len(_OLD_FENCE.findall(text)) + 1) // 2, text[:80]


def test_adversarial_answers_are_scored_in_a_batch_like_one_by_one():
    samples = [chat(make(2_000), make(2_000)) for make in ADVERSARIAL_TEXTS.values()]
    assert heuristics_batch(samples) == [heuristics(s) for s in samples]
    for row in heuristics_batch(samples):
        assert set(row) == set(COLUMNS)


# ------------------------------------------------------------------------------------------------ 4. recipes


def alias_bomb(levels: int) -> str:
    """A recipe whose 'name' is 9**levels strings, written in a few hundred bytes with aliases of aliases."""
    items = ["&a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        items.append(f"&{chr(97 + i)} [" + ", ".join([f"*{chr(96 + i)}"] * 9) + "]")
    return "steps: [filter]\nname: [" + ", ".join(items) + "]\n"


ADVERSARIAL_RECIPES = {
    # (recipe text, part of the message)
    "alias_bomb": (alias_bomb(6), "line 2: anchors and aliases (&name, *name) are not allowed"),
    "anchor_only": ("steps:\n  - filter: &f {status: accepted}\n", "line 2: anchors and aliases"),
    "alias_of_a_step": ("steps:\n  - &s filter\n  - *s\n", "line 2: anchors and aliases"),
    "deep_nesting": ("steps: [filter]\nname: " + "[" * 5000 + "]" * 5000 + "\n", "nests deeper than 32 levels"),
    "huge": ("steps: [filter]\ndescription: " + "x" * 200_000 + "\n", "a recipe may have at most 100,000"),
    "long_wrong_value": ("steps:\n  - k_center: {budget: " + "y" * 50_000 + "}\n", "expected an integer"),
    "long_step_name": ("steps:\n  - " + "z" * 50_000 + "\n", "unknown step"),
    "long_wrong_list": ("steps:\n  - [" + ", ".join(["item"] * 10_000) + "]\n", "expected a mapping with one key"),
}


@pytest.mark.parametrize("case", ADVERSARIAL_RECIPES)
def test_adversarial_recipes_are_refused_in_one_short_line(case):
    from core.errors import RecipeError
    from core.selection.recipe import parse_recipe

    text, part = ADVERSARIAL_RECIPES[case]
    with pytest.raises(RecipeError) as caught:
        parse_recipe(text)
    message = str(caught.value)
    assert part in message
    assert "\n" not in message and len(message) < 400, message[:400]


def test_the_cli_refuses_an_alias_bomb_recipe_in_one_line(tmp_path):
    import subprocess
    import sys

    recipe = tmp_path / "bomb.yaml"
    recipe.write_text(alias_bomb(7), encoding="utf-8")  # 9**7 strings: ~30 MB of repr before the fix
    done = subprocess.run(
        [sys.executable, "-m", "core", "select", "--db", str(tmp_path / "ws.duckdb"), "--recipe", str(recipe)]
        + ["--name", "x"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: line 2: anchors and aliases (&name, *name) are not allowed in a recipe: write each value out"
    ]


RECIPE_FILES = {  # (file name, its bytes or None for a folder, the one line the CLI prints)
    "not utf-8": (
        "latin.yaml",
        b"steps:\n  - filter: {status: accepted}\n# caf\xe9\n",
        "line 3: {} is not UTF-8 text (byte 44)",
    ),
    "a folder": ("recipes", None, "{} is a folder, not a recipe file"),
    "missing": ("nope.yaml", b"", "no recipe file {}"),
    "huge": ("huge.yaml", b"steps: [filter]\n#" + b"x" * 500_000, "{} is over 100,000 characters long"),
}


@pytest.mark.parametrize("case", RECIPE_FILES)
def test_a_bad_recipe_file_is_one_line_naming_it_for_select_and_evaluate(case, tmp_path):
    name, data, said = RECIPE_FILES[case]
    path = tmp_path / name
    if data is None:
        path.mkdir()
    elif case != "missing":
        path.write_bytes(data)
    for command in (["select", "--name", "x"], ["evaluate"]):
        done = run_cli(command[0], "--db", tmp_path / "ws.duckdb", "--recipe", path, *command[1:])
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip().splitlines()[-1].startswith("error: " + said.format(path)), done.stderr[-500:]


def test_error_messages_show_at_most_a_short_repr_of_what_was_written():
    from core.errors import PlanError, brief
    from core.selection.mixture import plan

    assert brief("short") == "'short'"
    assert len(brief("x" * 10_000)) <= 80 and brief("x" * 10_000).startswith("'xxxx")
    assert len(brief(list(range(10**6)))) <= 80
    nested: list = ["x"] * 9
    for _ in range(8):
        nested = [nested] * 9  # 9**9 strings once expanded; brief looks at a few
    assert len(brief(nested)) <= 80
    with pytest.raises(PlanError) as caught:
        plan({"a": 10}, {"a": "n" * 100_000})
    assert len(str(caught.value)) < 200


# ------------------------------------------------------------------------------------------------ 5. sign-in


@pytest.fixture
def accounts_store(tmp_path):
    """A workspace with an admin, a lead and an annotator, and no failed sign-ins remembered."""
    from core.store import Store
    from core.team import accounts

    with Store(tmp_path / "ws.duckdb") as store:
        accounts.add_user(store, "root", "admin", "root-password", by="root")
        accounts.add_user(store, "lena", "lead", "lena-password", by="root")
        accounts.add_user(store, "ann", "annotator", "ann-password", by="root")
        accounts._failures.clear()
        yield store
        accounts._failures.clear()


def _held(monkeypatch, method: str, cond: threading.Condition, state: dict) -> None:
    """Make argon2's ``method`` wait inside until ``state["release"]``, counting who is inside (under ``cond``)."""
    from argon2 import PasswordHasher

    real = getattr(PasswordHasher, method)

    def held(self, *args):
        with cond:
            state["inside"] += 1
            state["most_inside"] = max(state["most_inside"], state["inside"])
            cond.notify_all()
            cond.wait_for(lambda: state["release"])
            state["inside"] -= 1
        return real(self, *args)

    monkeypatch.setattr(PasswordHasher, method, held)


def _arrived(cond: threading.Condition, predicate) -> None:
    with cond:
        # The timeout only stops a broken build from hanging the suite; the test is decided by the counts.
        assert cond.wait_for(predicate, timeout=300), "the threads never all arrived"


def test_parallel_sign_ins_get_no_more_guesses_than_one_session(accounts_store, monkeypatch):
    from core.team import accounts

    slots = accounts.HashSlots(accounts.MAX_CONCURRENT_HASHES)
    monkeypatch.setattr(accounts, "HASH_SLOTS", slots)
    cond = slots.changed
    state = {"inside": 0, "most_inside": 0, "release": False, "refused": 0, "errors": []}
    _held(monkeypatch, "verify", cond, state)
    n = 3 * accounts.LOCKOUT_ATTEMPTS
    start = threading.Barrier(n)

    def guess(i: int) -> None:
        start.wait()
        try:
            accounts.sign_in(accounts_store, "ann", f"guess-{i:04d}")
        except accounts.AuthError as ex:
            with cond:
                state["errors"].append(str(ex))
                state["refused"] += "too many" in str(ex)
                cond.notify_all()

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    # Every attempt is now either hashing, waiting for a hashing slot, or refused: none is still on its way.
    _arrived(cond, lambda: state["inside"] + slots.waiting + state["refused"] == n)
    with cond:
        state["release"] = True
        cond.notify_all()
    for t in threads:
        t.join()
    guesses = [e for e in state["errors"] if e == "wrong name or password"]
    assert len(guesses) == accounts.LOCKOUT_ATTEMPTS and state["refused"] == n - accounts.LOCKOUT_ATTEMPTS
    assert state["most_inside"] <= accounts.MAX_CONCURRENT_HASHES
    with pytest.raises(accounts.AuthError, match="too many failed sign-ins for 'ann'"):
        accounts.sign_in(accounts_store, "ann", "ann-password")


def test_at_most_two_passwords_are_hashed_at_once(monkeypatch):
    from core.team import accounts

    slots = accounts.HashSlots(accounts.MAX_CONCURRENT_HASHES)
    monkeypatch.setattr(accounts, "HASH_SLOTS", slots)
    cond = slots.changed
    state = {"inside": 0, "most_inside": 0, "release": False}
    _held(monkeypatch, "hash", cond, state)
    n = 6
    hashes: dict[int, str] = {}
    threads = [
        threading.Thread(target=lambda i=i: hashes.update({i: accounts.hash_password(f"s-{i}")})) for i in range(n)
    ]
    for t in threads:
        t.start()
    _arrived(cond, lambda: state["inside"] + slots.waiting == n)
    with cond:
        assert state["inside"] == accounts.MAX_CONCURRENT_HASHES and slots.waiting == n - accounts.MAX_CONCURRENT_HASHES
        state["release"] = True
        cond.notify_all()
    for t in threads:
        t.join()
    assert len(hashes) == n and state["most_inside"] == accounts.MAX_CONCURRENT_HASHES
    assert all(accounts.password_matches(h, f"s-{i}") for i, h in hashes.items())


# ------------------------------------------------------------------------------------------------ 6. decisions

PAGES_DATA = PROJECT_ROOT / "tests" / "data" / "pages"


@pytest.fixture
def team(accounts_store):
    """``accounts_store`` with bob (a second annotator) and the page fixtures' chats imported by lena."""
    from core.importing.workspace import import_file
    from core.team import accounts

    accounts.add_user(accounts_store, "bob", "annotator", "bob-password", by="root")
    import_file(accounts_store, PAGES_DATA / "chats_openai.jsonl", user="lena")
    return accounts_store


def _first_ids(store, n: int = 1) -> list[str]:
    return store.page(limit=n).column("id").to_pylist()


def test_an_annotator_cannot_undo_a_leads_later_decision(team):
    from core.errors import PermissionDenied
    from core.team import history

    store = team
    sid, other = _first_ids(store, 2)
    store.assign([sid, other], ["ann"], by="lena")
    v = store.update_sample(sid, 1, SampleEdit(status="accepted"), user="ann")  # their own review applies
    v = store.update_sample(sid, v, SampleEdit(note="checked twice"), user="ann")  # and stays theirs to change
    v = store.update_sample(sid, v, SampleEdit(status="rejected", note="off topic"), user="lena")  # then a lead decides
    before = store.get_sample(sid)
    messages = [*before["messages"][:-1], {"role": "assistant", "content": "an edited answer"}]
    attempts = {
        "status": lambda: store.update_sample(sid, v, SampleEdit(status="accepted"), user="ann"),
        "edit": lambda: store.update_sample(sid, v, SampleEdit(messages=messages), user="ann"),
        "note": lambda: store.update_sample(sid, v, SampleEdit(note="mine"), user="ann"),
        "revert": lambda: history.revert(store, sid, 2, expected_version=v, user="ann"),
        "bulk status": lambda: store.set_status_many([sid, other], "accepted", user="ann"),
        "bulk tag": lambda: store.add_tag_many([sid], "x", user="ann"),
        "label": lambda: store.confirm_task_label(store_filter(sid), "code", user="ann"),
    }
    for what, attempt in attempts.items():
        with pytest.raises(PermissionDenied) as caught:
            attempt()
        assert str(caught.value) == (
            f"ann is an annotator and sample {sid} was settled by lena (rejected) after their review: it is no "
            "longer theirs to change; a lead can set it back to pending to have it reviewed again"
        ), what
    assert store.get_sample(sid) == before and store.get_sample(other)["status"] == "pending"
    v = store.update_sample(sid, v, SampleEdit(status="pending"), user="lena")  # reopened: theirs to review again
    assert store.update_sample(sid, v, SampleEdit(status="accepted"), user="ann") == v + 1


def store_filter(sid: str):
    from core.store import SampleFilter

    return SampleFilter(ids=[sid])


# ------------------------------------------------------------------------------------------------ 7. atomic writes


def test_a_write_checks_the_role_it_commits_with(team, monkeypatch):
    """x demotes z while y demotes x: x's write must not commit on a role x no longer has."""
    from core.errors import PermissionDenied
    from core.store import Store
    from core.team import accounts

    store = team
    for name in ("x", "y", "z"):
        accounts.add_user(store, name, "admin", f"{name}-password", by="root")
    checked, demoted = threading.Event(), threading.Event()
    real_role_of = Store.role_of

    def role_of(self, user, *args, **kwargs):
        role = real_role_of(self, user, *args, **kwargs)
        if user == "x" and threading.current_thread().name == "x" and not checked.is_set():
            checked.set()  # x's role was read (as admin); now y demotes x before x's write goes on
            assert demoted.wait(timeout=300), "y never demoted x"
        return role

    monkeypatch.setattr(Store, "role_of", role_of)
    outcome: list = []

    def x_demotes_z():
        try:
            accounts.set_role(store, "z", "lead", by="x")
            outcome.append("done")
        except PermissionDenied as ex:
            outcome.append(str(ex))

    x = threading.Thread(target=x_demotes_z, name="x")
    x.start()
    assert checked.wait(timeout=300), "x never checked its role"
    accounts.set_role(store, "x", "lead", by="y")
    demoted.set()
    x.join()
    assert outcome == ["x is a lead and may not manage accounts"]
    assert {u["name"]: u["role"] for u in store.users()}["z"] == "admin"


def test_an_adjudication_and_its_record_are_one_change(team, monkeypatch):
    from core.store import Store
    from core.team import adjudication

    store = team
    (sid,) = _first_ids(store)
    store.assign([sid], ["ann", "bob"], by="lena")
    store.annotate(sid, 1, SampleEdit(status="accepted"), user="ann")
    store.annotate(sid, 1, SampleEdit(status="accepted"), user="bob")

    def crash(*args, **kwargs):
        raise RuntimeError("the process died here")

    # The process dies while the record is written, after the sample's change in the same transaction: neither stays.
    with monkeypatch.context() as patch:
        patch.setattr(Store, "_log_in", staticmethod(crash))
        with pytest.raises(RuntimeError, match="died here"):
            adjudication.pick(store, sid, 1, "ann", user="lena")
    assert store.get_sample(sid)["status"] == "pending" and store.get_sample(sid)["version"] == 1
    assert [e for e in store.history(sid) if e["action"] == "adjudicate"] == []

    adjudication.pick(store, sid, 1, "ann", user="lena")
    settled = store.get_sample(sid)["status"] == "accepted"
    records = [e for e in store.history(sid) if e["action"] == "adjudicate" and e["field"] is None]
    assert settled and len(records) == 1
    detail = json.loads(records[0]["after"])
    assert detail == {"picked": "ann", "status": "accepted", "task_label": None, "annotators": ["ann", "bob"]} | {
        "version": 2
    }


def test_saving_an_account_changes_all_or_nothing(tmp_path, monkeypatch):
    from page_workspace import PASSWORD, USER, new_workspace, open_app, texts

    from core.team import accounts

    store = new_workspace(tmp_path, monkeypatch)  # USER is its only admin
    at = open_app("pages/users.py")
    at.selectbox(key="user_edit_name").set_value(USER).run()
    at.text_input(key=f"user_edit_password_{USER}").set_value("a-new-password")
    at.checkbox(key=f"user_edit_disabled_{USER}").check()
    at.button(key="user_edit_save").click().run()
    assert not at.exception
    assert f"{USER} is the last enabled admin" in texts(at)
    assert accounts.sign_in(store, USER, PASSWORD)[1].role == "admin"  # the password did not change either
    assert [e for e in store.recent_events() if e["action"] == "user" and e["field"] == "update"] == []


@pytest.mark.model
def test_a_training_export_that_cannot_be_put_back_is_kept(team, tmp_path, monkeypatch):
    from core.errors import WinnowError
    from core.store import SampleFilter
    from core.training import export as training

    store = team
    exports = tmp_path / "exports"
    first = training.export_training(store, exports, "run", user="lena", filters=SampleFilter())
    kept_bytes = (Path(first.folder) / "train.jsonl").read_bytes()
    real_replace = os.replace

    def replace(src, dst):
        src, dst = Path(src), Path(dst)
        if dst == exports / "run" and src.name != "run":  # the new export taking the name: refused
            (exports / "run").mkdir()  # ... and someone takes the name, so the old one cannot go back either
            (exports / "run" / "theirs.txt").write_text("someone else's", encoding="utf-8")
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(training.os, "replace", replace)
    with pytest.raises(WinnowError, match="nor could the previous export be put back") as caught:
        training.export_training(store, exports, "run", user="lena", filters=SampleFilter(status="pending"))
    kept = Path(str(caught.value).split("it is kept whole in ")[1].split(";")[0])
    assert kept.parent == exports and kept.name.startswith("run.previous-")
    assert (kept / "train.jsonl").read_bytes() == kept_bytes


# ------------------------------------------------------------------------------------------------ 3. what exports replace


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "WINNOW_USER": "lena"}
    return subprocess.run(
        [sys.executable, "-m", "core", *args], capture_output=True, text=True, cwd=cwd, env=env, check=False
    )


ALPACA = [{"instruction": f"Question {i}?", "input": "", "output": f"Answer {i}."} for i in range(3)]
BAD_ALPACA = [*ALPACA, {"instruction": "Broken", "input": "", "output": 5}]


def _jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def cli_workspace(tmp_path):
    """A workspace file with one imported file (train.jsonl, all accepted), closed, and the files' bytes."""
    from core.importing.workspace import import_file
    from core.store import Store

    source = _jsonl(tmp_path / "train.jsonl", ALPACA)
    db = tmp_path / "ws.duckdb"
    with Store(db) as store:
        import_file(store, source, user="lena")
        ids = store.page(limit=10).column("id").to_pylist()
        store.set_status_many(ids, "accepted", user="lena")
    return db, source


@pytest.mark.parametrize("target", ["workspace", "wal", "source", "source_by_link"])
def test_export_never_replaces_the_workspace_or_an_imported_file(cli_workspace, tmp_path, target):
    db, source = cli_workspace
    paths = {
        "workspace": db,
        "wal": db.with_name(db.name + ".wal"),
        "source": source,
        "source_by_link": tmp_path / "link.jsonl",
    }
    out = paths[target]
    if target == "source_by_link":
        out.symlink_to(source)
    if target == "wal":
        out.write_bytes(b"wal bytes")  # as DuckDB leaves it while the workspace is open
    before = {p: p.read_bytes() for p in (db, source, out)}
    done = _cli("export", "--db", str(db), "--out", str(out), "--format", "alpaca", "--force", cwd=tmp_path)
    assert done.returncode == 2
    what = {"workspace": "the workspace itself", "wal": "the workspace's write-ahead log"}.get(target, "an imported")
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"error: {out} is {what}") and line.endswith(
        "the export would replace it; choose another file"
    )
    assert {p: p.read_bytes() for p in before} == before


def test_export_replaces_another_existing_file_only_with_force(cli_workspace, tmp_path):
    db, _ = cli_workspace
    out = tmp_path / "out.jsonl"
    out.write_text("someone's notes\n", encoding="utf-8")
    done = _cli("export", "--db", str(db), "--out", str(out), "--format", "alpaca", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {out} exists: choose another file, or replace it on purpose (--force)"
    assert out.read_text(encoding="utf-8") == "someone's notes\n"
    done = _cli("export", "--db", str(db), "--out", str(out), "--format", "alpaca", "--force", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] == ALPACA


def test_rejects_never_replace_the_input(tmp_path):
    bad = _jsonl(tmp_path / "bad.jsonl", BAD_ALPACA)
    before = bad.read_bytes()
    db = tmp_path / "ws.duckdb"
    for rejects in ("bad.jsonl", str(bad), "./bad.jsonl"):
        done = _cli("import", "--db", str(db), "bad.jsonl", "--on-error", "skip", "--rejects", rejects, cwd=tmp_path)
        assert done.returncode == 2
        assert done.stderr.strip().splitlines() == [
            f"error: {Path(rejects)} is the file being imported: the rejects file would replace it; choose another"
        ]
    assert bad.read_bytes() == before


def test_default_rejects_keep_earlier_rejects_and_say_where_the_new_ones_went(tmp_path):
    bad = _jsonl(tmp_path / "bad.jsonl", BAD_ALPACA)
    db = tmp_path / "ws.duckdb"
    first = _cli("import", "--db", str(db), str(bad), "--on-error", "skip", "--no-signals", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    earlier = tmp_path / "bad.jsonl.rejects.jsonl"
    earlier_bytes = earlier.read_bytes()
    again = _cli(
        "import", "--db", str(db), str(bad), "--on-error", "skip", "--allow-reimport", "--no-signals", cwd=tmp_path
    )
    assert again.returncode == 0, again.stderr
    new = tmp_path / "bad.jsonl.rejects-2.jsonl"
    assert f"reasons in {new} (a new name: {earlier} holds an earlier import's, left as it was)" in again.stdout
    assert earlier.read_bytes() == earlier_bytes and new.read_bytes() == earlier_bytes


def test_an_explicit_rejects_file_is_replaced_only_with_force(tmp_path):
    bad = _jsonl(tmp_path / "bad.jsonl", BAD_ALPACA)
    mine = tmp_path / "mine.txt"
    mine.write_text("keep me\n", encoding="utf-8")
    db = tmp_path / "ws.duckdb"
    args = ["import", "--db", str(db), str(bad), "--on-error", "skip", "--rejects", str(mine), "--no-signals"]
    done = _cli(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: the rejects file {mine} exists: choose another file, or replace it on purpose (--force)"
    )
    assert mine.read_text(encoding="utf-8") == "keep me\n"
    assert _cli(*args, "--force", cwd=tmp_path).returncode == 0
    assert json.loads(mine.read_text(encoding="utf-8"))["data"] == BAD_ALPACA[-1]


# ------------------------------------------------------------------------------------------------ 8. smaller items


def test_the_rejects_file_is_never_written_through_a_planted_link(tmp_path, monkeypatch):
    """Someone who can write to the folder plants a link where the temporary file is about to be created."""
    from core.importing.workspace import import_file
    from core.store import Store

    bad = _jsonl(tmp_path / "bad.jsonl", BAD_ALPACA)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    real_open = os.open
    planted: list[str] = []

    def racing_open(path, flags, *args, **kwargs):
        name = os.path.basename(os.fspath(path))
        if "partial" in name and not planted:
            planted.append(name)
            os.symlink(victim, path)  # the attacker wins the race to the name
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", racing_open)
    with Store(tmp_path / "ws.duckdb") as store:
        report = import_file(store, bad, user="lena", on_error="skip")
    assert planted and victim.read_text(encoding="utf-8") == "precious\n"
    assert json.loads(Path(report.rejects_path).read_text(encoding="utf-8"))["data"] == BAD_ALPACA[-1]
    assert os.stat(report.rejects_path).st_mode & 0o777 == 0o600


def test_identifiers_must_match_whole_with_no_final_newline(tmp_path):
    from core.errors import WinnowError
    from core.store import Store, _ident, _map_key
    from core.team import accounts

    for bad in ("h_x\n", "h_x\nDROP"):
        with pytest.raises(ValueError, match="not a safe SQL identifier"):
            _ident(bad)
    with pytest.raises(ValueError, match="not a map key"):
        _map_key("deadbeef\n")
    with Store(tmp_path / "ws.duckdb") as store:
        with pytest.raises(ValueError, match="unsupported score column type"):
            store.ensure_scorer("x", "x/v1", {"h_y": "INTEGER\n"}, {})
        with pytest.raises(ValueError, match="not a safe SQL identifier"):
            store.ensure_scorer("x", "x/v1", {"h_y\n": "INTEGER"}, {})
    assert accounts._NAME.fullmatch("ann") and not accounts._NAME.fullmatch("ann\n")
    with pytest.raises(WinnowError, match="is not valid"):
        accounts.check_name("ann\x00")


def test_an_existing_workspace_is_made_private_when_opened(tmp_path):
    from core.store import Store

    db = tmp_path / "ws.duckdb"
    Store(db).close()
    os.chmod(db, 0o644)  # copied, unpacked, or made by an older Winnow
    with Store(db) as store:
        assert store.stats()["samples"] == 0
        assert oct(db.stat().st_mode & 0o777) == oct(0o600)


# What Review must show as links, and what it must leave as written.
IMAGES = [
    ("![pixel](https://tracker.example/p.png)", "\\![pixel](https://tracker.example/p.png)"),
    ("a ![x][ref]\n\n[ref]: https://tracker.example/p.png", "a \\![x][ref]\n\n[ref]: https://tracker.example/p.png"),
    (
        "[![badge](https://x.example/b.svg)](https://x.example)",
        "[\\![badge](https://x.example/b.svg)](https://x.example)",
    ),
    ("\\![not an image](u) and \\\\![an image](u)", "\\![not an image](u) and \\\\\\![an image](u)"),
    ("`![code](u)` then ![img](u)", "`![code](u)` then \\![img](u)"),
    ("```\n![in a fence](u)\n```\n![after](u)", "```\n![in a fence](u)\n```\n\\![after](u)"),
    ("~~~~\n```\n![still fenced](u)\n~~~~\n", "~~~~\n```\n![still fenced](u)\n~~~~\n"),
    ("`` a ` ![in code](u) `` ` ![not](u)", "`` a ` ![in code](u) `` ` \\![not](u)"),
    ("no images here [link](u)!", "no images here [link](u)!"),
]


@pytest.mark.parametrize(("text", "shown"), IMAGES)
def test_markdown_images_become_links(text, shown):
    from core.markdown import images_as_links

    assert images_as_links(text) == shown


@pytest.mark.parametrize("shape", ["![" * 50_000, "\\" * 100_000 + "![", "`" * 50_000 + "![x](u)", "```\n" * 25_000])
def test_turning_images_into_links_costs_linear_time(shape):
    from core.markdown import images_as_links

    small = shape[: len(shape) // 10]
    ratio = _cpu_seconds(lambda: images_as_links(shape)) / max(_cpu_seconds(lambda: images_as_links(small)), 1e-4)
    assert ratio < 30, f"10x the text cost {ratio:.0f}x the time"


def test_review_shows_remote_images_as_links_unless_a_lead_enables_them(tmp_path, monkeypatch):
    from page_workspace import new_workspace, open_app, write_jsonl

    from core.errors import PermissionDenied
    from core.importing.workspace import import_file
    from core.team import accounts

    store = new_workspace(tmp_path, monkeypatch)
    accounts.add_user(store, "lena", "lead", "lena-password", by="tess")
    accounts.add_user(store, "ann", "annotator", "ann-password", by="tess")
    pixel = "![pixel](https://tracker.example/p.png)"
    records = [{"instruction": "Describe the chart.", "input": "", "output": f"Here it is: {pixel}"}]
    import_file(store, write_jsonl(tmp_path / "img.jsonl", records), user="lena")
    store.assign(_first_ids(store), ["ann"], by="lena")

    def shown(at) -> str:
        return "\n".join(str(m.value) for m in at.markdown)

    at = open_app("pages/review.py", name="lena", password="lena-password")
    assert "\\" + pixel in shown(at) and "Here it is: ![" not in shown(at)
    at.toggle(key="review_images").set_value(True).run()
    assert store.markdown_images() and "Here it is: " + pixel in shown(at)
    annotator = open_app("pages/review.py", name="ann", password="ann-password")
    assert not [t for t in annotator.toggle if t.key == "review_images"]  # theirs to see, not to change
    with pytest.raises(PermissionDenied, match="ann is an annotator and may not change workspace settings"):
        store.set_markdown_images(False, user="ann")
    at.toggle(key="review_images").set_value(False).run()
    assert not store.markdown_images() and "\\" + pixel in shown(at)


def test_the_app_loads_models_from_its_model_folder_only(tmp_path):
    from core.errors import PermissionDenied
    from core.models.access import check_model_allowed
    from core.settings import load_settings

    folder = tmp_path / "models"
    (folder / "mine").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (folder / "escape").symlink_to(tmp_path / "elsewhere")
    adapter = tmp_path / "ws" / "evaluations" / "ws" / "e1" / "selection" / "adapter"  # what an evaluation trained
    adapter.mkdir(parents=True)
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(folder / "mine")}))
    (adapter.parent / "out").symlink_to(tmp_path / "elsewhere")
    sneaky = adapter.parent / "sneaky"  # an adapter whose base model is outside the model folder
    sneaky.mkdir()
    (sneaky / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(tmp_path / "elsewhere")}))
    base = {"WINNOW_MODEL_DIR": str(folder), "WINNOW_EMBEDDER": "org/configured-by-the-admin"}
    base["WINNOW_DB"] = str(tmp_path / "ws" / "ws.duckdb")
    strict, hub, anything = (load_settings({**base, "WINNOW_ALLOW_MODELS": a}) for a in ("folder", "hub", "any"))
    for spec in ("", "bundled", str(folder / "mine"), "org/configured-by-the-admin", str(adapter)):
        check_model_allowed(spec, strict)
    for spec, settings, message in [
        (str(tmp_path / "elsewhere"), strict, "is outside the model folder"),
        (str(adapter.parent / "out"), strict, "is outside the model folder"),  # a link out of the evaluations
        (str(sneaky), strict, "base model .* is outside the model folder"),
        (str(folder / "escape"), strict, "is outside the model folder"),  # a link out of the folder
        ("/etc", hub, "is outside the model folder"),
        (str(folder / ".." / "elsewhere"), hub, "is outside the model folder"),
        ("some-org/some-model", strict, "is a Hugging Face id, which this server does not load"),
    ]:
        with pytest.raises(PermissionDenied, match=message):
            check_model_allowed(spec, settings, "embedder")
    check_model_allowed("some-org/some-model", hub)
    for spec in ("/etc", str(tmp_path / "elsewhere"), "some-org/some-model"):
        check_model_allowed(spec, anything)
    with pytest.raises(Exception, match="WINNOW_ALLOW_MODELS='everything': expected one of folder, hub, any"):
        load_settings({"WINNOW_ALLOW_MODELS": "everything"})


def test_the_score_page_refuses_a_model_outside_the_folder_before_starting(tmp_path, monkeypatch):
    from page_workspace import load, new_workspace, open_app, texts

    store = new_workspace(tmp_path, monkeypatch)
    load(store, "tasks_alpaca.json")
    monkeypatch.setenv("WINNOW_MODEL_DIR", str(tmp_path / "models"))
    at = open_app("pages/score.py")
    at.multiselect(key="score_scorers").set_value(["embedding"])
    at.text_input(key="score_embedder").set_value("/etc")
    at.button(key="score_go").click().run()
    assert "embedding model '/etc' is outside the model folder" in texts(at)
    assert "score_job" not in at.session_state and not store.jobs()


# ------------------------------------------------------------------------------------------------ 9. written down


def test_the_readme_states_the_security_model():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = " ".join(readme.split("## Security model", 1)[1].split("\n## ", 1)[0].split())
    for part in (
        "The CLI trusts whoever runs it",
        "It acts as whoever can open the workspace file: `--user` (or `WINNOW_USER`) is a name, not a credential",
        "What protects a team is therefore the file's permissions",
        "give annotators and leads accounts in the app only",
    ):
        assert part in section


def test_every_setting_is_documented_in_the_readme_and_in_settings():
    from core import settings

    source = Path(settings.__file__).read_text(encoding="utf-8")
    code = source.split('"""', 2)[2]
    variables = sorted(
        set(re.findall(r'"(WINNOW_[A-Z_]+)"', code)) | set(re.findall(r"env, \"(WINNOW_[A-Z_]+)\"", code))
    )
    assert {"WINNOW_MODEL_DIR", "WINNOW_ALLOW_MODELS"} <= set(variables)
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    for name in variables:
        assert f"| `{name}` |" in table, name
        assert f"| {name}" in settings.__doc__, name
