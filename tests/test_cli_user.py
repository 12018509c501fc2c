"""`python -m core user ...` and `core demo --admin`: accounts from the shell, and roles applied to CLI commands."""

from __future__ import annotations

import os
import subprocess
import sys

from patience import HANG_S

from core.settings import PROJECT_ROOT
from core.store import Store
from core.team import accounts


def run_cli(*args, stdin: str = "", user: str = "ci"):
    return subprocess.run(
        [sys.executable, "-m", "core", *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={**os.environ, "WINNOW_USER": user},
        timeout=HANG_S,
    )


def _alpaca(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"instruction": "Name a fruit", "input": "", "output": "Apple."}\n', encoding="utf-8")
    return path


def test_the_first_admin_comes_from_the_shell_and_then_roles_apply(tmp_path):
    db = tmp_path / "ws.duckdb"
    added = run_cli("user", "add", "--role", "admin", "root", "--db", db, stdin="root-password\n")
    assert added.returncode == 0, added.stderr
    assert "added root (admin): the workspace now requires sign-in" in added.stdout

    # The OS user "ci" is no account of this workspace any more.
    refused = run_cli("import", _alpaca(tmp_path), "--db", db)
    assert refused.returncode == 2
    assert refused.stderr.strip() == "error: 'ci' is not an enabled account of this workspace, so may not import files"
    assert "Traceback" not in refused.stderr

    assert run_cli("user", "add", "ann", "--db", db, "--user", "root", stdin="ann-password\n").returncode == 0
    denied = run_cli("export", "--db", db, "--out", tmp_path / "x.jsonl", "--format", "alpaca", "--user", "ann")
    assert denied.returncode == 2
    assert "ann is an annotator and may not export samples" in denied.stderr
    assert not (tmp_path / "x.jsonl").exists()

    ok = run_cli("import", _alpaca(tmp_path), "--db", db, "--user", "root", "--no-signals")
    assert ok.returncode == 0, ok.stderr

    listed = run_cli("user", "list", "--db", db)
    assert [line.split("\t")[:2] for line in listed.stdout.splitlines()] == [["ann", "annotator"], ["root", "admin"]]
    with Store(db) as store:
        assert accounts.sign_in(store, "ann", "ann-password")[1].role == "annotator"


def test_only_an_admin_adds_accounts_and_the_first_must_be_admin(tmp_path):
    db = tmp_path / "ws.duckdb"
    first = run_cli("user", "add", "lena", "--role", "lead", "--db", db, stdin="lena-password\n")
    assert first.returncode == 2
    assert "the first account of a workspace must be an admin" in first.stderr
    run_cli("user", "add", "--role", "admin", "root", "--db", db, stdin="root-password\n")
    run_cli("user", "add", "--role", "lead", "lena", "--db", db, "--user", "root", stdin="lena-password\n")

    by_lead = run_cli("user", "add", "eve", "--db", db, "--user", "lena", stdin="eve-password\n")
    assert by_lead.returncode == 2 and "lena is a lead and may not manage accounts" in by_lead.stderr
    short = run_cli("user", "add", "bob", "--db", db, "--user", "root", stdin="short\n")
    assert short.returncode == 2 and "password too short" in short.stderr

    role = run_cli("user", "role", "lena", "annotator", "--db", db, "--user", "root")
    assert role.returncode == 0 and "lena is now annotator" in role.stdout
    disabled = run_cli("user", "disable", "lena", "--db", db, "--user", "root")
    assert disabled.returncode == 0
    with Store(db) as store:
        assert store.get_user("lena")["role"] == "annotator" and store.get_user("lena")["disabled"]
        assert store.get_user("eve") is None and store.get_user("bob") is None


def test_demo_admin_is_created_once_with_a_printed_password(tmp_path):
    db = tmp_path / "ws.duckdb"
    out = run_cli("demo", "--db", db, "--admin", "demo")
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if x.startswith("created the admin account 'demo'"))
    password = line.split("the password ")[1].split(" ")[0]
    with Store(db) as store:
        assert accounts.sign_in(store, "demo", password)[1] == accounts.Identity("demo", "admin")

    again = run_cli("demo", "--db", db, "--admin", "demo", user="demo")
    assert again.returncode == 0, again.stderr
    assert "sign in as 'demo'" in again.stdout and password not in again.stdout
