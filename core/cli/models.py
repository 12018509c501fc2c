"""The CLI's commands that run models over the samples: score, map, label."""

from __future__ import annotations

from core.progress import terminal_progress


def engine_from_args(args):
    """The ``Engine`` that ``parser.add_engine_args``'s flags chose (score, and select --preset cascade)."""
    from core.scoring.engines import Engine

    return Engine(
        args.engine,
        address=args.address,
        actors=args.actors,
        gpus_per_actor=args.gpus_per_actor,
        shard_size=args.shard_size,
    )


DEFAULT_SCORERS = "heuristics,embedding,ifd"


# Each flag of the score command and the scorer parameters it sets (MoDS scores both with the same reward model).
SCORER_FLAGS = {
    "model": [("ifd", "model"), ("knowledge", "model"), ("turns", "model")],
    "template": [("ifd", "template"), ("turns", "template")],
    "max_length": [("ifd", "max_length"), ("turns", "max_length")],
    "embedder": [("embedding", "model")],
    "embed_text": [("embedding", "text")],
    "reward_model": [("reward", "model"), ("necessity", "reward_model")],
    "necessity_model": [("necessity", "model")],
    "necessity_template": [("necessity", "template")],
    "max_new_tokens": [("necessity", "max_new_tokens")],
    "ngram": [("decontam", "n")],
    "knowledge_prompts": [("knowledge", "prompts")],
    "knowledge_samples": [("knowledge", "samples")],
    "answer_field": [("knowledge", "answer_field")],
}


def scorer_params(args) -> dict[str, dict]:
    """Per-scorer parameters from the score command's flags (only the flags that were given)."""
    params: dict[str, dict] = {
        "ifd": {},
        "embedding": {},
        "reward": {},
        "necessity": {},
        "decontam": {},
        "knowledge": {},
        "turns": {},
    }
    if args.knowledge_fast:
        from core.scoring.knowledge import FAST

        params["knowledge"].update(FAST)  # the counts given on their own flags win
    for flag, targets in SCORER_FLAGS.items():
        if value := getattr(args, flag):
            for scorer, name in targets:
                params[scorer][name] = value
    if args.eval_sets:
        params["decontam"]["eval_sets"] = [n.strip() for n in args.eval_sets.split(",") if n.strip()]
    if (n := params["decontam"].get("n")) is not None:
        params["decontam"]["min_tokens"] = min(8, n)  # a shorter n-gram checks shorter items too
    return params


def cmd_score(args, settings) -> int:
    from core.actions import score
    from core.store import Store

    names = [n.strip() for n in args.scorers.split(",") if n.strip()]
    settings = settings.with_(device=args.device, dtype=args.dtype)
    engine = engine_from_args(args)
    with Store(settings.db) as store, terminal_progress("score", "sample") as progress:
        result = score(
            store,
            names,
            settings=settings,
            params=scorer_params(args),
            progress=progress,
            token_budget=args.batch_tokens,
            user=settings.user,
            engine=engine,
        )
    for report in result["reports"]:
        print(report)
    return 0


def cmd_map(args, settings) -> int:
    from core.map.workspace import build_map
    from core.store import Store

    with Store(settings.db) as store:
        with terminal_progress("map", "step") as progress:
            result = build_map(store, k=args.k, seed=args.seed, user=settings.user, progress=progress)
        names = store.get_map()["cluster_names"]
    what = "current already, reused" if result["reused"] else "computed"
    print(f"map {result['map_key']}: {result['contents']} contents in {result['k']} clusters ({what})")
    for cid, name in sorted(names.items()):
        print(f"  cluster {cid}: {name}")
    return 0


def cmd_label(args, settings) -> int:
    from core.labels.workspace import refresh_labels
    from core.store import Store

    with Store(settings.db) as store:
        result = refresh_labels(store, settings=settings.with_(device=args.device), user=settings.user)
    print(
        f"suggested task labels for {result['suggested']} samples ({result['by_evidence']} by an evidence rule, the "
        f"rest by similarity to the {result['source']}; {result['confirmed']} confirmed labels kept)"
    )
    return 0
