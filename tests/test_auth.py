"""core/team/accounts.py and the Store's permission checks: accounts, hashed passwords, sessions, and every gated
call refused to a role that may not make it, with the workspace left as it was."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from core import jobs
from core.errors import NotFound, PermissionDenied, WinnowError
from core.export import export_samples
from core.importing.workspace import import_file
from core.labels.workspace import refresh_labels
from core.scoring.runner import run_scorers
from core.selection.workspace import export_selection, run_selection
from core.store import SampleEdit, Store
from core.team import accounts

DATA = Path(__file__).parent / "data" / "pages"
RECIPE = "steps:\n  - filter: {status: not_rejected}\n"


@pytest.fixture(autouse=True)
def _no_lockouts_between_tests():
    accounts._failures.clear()


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "ws.duckdb") as s:
        accounts.add_user(s, "root", "admin", "root-password", by="root")
        accounts.add_user(s, "lena", "lead", "lena-password", by="root")
        accounts.add_user(s, "ann", "annotator", "ann-password", by="root")
        import_file(s, DATA / "chats_openai.jsonl", user="lena")
        run_selection(s, RECIPE, name="kept", user="lena")
        yield s


def _ids(store: Store) -> list[str]:
    return store.page(limit=100).column("id").to_pylist()


def _snapshot(store: Store) -> tuple:
    cur = store.cursor()
    return tuple(
        cur.execute(q).fetchall()
        for q in (
            "SELECT id, status, version, tags, task_label FROM samples ORDER BY id",
            "SELECT count(*) FROM events",
            "SELECT count(*) FROM sources",
            "SELECT name, samples FROM selections ORDER BY name",
            "SELECT count(*) FROM jobs",
            "SELECT name, role, disabled FROM users ORDER BY name",
            "SELECT count(*) FROM plans",
            "SELECT count(*) FROM maps",
        )
    )


# ------------------------------------------------------------------------------------------------ accounts


def test_an_open_workspace_lets_anyone_act_as_admin_until_the_first_account(tmp_path):
    with Store(tmp_path / "ws.duckdb") as s:
        assert s.role_of("anybody") == "admin"
        with pytest.raises(PermissionDenied, match=r"first account .* must be an admin"):
            accounts.add_user(s, "lena", "lead", "lena-password", by="lena")
        accounts.add_user(s, "root", "admin", "root-password", by="root")
        assert s.role_of("anybody") is None
        with pytest.raises(PermissionDenied, match="'anybody' is not an enabled account"):
            import_file(s, DATA / "chats_openai.jsonl", user="anybody")


def test_passwords_are_stored_as_argon2_hashes_only(store):
    row = store.get_user("ann")
    assert row["password_hash"].startswith("$argon2id$")
    assert "ann-password" not in row["password_hash"]
    assert accounts.password_matches(row["password_hash"], "ann-password")
    assert not accounts.password_matches(row["password_hash"], "ann-passwore")


def test_only_admins_add_accounts_and_names_are_unique(store):
    with pytest.raises(PermissionDenied, match="lena is a lead and may not manage accounts"):
        accounts.add_user(store, "x", "annotator", "x-password", by="lena")
    with pytest.raises(WinnowError, match="already exists"):
        accounts.add_user(store, "ann", "annotator", "other-password", by="root")
    with pytest.raises(WinnowError, match="not valid"):
        accounts.add_user(store, "a b", "annotator", "x-password", by="root")
    with pytest.raises(WinnowError, match="unknown role"):
        accounts.add_user(store, "bob", "owner", "x-password", by="root")
    with pytest.raises(WinnowError, match="too short"):
        accounts.add_user(store, "bob", "lead", "short", by="root")
    assert [u["name"] for u in store.users()] == ["ann", "lena", "root"]


def test_sign_in_gives_a_session_token_whose_hash_alone_is_stored(store):
    token, who = accounts.sign_in(store, "ann", "ann-password")
    assert who == accounts.Identity("ann", "annotator")
    assert accounts.resume(store, token) == who
    stored = [r[0] for r in store.cursor().execute("SELECT token_hash FROM sessions").fetchall()]
    assert token not in stored and len(stored) == 1

    accounts.sign_out(store, token)
    assert accounts.resume(store, token) is None


@pytest.mark.parametrize(("name", "password"), [("ann", "wrong-password"), ("nobody", "ann-password"), ("", "")])
def test_a_failed_sign_in_does_not_say_which_part_was_wrong(store, name, password):
    with pytest.raises(accounts.AuthError, match=r"^wrong name or password$"):
        accounts.sign_in(store, name, password)


def test_an_expired_session_is_refused(store):
    token, _ = accounts.sign_in(store, "ann", "ann-password", hours=-1)  # already past its expiry
    assert accounts.resume(store, token) is None


def test_a_used_session_slides_forward_in_steps(store):
    """Every page run resumes its session; the expiry is written only once it is a step behind now + the term."""
    token, _ = accounts.sign_in(store, "ann", "ann-password", hours=1)

    def expiry():
        return store.cursor().execute("SELECT expires_at FROM sessions WHERE user_name = 'ann'").fetchall()[0][0]

    first = expiry()
    assert accounts.resume(store, token, hours=1).name == "ann"
    assert expiry() == first  # used again within a step: no write
    store.cursor().execute("UPDATE sessions SET expires_at = expires_at - INTERVAL 50 MINUTE")  # 50 minutes on
    assert accounts.resume(store, token, hours=1).name == "ann"
    assert expiry() >= first  # pushed back to a full term from now
    pushed = expiry()
    assert accounts.resume(store, token, hours=0.5).name == "ann"  # the term was lowered: it applies at once
    assert expiry() < pushed


@pytest.mark.parametrize(
    "change",
    [
        lambda s: accounts.set_password(s, "ann", "new-password", by="ann"),
        lambda s: accounts.set_role(s, "ann", "lead", by="root"),
        lambda s: accounts.set_disabled(s, "ann", True, by="root"),
    ],
    ids=["password", "role", "disabled"],
)
def test_changing_an_account_ends_its_sessions(store, change):
    token, _ = accounts.sign_in(store, "ann", "ann-password")
    change(store)
    assert accounts.resume(store, token) is None


def test_a_disabled_account_cannot_sign_in_and_acts_as_nobody(store):
    accounts.set_disabled(store, "ann", True, by="root")
    with pytest.raises(accounts.AuthError, match="disabled"):
        accounts.sign_in(store, "ann", "ann-password")
    assert store.role_of("ann") is None
    accounts.set_disabled(store, "ann", False, by="root")
    assert accounts.sign_in(store, "ann", "ann-password")[1].role == "annotator"


def test_the_last_enabled_admin_cannot_be_demoted_or_disabled(store):
    with pytest.raises(PermissionDenied, match="last enabled admin"):
        accounts.set_role(store, "root", "lead", by="root")
    with pytest.raises(PermissionDenied, match="last enabled admin"):
        accounts.set_disabled(store, "root", True, by="root")
    assert store.get_user("root")["role"] == "admin" and not store.get_user("root")["disabled"]


def test_only_admins_change_other_peoples_accounts(store):
    with pytest.raises(PermissionDenied):
        accounts.set_password(store, "ann", "taken-over", by="lena")
    with pytest.raises(PermissionDenied):
        accounts.set_role(store, "lena", "admin", by="lena")
    accounts.set_password(store, "lena", "lena-new-password", by="lena")  # one's own password is fine
    assert accounts.sign_in(store, "lena", "lena-new-password")[1].role == "lead"


def test_account_changes_are_audited_without_secrets(store):
    accounts.set_password(store, "ann", "new-password", by="root")
    events = store.recent_events(10)
    assert any(e["action"] == "user" and e["field"] == "update" and "ann" in e["after"] for e in events)
    assert all("new-password" not in (e["after"] or "") and "$argon2" not in (e["after"] or "") for e in events)


# ------------------------------------------------------------------------------------------------ permissions


def _calls(store: Store, tmp_path: Path):
    """(what, call) for every gated core call, each made by ``who``."""
    sid = _ids(store)[0]
    return {
        "import": lambda who: import_file(store, DATA / "tasks_alpaca.json", user=who),
        "export": lambda who: export_samples(store, tmp_path / "out.jsonl", fmt="openai", user=who),
        "export selection": lambda who: export_selection(
            store, tmp_path / "sel.jsonl", name="kept", fmt="openai", user=who
        ),
        "delete selection": lambda who: store.delete_selection("kept", user=who),
        "run selection": lambda who: run_selection(store, RECIPE, name="new", user=who),
        "edit taxonomy": lambda who: store.set_taxonomy([{"name": "x", "description": ""}], user=who),
        "save plan": lambda who: store.save_plan("p", "{}", user=who),
        "save map": lambda who: store.save_map(
            "ab12cd34",
            embedding_key="e",
            k=1,
            seed=0,
            content_hashes=[],
            xy=np.zeros((0, 2)),
            clusters=[],
            names={},
            user=who,
        ),
        "score": lambda who: run_scorers(store, ["heuristics"], user=who),
        "refresh labels": lambda who: refresh_labels(store, user=who),
        "start a job": lambda who: jobs.wait(jobs.start_job(store, "export", {}, lambda progress: "", user=who), 30),
        "assign": lambda who: store.assign([sid], ["ann"], by=who),
        "add account": lambda who: accounts.add_user(store, "eve", "admin", "eve-password", by=who),
        "change role": lambda who: accounts.set_role(store, "lena", "annotator", by=who),
        "edit unassigned sample": lambda who: store.update_sample(sid, 1, SampleEdit(note="mine now"), user=who),
        "status of unassigned": lambda who: store.set_status_many([sid], "rejected", user=who),
        "label unassigned": lambda who: store.set_task_label_many([sid], "math", user=who),
        "tag unassigned": lambda who: store.add_tag_many([sid], "x", user=who),
    }


CALL_NAMES = [
    "import",
    "export",
    "export selection",
    "delete selection",
    "run selection",
    "edit taxonomy",
    "save plan",
    "save map",
    "score",
    "refresh labels",
    "start a job",
    "assign",
    "add account",
    "change role",
    "edit unassigned sample",
    "status of unassigned",
    "label unassigned",
    "tag unassigned",
]


@pytest.mark.parametrize("what", CALL_NAMES)
@pytest.mark.parametrize("who", ["ann", "stranger"])
def test_an_annotator_or_a_stranger_is_refused_every_gated_call_and_nothing_changes(store, tmp_path, what, who):
    calls = _calls(store, tmp_path)
    assert set(calls) == set(CALL_NAMES)
    before = _snapshot(store)

    with pytest.raises(PermissionDenied, match=r"annotator and may not|may only review|not an enabled account"):
        calls[what](who)

    assert _snapshot(store) == before
    assert not list((tmp_path).glob("*.jsonl"))  # no export file, not even a partial one


LEAD_REFUSED = {"add account", "change role"}


@pytest.mark.parametrize("what", CALL_NAMES)
def test_a_lead_may_do_everything_but_manage_accounts(store, tmp_path, what):
    calls = _calls(store, tmp_path)
    if what in LEAD_REFUSED:
        with pytest.raises(PermissionDenied, match="may not manage accounts"):
            calls[what]("lena")
        return
    try:
        calls[what]("lena")
    except PermissionDenied:  # pragma: no cover - the assertion below names the call
        pytest.fail(f"a lead was refused: {what}")
    except (WinnowError, ValueError):
        pass  # refused for another reason (e.g. no embeddings to label): not a permission problem


def test_an_annotator_reviews_exactly_the_samples_assigned_to_them(store):
    mine, other = _ids(store)[:2]
    assert store.assign([mine], ["ann"], by="lena") == 1
    assert store.assign([mine], ["ann"], by="lena") == 0  # already assigned

    version = store.update_sample(mine, 1, SampleEdit(status="accepted", note="fine"), user="ann")
    assert version == 2
    assert store.set_task_label_many([mine], "math", user="ann") == 1
    with pytest.raises(PermissionDenied, match="may only review samples assigned to them"):
        store.set_status_many([mine, other], "rejected", user="ann")  # one of them is not hers
    assert store.get_sample(other)["status"] == "pending"


def test_assigning_to_an_unknown_account_is_refused(store):
    with pytest.raises(NotFound, match="no account named 'zoe'"):
        store.assign(_ids(store)[:1], ["zoe"], by="lena")


def test_a_session_cannot_outlive_its_account(store):
    token, _ = accounts.sign_in(store, "lena", "lena-password", hours=1)
    store.create_session("deadbeef", "ghost", timedelta(hours=1))  # a session row whose account does not exist
    assert accounts.resume(store, token).name == "lena"
    assert store.use_session("deadbeef", timedelta(hours=1)) is None


def test_five_failed_sign_ins_lock_the_name_for_a_while_whatever_the_password(store, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(accounts, "_clock", lambda: now[0])
    for _ in range(accounts.LOCKOUT_ATTEMPTS):
        with pytest.raises(accounts.AuthError, match="wrong name or password"):
            accounts.sign_in(store, "ann", "guess-guess")
    with pytest.raises(accounts.AuthError, match="too many failed sign-ins for 'ann': try again in 15 min"):
        accounts.sign_in(store, "ann", "ann-password")  # even the right password
    assert accounts.sign_in(store, "lena", "lena-password")[1].name == "lena"  # other names are not affected
    for _ in range(accounts.LOCKOUT_ATTEMPTS):  # a name that does not exist locks the same way: nothing is revealed
        with pytest.raises(accounts.AuthError, match="wrong name or password"):
            accounts.sign_in(store, "nobody", "guess-guess")
    with pytest.raises(accounts.AuthError, match="too many failed sign-ins for 'nobody'"):
        accounts.sign_in(store, "nobody", "guess-guess")

    now[0] += accounts.LOCKOUT_MINUTES * 60
    assert accounts.sign_in(store, "ann", "ann-password")[1].name == "ann"


def test_a_disabled_account_is_named_only_to_whoever_knows_its_password(store):
    accounts.set_disabled(store, "ann", True, by="root")
    with pytest.raises(accounts.AuthError, match=r"^wrong name or password$"):
        accounts.sign_in(store, "ann", "wrong-password")
    with pytest.raises(accounts.AuthError, match="disabled"):
        accounts.sign_in(store, "ann", "ann-password")
