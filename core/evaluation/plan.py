"""Planning an evaluation: what each run trains on and what every run is scored on, decided once and stored before
any training, so a rerun after a kill finds the same plan.

Order matters. The held-out split is drawn from the pool first (by whole groups of copies); then the candidate is
taken from what is left (a saved selection's members outside the split, or a recipe run on it), then K random
subsets of the candidate's size, each drawn with its own seed. Every training subset is checked against the
held-out split and every eval file for exact and near copies before it is stored.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from core.digest import file_sha256, lines_sha256
from core.errors import WinnowError
from core.evaluation.config import HOLDOUT, EvalFile, EvaluationConfig
from core.evaluation.eval_files import item_texts, read_eval_file
from core.evaluation.holdout import check_disjoint, copies_between, split_holdout
from core.formats.messages import prompt_and_completion
from core.progress import Progress
from core.store import SampleFilter, Store, messages_of

MIN_TRAIN = 8  # samples: below one default batch, a training run measures noise


@dataclass
class Plan:
    """What ``plan_evaluation`` decided.

    Attributes:
        plan: stored with the evaluation: pool and split sizes, the candidate, the held-out items (sample id, task
            label, source, prompt, completion) and the eval files (name, path, mapping, sha256, items).
        runs: [{"run", "kind", "seed", "train_ids"}] in training order: the candidate, the random subsets, the
            optional "all accepted" run and the optional base model (which trains on nothing).
    """

    plan: dict
    runs: list[dict]


def _text(prompt: str | None, answer: str | None) -> str:
    return f"{prompt or ''}\n{answer or ''}"


def _item_text(item: dict) -> str:
    """An eval item as the text copies are looked for in (its user turns and its answer, as a sample's)."""
    return _text(*item_texts(item))


def read_eval_files(files: tuple[EvalFile, ...]) -> dict[str, tuple[dict, list[dict]]]:
    """Each eval file's record ({name, path, mapping, sha256, items}) and its items, by name."""
    out = {}
    for f in files:
        items = read_eval_file(f.path, mapping=f.mapping)
        out[f.name] = (
            {"name": f.name, "path": f.path, "mapping": f.mapping, "sha256": file_sha256(f.path), "items": len(items)},
            items,
        )
    return out


def plan_evaluation(
    store: Store, config: EvaluationConfig, *, tokenizer=None, progress: Progress | None = None
) -> Plan:
    """Draw the held-out split, take the candidate, draw the random subsets, and check them all against the eval
    data.

    Samples that copy an eval file's item (exactly or nearly) never enter a random subset or a recipe's input; a
    saved selection that holds one is refused. With ``tokenizer``, held-out samples whose prompt leaves no answer
    token within ``max_length`` are left out of the split (counted in the plan), and an eval file with such an item
    is refused: every run is then sure to score every item.

    Returns:
        The ``Plan``.

    Raises:
        WinnowError: a candidate too small for the split (or too big for a random baseline of its size), a staged
            selection, a selection that holds a copy of an eval item (saying how many), or a bad eval file.
        NotFound: no selection of that name.
    """
    config.check()
    say = progress or (lambda *a, **k: None)
    say(0, 4, "plan: reading the eval files and the pool")
    files = read_eval_files(config.eval_files)
    if tokenizer is not None:
        for name, (_, items) in files.items():
            for j, why in _unscorable(tokenizer, items, config.lora.max_length):
                raise WinnowError(f"the eval file {name}, record {j + 1}: {why}")
    members: list[str] = []
    if config.selection:
        info = store.get_selection(config.selection, with_log=False)
        if info["stages"] > 1:
            raise WinnowError(
                f"selection {config.selection!r} is staged ({info['stages']} stages trained one after another): "
                "evaluate a one-stage selection"
            )
        members = store.selection_ids(config.selection)
    data = store.sample_arrays(["id", "status", "prompt", "answer", "content_hash"])
    wanted = {"not_rejected": lambda s: s != "rejected", "accepted": lambda s: s == "accepted"}.get(
        config.pool, lambda s: True
    )
    member_set = set(members)
    pool = [k for k, (i, s) in enumerate(zip(data["id"], data["status"], strict=True)) if wanted(s) or i in member_set]
    texts = [_text(data["prompt"][k], data["answer"][k]) for k in pool]
    fraction = min(config.holdout, config.holdout_max / max(len(pool), 1))
    split = split_holdout(texts, fraction, seed=config.seed)
    held = [pool[k] for k in split.holdout]
    train_pool = [data["id"][pool[k]] for k in split.train_pool]

    # Samples that copy an eval-file item, or share an n-gram with one, are refused unless the lead goes on; then
    # they stay out of every training subset: a random one must not hold them either.
    copies = _eval_overlaps([texts[k] for k in split.train_pool], train_pool, files)
    say(1, 4, "plan: the candidate")
    if config.selection:
        candidate = [i for i in members if i in set(train_pool)]
        _refuse_copies(f"selection {config.selection!r}", candidate, copies)
        candidate_info = {
            "kind": "selection",
            "name": config.selection,
            "members": len(members),
            "members_sha256": lines_sha256(members),
            "in_holdout": len(members) - len(candidate),
        }
        what = f"selection {config.selection!r} has"
    else:
        from core.selection.workspace import run_recipe_within

        run = run_recipe_within(store, config.recipe, {i for i in train_pool if i not in copies})
        if max(run.stages, default=1) > 1:
            raise WinnowError("the recipe makes a staged selection: evaluate a recipe that makes one set")
        candidate = list(dict.fromkeys(run.ids))
        candidate_info = {"kind": "recipe", "recipe": config.recipe, "picked": len(candidate)}
        what = "the recipe picked"
    if copies and not config.eval_overlap_ok:
        _refuse_overlap(copies)
    train_pool = [i for i in train_pool if i not in copies]
    if len(candidate) < MIN_TRAIN:
        raise WinnowError(
            f"{what} {len(candidate)} samples outside the held-out split ({len(held)} samples); an evaluation trains "
            f"on at least {MIN_TRAIN}: pick a bigger selection, or a smaller --holdout"
        )
    if len(candidate) >= len(train_pool):
        raise WinnowError(
            f"{what} {len(candidate)} of the {len(train_pool)} samples left for training: random subsets of the same "
            "size would be the same data; evaluate a smaller selection (or widen the pool)"
        )

    say(2, 4, "plan: random subsets")
    runs = [{"run": "selection", "kind": "selection", "seed": None, "train_ids": candidate}]
    for k in range(1, config.random_runs + 1):
        seed = config.seed + k
        picked = set(random.Random(seed).sample(train_pool, len(candidate)))
        ids = [i for i in train_pool if i in picked]
        runs.append({"run": f"random-{k}", "kind": "random", "seed": seed, "train_ids": ids})
    if config.all_accepted:
        accepted = {data["id"][k] for k in pool if data["status"][k] == "accepted"}
        ids = [i for i in train_pool if i in accepted]
        if not ids:
            raise WinnowError("no accepted sample is left for training: leave out the all-accepted run")
        runs.append({"run": "all-accepted", "kind": "all-accepted", "seed": None, "train_ids": ids})
    if config.base:
        runs.append({"run": "base", "kind": "base", "seed": None, "train_ids": []})

    say(3, 4, "plan: checking for copies")
    holdout_items = _holdout_items(store, [data["id"][k] for k in held])
    unscorable = 0
    if tokenizer is not None:
        dropped = {j for j, _ in _unscorable(tokenizer, holdout_items, config.lora.max_length)}
        unscorable = len(dropped)
        holdout_items = [it for j, it in enumerate(holdout_items) if j not in dropped]
    if not holdout_items:
        raise WinnowError("no held-out sample can be scored (each prompt fills max length): raise --max-length")
    by_id = {data["id"][k]: k for k in pool}
    trained = sorted({i for r in runs for i in r["train_ids"]}, key=by_id.__getitem__)
    train_texts = [_text(data["prompt"][by_id[i]], data["answer"][by_id[i]]) for i in trained]
    # Asserted, not assumed: by construction no training subset holds a copy of what the runs are scored on.
    check_disjoint(train_texts, [_item_text(it) for it in holdout_items], what="the held-out split")
    for name, (_, items) in files.items():
        check_disjoint(train_texts, [_item_text(it) for it in items], what=f"the eval file {name}")
    content = dict(zip(data["id"], data["content_hash"], strict=True))
    for run in runs:  # what each run trains on, to tell on a resume whether a sample changed meanwhile
        run["content_sha256"] = lines_sha256(content[i] for i in run["train_ids"])
    plan = {
        "pool": len(pool),
        "train_pool": len(train_pool),
        "eval_copies_left_out": len(copies),
        "holdout_unscorable": unscorable,
        "candidate": candidate_info | {"train_samples": len(candidate)},
        HOLDOUT: holdout_items,
        # the first items of each eval file, kept for reading beside the answers generated to them
        "eval_files": [record | {"shown": items[: config.answers]} for record, items in files.values()],
        "content_sha256": {run["run"]: run.pop("content_sha256") for run in runs},
    }
    say(4, 4, "plan: done")
    return Plan(plan, runs)


def _eval_overlaps(texts: list[str], ids: list[str], files: dict) -> dict[str, tuple[str, int, str]]:
    """The training-pool samples that overlap an eval file's item: {sample id: (file name, item position, how)}.

    Exact and near copies (``copies_between``) and, as decontamination finds them, samples that hold a run of 13
    words of an item (``core.decontamination``), the first file's finding first."""
    from core.decontamination.index import EvalIndex, EvalItem

    found: dict[str, tuple[str, int, str]] = {}
    for name, (_, items) in files.items():
        for i, j, sim in copies_between(texts, [_item_text(it) for it in items]):
            how = "is the same text as" if sim == 1.0 else f"is a near copy (similarity {sim:.2f}) of"
            found.setdefault(ids[i], (name, j, how))
        index = EvalIndex([EvalItem(name, j + 1, *item_texts(it)) for j, it in enumerate(items)], threshold=None)
        for i, match in enumerate(index.check(texts)):
            if match is not None:
                how = f'shares the words "{match.ngram}" with'
                found.setdefault(ids[i], (name, match.item - 1, how))
    return found


def _refuse_copies(what: str, ids: list[str], copies: dict[str, tuple[str, int, str]]) -> None:
    found = [i for i in ids if i in copies]
    if found:
        name, j, how = copies[found[0]]
        raise WinnowError(
            f"{len(found)} samples of {what} overlap the eval file {name}: sample {found[0]} {how} its record "
            f"{j + 1}; leave them out of the selection or drop them from the eval file"
        )


def _refuse_overlap(copies: dict[str, tuple[str, int, str]]) -> None:
    per_file: dict[str, int] = {}
    for name, _, _ in copies.values():
        per_file[name] = per_file.get(name, 0) + 1
    first, (name, j, how) = next(iter(copies.items()))
    counts = ", ".join(f"{n} samples overlap the eval file {f}" for f, n in per_file.items())
    raise WinnowError(
        f"the training pool overlaps the eval data: {counts} (sample {first} {how} record {j + 1} of {name}). Scores "
        "on a test set the pool contains say little: check the file, or go on with --eval-overlap-ok (on the "
        'Evaluate page: "go on although the pool overlaps the eval files"), which leaves those samples out of '
        "every training subset"
    )


def _unscorable(tokenizer, items: list[dict], max_length: int) -> list[tuple[int, str]]:
    """The items (position, why) that leave no answer token to score within ``max_length`` tokens."""
    from core.evaluation.training import completion_tokens

    bad = []
    for j, item in enumerate(items):
        try:
            ids, start = completion_tokens(tokenizer, item["prompt"], item["completion"])
        except WinnowError as ex:
            bad.append((j, str(ex)))
            continue
        except Exception as ex:  # a chat template may refuse a role order: the item's problem, said with it
            bad.append((j, f"the chat template cannot render it ({ex})"))
            continue
        if start >= min(len(ids), max_length):
            bad.append((j, f"its prompt fills all {max_length} tokens (max length), leaving no answer token to score"))
    return bad


def _holdout_items(store: Store, ids: list[str]) -> list[dict]:
    """The held-out samples as eval items: {id, label, source, prompt, completion}, in import order; a sample
    without an answer after its last user turn has nothing to score and is left out."""
    items = []
    for batch in store.iter_export(SampleFilter(ids=ids), with_scores=True):
        for row in batch.to_pylist():
            messages = messages_of(row["messages"], row["raw"], row["format"], row["mapping"])
            if not any(m["role"] == "user" for m in messages):
                continue
            prompt, completion = prompt_and_completion(messages)
            if completion:
                items.append(
                    {
                        "id": row["id"],
                        "label": row.get("task_label"),
                        "source": row["source"],
                        "prompt": prompt,
                        "completion": completion,
                    }
                )
    return items
