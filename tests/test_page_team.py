"""The Team page: a lead assigns samples with overlap, reads the annotators' progress and agreement, and adjudicates
shared samples (one annotator's version, or a merged one), with a change made meanwhile reported as a conflict."""

from __future__ import annotations

from collections import Counter

import pytest
from page_workspace import USER, load, new_workspace, open_app, texts

from core.store import SampleEdit
from core.team import accounts, adjudication, reviews


@pytest.fixture
def store(tmp_path, monkeypatch):
    s = new_workspace(tmp_path, monkeypatch)
    accounts.add_user(s, "lena", "lead", "lena-password", by=USER)
    for name in ("ann", "bob"):
        accounts.add_user(s, name, "annotator", f"{name}-password", by=USER)
    load(s, "chats_openai.jsonl")
    return s


def ids(store) -> list[str]:
    return store.page().column("id").to_pylist()


def lead_app():
    return open_app("pages/team.py", name="lena", password="lena-password")


def table(at, column: str) -> list[dict]:
    """The rows of the table that has ``column``."""
    return next(d.value for d in at.dataframe if column in d.value.columns).to_dict("records")


def annotate_both(store, sid, ann: dict, bob: dict) -> None:
    store.assign([sid], ["ann", "bob"], by="lena")
    reviews.review(store, sid, 1, SampleEdit(**ann), user="ann")
    reviews.review(store, sid, 1, SampleEdit(**bob), user="bob")


def test_a_lead_assigns_the_pending_samples_with_overlap(store):
    at = lead_app()
    assert "4 samples match, 4 of them unassigned" in texts(at)

    at.multiselect(key="team_annotators").set_value(["ann", "bob"]).run()
    at.number_input(key="team_overlap").set_value(2).run()
    at.button(key="team_assign").click().run()

    assert not at.exception
    assert "Gave out 4 samples (overlap 2): ann 4, bob 4." in texts(at)
    pairs = store.cursor().execute("SELECT sample_id, user_name FROM assignments").fetchall()
    assert Counter(sid for sid, _ in pairs) == dict.fromkeys(ids(store), 2)
    progress = {r["annotator"]: r for r in table(at, "annotator")}
    assert (progress["ann"]["assigned"], progress["ann"]["remaining"], progress["bob"]["done"]) == (4, 4, 0)
    assert "4 samples match, 0 of them unassigned" in texts(at)


def test_a_lead_gives_out_only_how_many_were_asked_and_can_take_them_back(store):
    at = lead_app()
    at.multiselect(key="team_annotators").set_value(["ann", "bob"]).run()
    at.number_input(key="team_limit").set_value(3).run()
    at.button(key="team_assign").click().run()

    assert "Gave out 3 samples (overlap 1): ann 2, bob 1." in texts(at)
    assert [store.assignees(s) for s in ids(store)] == [["ann"], ["bob"], ["ann"], []]

    at.multiselect(key="team_unassign_names").set_value(["ann"]).run()
    at.button(key="team_unassign").click().run()
    assert "Took back 2 assignments." in texts(at)
    assert [store.assignees(s) for s in ids(store)] == [[], ["bob"], [], []]


def test_an_annotator_has_no_team_page(store):
    at = open_app(name="ann", password="ann-password")
    with pytest.raises(ValueError, match="Known pages"):
        at.switch_page("pages/team.py")


def test_agreement_shows_cohens_and_fleiss_kappa_and_na_when_undefined(store):
    # ann: acc, acc, rej, rej; bob: acc, rej, rej, rej. p_o = 3/4; ann accepts 1/2, bob 1/4, so
    # p_e = .5·.25 + .5·.75 = .5 and Cohen's kappa = (.75 - .5) / (1 - .5) = 0.50. Nobody gave a label: n/a.
    for sid, a, b in zip(
        ids(store), ["accepted", "accepted", "rejected", "rejected"], ["accepted", "rejected"] + ["rejected"] * 2
    ):
        annotate_both(store, sid, {"status": a}, {"status": b})

    at = lead_app()

    (pair,) = table(at, "decision kappa")
    assert (pair["annotators"], pair["samples"], pair["decisions agree"]) == ("ann · bob", 4, "75%")
    assert (pair["decision kappa"], pair["label kappa"]) == ("0.50", "n/a")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Fleiss' kappa, labels"] == "n/a"
    # Fleiss: 3 of 8 ratings accept; P_e = (3/8)² + (5/8)² = 34/64; P̄ = 3/4; kappa = (3/4 - 34/64) / (30/64) = 7/15.
    assert metrics["Fleiss' kappa, decisions"] == f"{7 / 15:.2f}"
    assert "over the 4 of 4 samples with 2 raters" in texts(at)


def test_a_lead_picks_one_annotators_version(store):
    first, second = ids(store)[:2]
    original = store.get_sample(first)["messages"]
    edited = adjudication.with_answer(original, "Lima, the capital of Peru.")
    annotate_both(store, first, {"status": "accepted"}, {"status": "rejected", "messages": edited, "note": "terse"})
    annotate_both(store, second, {"status": "accepted"}, {"status": "accepted"})

    at = lead_app()
    assert at.selectbox(key="team_adjudicate_sample").value == first  # the disagreement comes first
    assert "2 samples wait for you, 1 of them with disagreement" in texts(at)
    assert any("+Lima, the capital of Peru." in c.value for c in at.code)  # bob's edit, against the original

    at.button(key="team_pick_bob").click().run()

    assert not at.exception
    sample = store.get_sample(first)
    assert (sample["status"], sample["note"], sample["version"], sample["updated_by"]) == (
        "rejected",
        "terse",
        2,
        "lena",
    )
    assert sample["messages"] == edited
    assert [e["action"] for e in store.history(first)][-1] == "adjudicate"
    assert at.selectbox(key="team_adjudicate_sample").value == second

    at.button(key="team_settle_agreed").click().run()
    assert store.get_sample(second)["status"] == "accepted"
    assert "Nothing to adjudicate" in texts(at)


def test_a_merged_version_applies_and_a_change_meanwhile_is_a_conflict(store):
    sid = ids(store)[0]
    annotate_both(store, sid, {"status": "accepted"}, {"status": "rejected"})
    at = lead_app()
    store.update_sample(sid, 1, SampleEdit(tags=["seen"]), user=USER)  # someone changes it while the lead looks

    at.radio(key=f"team_merge_status_{sid}").set_value("accepted").run()
    at.text_area(key=f"team_merge_answer_{sid}").set_value("Lima is the capital of Peru.").run()
    at.button(key="team_apply_merge").click().run()

    assert any("changed since you opened it" in e.value for e in at.error)
    assert store.get_sample(sid)["status"] == "pending"  # nothing written

    at.button(key="team_apply_merge").click().run()  # now based on what the page shows

    sample = store.get_sample(sid)
    assert (sample["status"], sample["version"], sample["tags"]) == ("accepted", 3, ["seen"])
    assert adjudication.final_answer(sample["messages"]) == "Lima is the capital of Peru."
    record = [e for e in store.history(sid) if e["action"] == "adjudicate" and e["field"] is None]
    assert len(record) == 1 and '"picked": null' in record[0]["after"]
