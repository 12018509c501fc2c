"""core/team/ (assignments, reviews, agreement, adjudication) and the Store's assignments and annotations:
distribution with overlap, annotations that never overwrite each other, agreement against hand-computed kappas,
adjudication, progress, permissions and the CLI."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from core.cli import main
from core.errors import ConflictError, NotFound, PermissionDenied, WinnowError
from core.importing.workspace import import_file
from core.selection.workspace import run_selection
from core.store import SampleEdit, SampleFilter, Store
from core.team import accounts, adjudication, agreement, assignments, history, reviews

N = 23  # samples in the test workspace: not a multiple of the team size, so loads cannot all be equal


def chats(path, n: int):
    lines = [
        json.dumps(
            {"messages": [{"role": "user", "content": f"Question {i}?"}, {"role": "assistant", "content": f"A{i}."}]}
        )
        for i in range(n)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "ws.duckdb") as s:
        accounts.add_user(s, "root", "admin", "root-password", by="root")
        accounts.add_user(s, "lena", "lead", "lena-password", by="root")
        for name in ("ann", "bob", "cid"):
            accounts.add_user(s, name, "annotator", f"{name}-password", by="root")
        import_file(s, chats(tmp_path / "chats.jsonl", N), user="lena")
        yield s


def ids(store: Store) -> list[str]:
    return store.page(limit=1000).column("id").to_pylist()


def assignment_rows(store: Store) -> list[tuple[str, str]]:
    return [tuple(r) for r in store.cursor().execute("SELECT sample_id, user_name FROM assignments").fetchall()]


def shared(store: Store, sample_ids, names=("ann", "bob")) -> None:
    store.assign(sample_ids, list(names), by="lena")


# ---------------------------------------------------------------------------------------------------- distribution


@pytest.mark.parametrize("overlap", [1, 2, 3])
def test_each_sample_gets_exactly_k_distinct_annotators_and_loads_balance_within_one(store, overlap):
    result = assignments.distribute(store, None, ["ann", "bob", "cid"], overlap=overlap, by="lena")

    pairs = assignment_rows(store)
    per_sample = Counter(sid for sid, _ in pairs)
    assert set(per_sample) == set(ids(store)) and set(per_sample.values()) == {overlap}
    assert len(set(pairs)) == len(pairs) == N * overlap  # k distinct names per sample
    loads = Counter(name for _, name in pairs)
    assert max(loads.values()) - min(loads.values()) <= 1
    assert result == {"samples": N, "assignments": N * overlap, "per_user": dict(loads)}
    assert store.recent_events(1)[0]["action"] == "assign"


def test_distribution_is_deterministic_and_skips_samples_already_assigned(store, tmp_path):
    assignments.distribute(store, None, ["ann", "bob", "cid"], overlap=2, by="lena")
    first = sorted(assignment_rows(store))
    assert assignments.distribute(store, None, ["ann", "bob", "cid"], overlap=2, by="lena")["assignments"] == 0

    with Store(tmp_path / "again.duckdb") as other:
        accounts.add_user(other, "lena", "admin", "lena-password", by="lena")
        for name in ("ann", "bob", "cid"):
            accounts.add_user(other, name, "annotator", f"{name}-password", by="lena")
        import_file(other, tmp_path / "chats.jsonl", user="lena")
        assignments.distribute(other, None, ["ann", "bob", "cid"], overlap=2, by="lena")
        assert sorted(assignment_rows(other)) == first


def test_distribution_follows_the_filter_and_the_limit_and_serves_the_least_loaded_first(store):
    every = ids(store)
    store.set_status_many(every[:3], "accepted", user="lena")

    got = assignments.distribute(store, SampleFilter(status="pending"), ["ann", "bob"], limit=4, by="lena")
    assert got["samples"] == 4 and sorted(sid for sid, _ in assignment_rows(store)) == sorted(every[3:7])
    assert got["per_user"] == {"ann": 2, "bob": 2}

    assignments.distribute(store, SampleFilter(ids=[every[7]]), ["ann"], by="lena")  # ann now carries one more
    assignments.distribute(store, SampleFilter(status="pending"), ["ann", "bob"], limit=1, by="lena")
    assert store.assignees(every[8]) == ["bob"]  # the least loaded goes first

    run_selection(store, "steps:\n  - filter: {status: accepted}\n", name="done", user="lena")
    assert assignments.distribute(store, SampleFilter(selection="done"), ["cid"], by="lena")["samples"] == 3
    assert sorted(s for s, n in assignment_rows(store) if n == "cid") == sorted(every[:3])


@pytest.mark.parametrize(
    ("names", "overlap", "error", "message"),
    [
        (["ann", "bob"], 3, WinnowError, "overlap 3 needs at least 3 annotators"),
        (["ann"], 0, WinnowError, "overlap 0"),
        ([], 1, WinnowError, "choose at least one annotator"),
        (["ann", "zoe"], 1, NotFound, "no account named 'zoe'"),
    ],
)
def test_a_bad_distribution_is_refused_and_assigns_nothing(store, names, overlap, error, message):
    with pytest.raises(error, match=message):
        assignments.distribute(store, None, names, overlap=overlap, by="lena")
    assert assignment_rows(store) == []


def test_unassign_takes_back_only_open_assignments(store):
    first, second, third = ids(store)[:3]
    shared(store, [first, second, third])
    reviews.review(store, first, 1, SampleEdit(status="accepted"), user="ann")  # ann decided: her assignment stays
    store.set_status_many([second], "rejected", user="lena")  # settled: both stay

    removed = assignments.unassign(store, None, ["ann"], by="lena")

    assert removed == 1  # ann's assignment of the third sample
    assert sorted(assignment_rows(store)) == sorted(
        [(first, "ann"), (first, "bob"), (second, "ann"), (second, "bob"), (third, "bob")]
    )
    assert assignments.unassign(store, SampleFilter(ids=[third]), by="lena") == 1
    assert store.assignees(third) == []


# ---------------------------------------------------------------------------------------------------- annotations


def test_annotations_on_a_shared_sample_do_not_overwrite_each_other_and_the_sample_waits(store):
    sid = ids(store)[0]
    shared(store, [sid])
    original = store.get_sample(sid)
    edited = adjudication.with_answer(original["messages"], "A0, explained.")

    ann = reviews.review(
        store, sid, 1, SampleEdit(status="accepted", messages=edited, task_label="qa", tags=["easy"]), user="ann"
    )
    bob = reviews.review(store, sid, 1, SampleEdit(status="rejected", note="too short", task_label="chat"), user="bob")

    assert ann == bob == reviews.ReviewOutcome(1, True)
    sample = store.get_sample(sid)
    assert (sample["status"], sample["version"], sample["note"], sample["task_label"]) == ("pending", 1, "", None)
    assert sample["messages"] == original["messages"]
    kept = {a["user_name"]: a for a in store.annotations_of(sid)}
    assert (kept["ann"]["status"], kept["ann"]["task_label"], kept["ann"]["tags"]) == ("accepted", "qa", ["easy"])
    assert kept["ann"]["messages"] == edited and kept["ann"]["based_on"] == 1
    assert (kept["bob"]["status"], kept["bob"]["note"], kept["bob"]["messages"]) == ("rejected", "too short", None)
    events = [(e["user_name"], e["action"], e["field"]) for e in store.history(sid)]
    assert events == [("ann", "annotate", "annotation"), ("bob", "annotate", "annotation")]

    # A later save of ann's edits alone keeps her decision and her earlier edit.
    reviews.review(store, sid, 1, SampleEdit(note="checked twice"), user="ann")
    again = store.annotation(sid, "ann")
    assert (again["status"], again["note"], again["messages"]) == ("accepted", "checked twice", edited)
    assert json.loads(store.history(sid)[-1]["before"])["note"] == ""


def test_an_annotation_is_no_version_so_the_history_never_shows_one_annotator_anothers(store):
    sid = ids(store)[0]
    store.update_sample(sid, 1, SampleEdit(note="lead note"), user="lena")  # version 2: annotations are based on it
    shared(store, [sid])
    reviews.review(store, sid, 2, SampleEdit(status="rejected", note="bob's private reasons"), user="bob")

    versions = history.sample_versions(store, sid)

    assert [(v.version, v.user, v.action) for v in versions] == [(1, "lena", "import"), (2, "lena", "edit")]
    assert [c.field for c in versions[-1].changes] == ["note"]
    (logged,) = [e for e in store.history(sid) if e["action"] == "annotate"]
    assert logged["version"] is None and json.loads(logged["after"])["based_on"] == 2


def test_a_settled_sample_s_annotations_are_final(store):
    sid = ids(store)[0]
    shared(store, [sid])
    reviews.review(store, sid, 1, SampleEdit(status="accepted"), user="ann")
    reviews.review(store, sid, 1, SampleEdit(status="rejected"), user="bob")
    version = adjudication.pick(store, sid, 1, "ann", user="lena")

    with pytest.raises(PermissionDenied, match="already settled"):  # bob, having seen the outcome
        reviews.review(store, sid, version, SampleEdit(status="accepted"), user="bob")
    assert store.annotation(sid, "bob")["status"] == "rejected"
    assert agreement.agreement(store)["pairs"][0]["decision_agreement"] == 0.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: accounts.set_disabled(s, "cid", True, by="root"), "cid is disabled"),
        (lambda s: accounts.set_role(s, "cid", "lead", by="root"), "cid is a lead: only annotators"),
    ],
    ids=["disabled", "lead"],
)
def test_only_enabled_annotators_are_given_samples(store, change, message):
    change(store)
    with pytest.raises(WinnowError, match=message):
        assignments.distribute(store, None, ["ann", "cid"], overlap=2, by="lena")
    with pytest.raises(WinnowError, match=message):
        store.assign(ids(store)[:1], ["cid"], by="lena")
    assert assignment_rows(store) == []


def test_a_sole_assignee_or_a_lead_changes_the_sample_itself(store):
    mine, theirs = ids(store)[:2]
    store.assign([mine], ["ann"], by="lena")
    shared(store, [theirs])

    assert reviews.review(store, mine, 1, SampleEdit(status="accepted"), user="ann") == reviews.ReviewOutcome(2, False)
    assert reviews.review(store, theirs, 1, SampleEdit(status="rejected"), user="lena") == reviews.ReviewOutcome(
        2, False
    )
    assert store.get_sample(mine)["status"] == "accepted" and store.get_sample(theirs)["status"] == "rejected"
    assert store.annotations_of(mine) == store.annotations_of(theirs) == []


def test_an_annotation_based_on_a_stale_version_is_a_conflict(store):
    sid = ids(store)[0]
    shared(store, [sid])
    store.update_sample(sid, 1, SampleEdit(note="lead was here"), user="lena")

    with pytest.raises(ConflictError, match="changed since you opened it"):
        reviews.review(store, sid, 1, SampleEdit(status="accepted"), user="ann")
    assert store.annotation(sid, "ann") is None


def test_an_annotator_cannot_annotate_assign_or_adjudicate_beyond_their_role(store):
    mine, other = ids(store)[:2]
    shared(store, [mine])
    reviews.review(store, mine, 1, SampleEdit(status="accepted"), user="ann")
    reviews.review(store, mine, 1, SampleEdit(status="accepted"), user="bob")

    with pytest.raises(PermissionDenied, match="may only review samples assigned to them"):
        store.annotate(other, 1, SampleEdit(status="accepted"), user="ann")
    with pytest.raises(PermissionDenied, match="ann is an annotator and may not assign samples"):
        assignments.distribute(store, None, ["ann"], by="ann")
    with pytest.raises(PermissionDenied, match="may not assign samples"):
        assignments.unassign(store, None, by="ann")
    with pytest.raises(PermissionDenied, match="may not adjudicate reviews"):
        adjudication.pick(store, mine, 1, "ann", user="ann")
    with pytest.raises(PermissionDenied, match="may not adjudicate reviews"):
        store.adjudicate_sample(mine, 1, SampleEdit(status="rejected"), user="bob")
    # Changing a shared sample directly would overwrite the other annotator's review.
    with pytest.raises(PermissionDenied, match="assigned to several annotators"):
        store.update_sample(mine, 1, SampleEdit(status="rejected"), user="ann")
    with pytest.raises(PermissionDenied, match="assigned to several annotators"):
        store.set_status_many([mine], "rejected", user="bob")
    assert store.get_sample(mine)["status"] == "pending" and store.annotations_of(other) == []


def test_a_review_snapshot_is_the_sample_as_its_reviewer_sees_it(store):
    sid = ids(store)[0]
    shared(store, [sid])
    reviews.review(store, sid, 1, SampleEdit(status="accepted", note="ann's reasons"), user="ann")

    ann = reviews.snapshot(store, store.get_sample(sid), "ann")
    bob = reviews.snapshot(store, store.get_sample(sid), "bob")

    assert set(ann) == {"user", *reviews.SNAPSHOT_FIELDS, "shared", "annotation", "assignees"}
    assert (ann["user"], ann["note"], ann["shared"], ann["assignees"]) == ("ann", "ann's reasons", True, ["ann", "bob"])
    assert ann["annotation"]["status"] == "accepted" and ann["version"] == 1
    assert (bob["user"], bob["annotation"]) == ("bob", None) and bob["note"] != "ann's reasons"  # never another's


def test_a_link_names_a_review_queue_or_says_in_one_line_what_the_workspace_lacks(store):
    run_selection(store, "steps:\n  - filter: {status: pending}\n", name="open", user="lena")

    assert reviews.linked_queue(store) is None
    assert reviews.linked_queue(store, selection="open") == {
        "filter": {"selection": "open"},
        "label": "the selection open",
    }
    problems = {
        "The link names the selection 'gone', which this workspace does not have.": {"selection": "gone"},
        "The link names cluster 'two': a cluster is a number.": {
            "cluster": "two",
            "selection": "open",
        },  # cluster first
        "The link names cluster 3, but this workspace has no map yet.": {"cluster": "3"},
    }
    for message, link in problems.items():
        with pytest.raises(NotFound) as problem:
            reviews.linked_queue(store, **link)
        assert str(problem.value) == message


def test_an_annotators_queue_holds_their_pending_assignments_they_have_not_decided(store):
    a, b, c, d = ids(store)[:4]
    shared(store, [a, b])
    store.assign([c], ["ann"], by="lena")
    store.assign([d], ["bob"], by="lena")

    assert reviews.next_assignment(store, "ann")["id"] == a
    assert reviews.next_assignment(store, "ann", skip=[a])["id"] == b
    reviews.review(store, a, 1, SampleEdit(note="draft, no decision yet"), user="ann")
    assert reviews.next_assignment(store, "ann")["id"] == a  # a draft keeps it in the queue
    reviews.review(store, a, 1, SampleEdit(status="rejected"), user="ann")
    shown = reviews.next_assignment(store, "ann")
    assert (shown["id"], shown["shared"], shown["assignees"]) == (b, True, ["ann", "bob"])
    reviews.review(store, b, 1, SampleEdit(status="accepted"), user="ann")
    assert reviews.next_assignment(store, "ann")["id"] == c
    reviews.review(store, c, 1, SampleEdit(status="accepted"), user="ann")
    assert reviews.next_assignment(store, "ann") is None

    seen = reviews.as_seen_by(store, store.get_sample(a), "ann")
    assert (seen["annotation"]["status"], seen["note"], seen["status"]) == (
        "rejected",
        "draft, no decision yet",
        "pending",
    )


def test_annotator_progress_counts_assigned_done_remaining_and_recent_throughput(store):
    a, b, c, d = ids(store)[:4]
    shared(store, [a, b])
    store.assign([c, d], ["ann"], by="lena")
    reviews.review(store, a, 1, SampleEdit(status="accepted"), user="ann")  # an annotation
    reviews.review(store, c, 1, SampleEdit(status="rejected"), user="ann")  # a sole assignee's review
    store.set_status_many([b], "accepted", user="lena")  # settled by the lead before bob got to it

    rows = {r["annotator"]: r for r in assignments.annotator_progress(store)}

    assert set(rows) == {"ann", "bob", "cid"}  # cid has no assignments yet and still shows
    ann, bob, cid = rows["ann"], rows["bob"], rows["cid"]
    assert (ann["assigned"], ann["done"], ann["remaining"], ann["settled"], ann["done_24h"]) == (4, 2, 1, 1, 2)
    assert ann["per_hour"] == pytest.approx(2 / 24) and ann["last_done"] is not None
    assert (bob["assigned"], bob["done"], bob["remaining"], bob["settled"]) == (2, 0, 1, 1)
    assert (cid["assigned"], cid["done"], cid["per_hour"], cid["last_done"]) == (0, 0, 0.0, None)
    assert assignments.annotator_progress(store, user="ann") == [ann]


# ---------------------------------------------------------------------------------------------------- agreement


def test_cohens_kappa_of_a_known_two_by_two_table():
    # 10 items, rater A by rater B: both accept 4, both reject 3, A accepts/B rejects 2, A rejects/B accepts 1.
    # observed p_o = 7/10; A accepts 6/10, B accepts 5/10, so chance p_e = .6*.5 + .4*.5 = .5;
    # kappa = (.7 - .5) / (1 - .5) = 0.4.
    a = ["acc"] * 4 + ["rej"] * 3 + ["acc"] * 2 + ["rej"]
    b = ["acc"] * 4 + ["rej"] * 3 + ["rej"] * 2 + ["acc"]
    assert agreement.cohen_kappa(a, b) == pytest.approx(0.4)
    # Fleiss over the same 10 items: 11 of 20 ratings accept (p = .55, .45), so P_e = .55² + .45² = .505; the 7
    # agreeing items have P_i = 1 and the 3 others 0, so P̄ = .7; kappa = (.7 - .505) / (1 - .505) = 13/33.
    assert agreement.fleiss_kappa([[x, y] for x, y in zip(a, b)]) == pytest.approx(13 / 33)


@pytest.mark.parametrize(
    "ratings",
    [[], [["acc", "acc"], ["acc", "acc"]], [["acc"], ["rej"]]],
    ids=["no items", "one class only", "one rater"],
)
def test_undefined_kappas_are_none_never_an_error(ratings):
    assert agreement.fleiss_kappa(ratings) is None
    if ratings and all(len(r) == 2 for r in ratings):
        assert agreement.cohen_kappa([r[0] for r in ratings], [r[1] for r in ratings]) is None
    assert agreement.cohen_kappa([], []) is None


def test_agreement_from_the_workspace_matches_the_hand_computed_kappas(store):
    every = ids(store)
    shared(store, every[:10])
    ann = ["accepted"] * 4 + ["rejected"] * 3 + ["accepted"] * 2 + ["rejected"]
    bob = ["accepted"] * 4 + ["rejected"] * 3 + ["rejected"] * 2 + ["accepted"]
    # Labels on the first three only: (math, math), (math, code), (code, code). p_o = 2/3; ann says math 2/3, bob
    # 1/3, so p_e = 2/3·1/3 + 1/3·2/3 = 4/9 and kappa = (2/3 - 4/9) / (1 - 4/9) = 0.4.
    ann_labels = ["math", "math", "code"] + [None] * 7
    bob_labels = ["math", "code", "code"] + [None] * 7
    for sid, decision, label in zip(every, ann, ann_labels):
        reviews.review(store, sid, 1, SampleEdit(status=decision, task_label=label), user="ann")
    for sid, decision, label in zip(every, bob, bob_labels):
        reviews.review(store, sid, 1, SampleEdit(status=decision, task_label=label), user="bob")

    result = agreement.agreement(store)

    assert result["samples"] == 10 and result["annotators"] == ["ann", "bob"]
    (pair,) = result["pairs"]
    assert (pair["a"], pair["b"], pair["decision_items"], pair["label_items"]) == ("ann", "bob", 10, 3)
    assert pair["decision_kappa"] == pytest.approx(0.4) and pair["decision_agreement"] == pytest.approx(0.7)
    assert pair["label_kappa"] == pytest.approx(0.4) and pair["label_agreement"] == pytest.approx(2 / 3)
    assert result["fleiss"]["decision"] == {"kappa": pytest.approx(13 / 33), "raters": 2, "items": 10, "of": 10}
    # math: chosen on items 1 and 2, everyone agrees on item 1 only.
    math = next(r for r in result["per_label"] if r["value"] == "math")
    assert (math["items"], math["all_agree"]) == (2, 0.5)
    accepted = next(r for r in result["per_decision"] if r["value"] == "accepted")
    assert accepted["items"] == 7 and accepted["all_agree"] == pytest.approx(4 / 7)
    assert accepted["kappa"] == pytest.approx(13 / 33)  # with two classes, one-vs-rest is the overall kappa


def test_fleiss_uses_the_samples_with_the_most_common_number_of_raters_and_says_how_many(store):
    every = ids(store)
    shared(store, every[:3], ("ann", "bob", "cid"))
    shared(store, every[3:4], ("ann", "bob"))
    for sid in every[:3]:
        for name, decision in zip(("ann", "bob", "cid"), ("accepted", "accepted", "rejected")):
            reviews.review(store, sid, 1, SampleEdit(status=decision), user=name)
    reviews.review(store, every[3], 1, SampleEdit(status="accepted"), user="ann")
    reviews.review(store, every[3], 1, SampleEdit(status="accepted"), user="bob")

    overall = agreement.agreement(store)["fleiss"]["decision"]

    assert (overall["raters"], overall["items"], overall["of"]) == (3, 3, 4)
    # Every item is (acc, acc, rej): P_i = (2·1 + 1·0) / (3·2) = 1/3; p = (2/3, 1/3), P_e = 5/9;
    # kappa = (1/3 - 5/9) / (1 - 5/9) = -0.5.
    assert overall["kappa"] == pytest.approx(-0.5)


def test_agreement_with_one_class_only_says_undefined(store):
    every = ids(store)
    shared(store, every[:2])
    for sid in every[:2]:
        for name in ("ann", "bob"):
            reviews.review(store, sid, 1, SampleEdit(status="accepted"), user=name)

    result = agreement.agreement(store)

    assert result["pairs"][0]["decision_kappa"] is None and result["pairs"][0]["decision_agreement"] == 1.0
    assert result["fleiss"]["decision"]["kappa"] is None
    assert result["fleiss"]["label"] == {"kappa": None, "raters": None, "items": 0, "of": 0}
    assert agreement.agreement_of([])["pairs"] == []


def test_the_agreement_tables_read_kappas_to_two_decimals_shares_as_percentages_and_undefined_as_na():
    decided = [("a", "ann", "accepted"), ("a", "bob", "accepted"), ("b", "ann", "rejected"), ("b", "bob", "accepted")]
    result = agreement.agreement_of(
        [{"sample_id": s, "user_name": n, "status": d, "task_label": None} for s, n, d in decided]
    )

    # ann (acc, rej) and bob (acc, acc): p_o = 1/2 and p_e = 1/2·1 + 1/2·0, so kappa = 0; no labels at all.
    assert agreement.pairs_table(result) == [
        {
            "annotators": "ann · bob",
            "samples": 2,
            "decisions agree": "50%",
            "decision kappa": "0.00",
            "labelled": 0,
            "labels agree": "n/a",
            "label kappa": "n/a",
        }
    ]
    # One class against the rest, items (yes, yes) and (no, yes) or the reverse: P = 1/2, P_e = 5/8, kappa = -1/3.
    assert agreement.categories_table(result) == [
        {
            "kind": "decision",
            "value": "accepted",
            "samples": 2,
            "everyone agrees": "50%",
            "kappa (vs the rest)": "-0.33",
        },
        {
            "kind": "decision",
            "value": "rejected",
            "samples": 1,
            "everyone agrees": "0%",
            "kappa (vs the rest)": "-0.33",
        },
    ]


# ---------------------------------------------------------------------------------------------------- adjudication


def test_the_adjudication_queue_puts_disagreements_first(store):
    agreed, split = ids(store)[:2]
    shared(store, [agreed, split])
    for name in ("ann", "bob"):
        reviews.review(store, agreed, 1, SampleEdit(status="accepted", task_label="qa"), user=name)
    reviews.review(store, split, 1, SampleEdit(status="accepted", task_label="qa"), user="ann")
    reviews.review(
        store,
        split,
        1,
        SampleEdit(status="accepted", task_label="chat", messages=[{"role": "user", "content": "x"}]),
        user="bob",
    )

    queue = adjudication.adjudication_queue(store)

    assert [(q["sample_id"], q["differences"]) for q in queue] == [(split, ["label", "answer"]), (agreed, [])]
    assert queue[0]["labels"] == {"ann": "qa", "bob": "chat"}


def test_picking_an_annotators_version_applies_it_and_is_audited(store):
    sid = ids(store)[0]
    shared(store, [sid])
    edited = adjudication.with_answer(store.get_sample(sid)["messages"], "A0, with reasons.")
    reviews.review(store, sid, 1, SampleEdit(status="accepted", task_label="qa"), user="ann")
    reviews.review(
        store,
        sid,
        1,
        SampleEdit(status="rejected", messages=edited, note="needs reasons", task_label="chat"),
        user="bob",
    )

    version = adjudication.pick(store, sid, 1, "bob", user="lena")

    sample = store.get_sample(sid)
    assert (version, sample["status"], sample["note"], sample["task_label"]) == (2, "rejected", "needs reasons", "chat")
    assert sample["messages"] == edited and sample["updated_by"] == "lena"
    changes = {e["field"] for e in store.history(sid) if e["action"] == "adjudicate" and e["field"]}
    assert changes == {"status", "note", "task_label", "messages"}
    record = json.loads(next(e for e in store.history(sid) if e["action"] == "adjudicate" and not e["field"])["after"])
    assert record == {
        "picked": "bob",
        "status": "rejected",
        "task_label": "chat",
        "annotators": ["ann", "bob"],
        "version": 2,
    }
    assert adjudication.adjudication_queue(store) == []


def test_a_merged_adjudication_applies_and_a_stale_one_is_a_conflict(store):
    sid = ids(store)[0]
    shared(store, [sid])
    for name, decision in (("ann", "accepted"), ("bob", "rejected")):
        reviews.review(store, sid, 1, SampleEdit(status=decision), user=name)
    merged = adjudication.with_answer(store.get_sample(sid)["messages"], "A merged answer.")
    store.update_sample(sid, 1, SampleEdit(tags=["late-edit"]), user="root")  # someone changed it meanwhile

    with pytest.raises(ConflictError):
        store.adjudicate_sample(sid, 1, SampleEdit(status="accepted", messages=merged), user="lena")
    assert not [e for e in store.history(sid) if e["action"] == "adjudicate"]

    assert store.adjudicate_sample(sid, 2, SampleEdit(status="accepted", messages=merged), user="lena") == 3
    assert adjudication.final_answer(store.get_sample(sid)["messages"]) == "A merged answer."
    with pytest.raises(WinnowError, match="accepted or rejected"):
        store.adjudicate_sample(sid, 3, SampleEdit(status="pending"), user="lena")


def test_settle_agreed_applies_the_common_version_and_leaves_disagreements(store):
    agreed, split = ids(store)[:2]
    shared(store, [agreed, split])
    for name in ("ann", "bob"):
        reviews.review(store, agreed, 1, SampleEdit(status="rejected", task_label="qa"), user=name)
    reviews.review(store, split, 1, SampleEdit(status="accepted"), user="ann")
    reviews.review(store, split, 1, SampleEdit(status="rejected"), user="bob")

    assert adjudication.settle_agreed(store, user="lena") == 1

    assert (store.get_sample(agreed)["status"], store.get_sample(agreed)["task_label"]) == ("rejected", "qa")
    assert store.get_sample(split)["status"] == "pending"
    assert [q["sample_id"] for q in adjudication.adjudication_queue(store)] == [split]


# ---------------------------------------------------------------------------------------------------- CLI


def test_cli_assign_distributes_with_overlap_and_prints_the_loads(store, capsys):
    path = str(store.path)
    store.close()

    code = main(["assign", "--db", path, "--to", "ann,bob,cid", "--overlap", "2", "--limit", "6", "--user", "lena"])

    assert code == 0
    out = capsys.readouterr().out
    assert "assigned 6 samples to ann, bob, cid (overlap 2, 12 assignments)" in out
    assert "ann: 4" in out and "bob: 4" in out and "cid: 4" in out
    with Store(path) as s:
        assert Counter(Counter(sid for sid, _ in assignment_rows(s)).values()) == {2: 6}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "ann", "--user", "ann"], "ann is an annotator and may not assign samples"),
        (["--to", "ann", "--overlap", "2", "--user", "lena"], "overlap 2 needs at least 2 annotators"),
        (["--to", "ann", "--selection", "nope", "--user", "lena"], "no selection named 'nope'"),
        (["--to", "ann", "--cluster", "0", "--user", "lena"], "no map yet"),
        (["--to", "ann", "--status", "done", "--user", "lena"], "--status: unknown status done"),
        (["--to", "ann,root", "--user", "lena"], "root is an admin: only annotators are assigned samples"),
    ],
)
def test_cli_assign_mistakes_are_one_line(store, capsys, args, message):
    path = str(store.path)
    store.close()

    assert main(["assign", "--db", path, *args]) == 2

    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1
