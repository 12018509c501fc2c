"""The headless commands: ``python -m core COMMAND ...``.

Exit code 0 on success; on a user's mistake, one line on stderr and a non-zero exit code, never a traceback.
Anything that is not a ``WinnowError`` is a bug and surfaces with its traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from core.errors import WinnowError
from core.settings import load_settings

EXIT_USER_ERROR = 2


def _progress_bar(desc: str, unit: str):
    """A tqdm bar on a terminal; elsewhere (pipelines, CI logs) a plain line ``LABEL: DONE/TOTAL`` every 2 seconds.

    Returns:
        (bar, update): close the bar when done; ``update(done, total, label=None)`` moves it, ``label`` renames it.
    """
    from tqdm import tqdm

    interactive = sys.stderr.isatty()
    bar = tqdm(desc=desc, unit=unit, dynamic_ncols=True, disable=not interactive)
    state = {"label": desc, "last": 0.0}

    def update(done: int, total: int | None, label: str | None = None) -> None:
        if label and label != state["label"]:
            state["label"] = label
            state["last"] = 0.0
            bar.set_description(label)
        if interactive:
            if total is not None and bar.total != total:
                bar.total = total
            bar.n = done
            bar.refresh()
            return
        now = time.monotonic()
        if now - state["last"] >= 2.0 or (total and done >= total):
            state["last"] = now
            of = f"/{total}" if total else ""
            print(f"{state['label']}: {done}{of}", file=sys.stderr, flush=True)

    return bar, update


def cmd_import(args, settings) -> int:
    from core.importer import import_file
    from core.store import Store

    with Store(settings.db) as store:
        for path in args.files:
            bar, update = _progress_bar(f"import {Path(path).name}", "")
            try:
                report = import_file(
                    store,
                    path,
                    user=settings.user,
                    fmt=args.format,
                    mapping=args.map,
                    on_error=args.on_error,
                    rejects_path=args.rejects,
                    allow_reimport=args.allow_reimport,
                    progress=update,
                )
            finally:
                bar.close()
            line = (
                f"{report.path}: imported {report.imported} records as {report.format}"
                f" ({report.duplicates} exact duplicates flagged)"
            )
            if report.rejected:
                line += f"; skipped {report.rejected} bad records, reasons in {report.rejects_path}"
            print(line)
        if not args.no_signals:
            _signals(store)
    return 0


def _signals(store) -> None:
    """Compute the cheap heuristic signals for what was just imported (what is already scored is skipped)."""
    from core.scoring.runner import run_scorers

    bar, update = _progress_bar("signals", "sample")
    try:
        (report,) = run_scorers(store, ["heuristics"], progress=lambda done, total, _message: update(done, total))
    finally:
        bar.close()
    print(report)


def _filters(args):
    from core.store import STATUSES, SampleFilter

    status = None if args.status == "all" else [s.strip() for s in args.status.split(",")]
    if status == ["not_rejected"]:
        status = "not_rejected"
    elif status is not None:
        unknown = [s for s in status if s not in STATUSES]
        if unknown:
            raise WinnowError(
                f"--status: unknown status {', '.join(unknown)}; use {', '.join(STATUSES)}, not_rejected, all, "
                "or a comma list"
            )
    return SampleFilter(status=status, tag=args.tag)


def cmd_export(args, settings) -> int:
    from core.export import export_samples
    from core.store import Store

    if args.selection:
        return _export_selection(args, settings)
    with Store(settings.db) as store:
        bar, update = _progress_bar(f"export {Path(args.out).name}", "rec")
        try:
            report = export_samples(
                store,
                args.out,
                fmt=args.format,
                user=settings.user,
                filters=_filters(args),
                with_scores=args.with_scores,
                progress=update,
            )
        finally:
            bar.close()
    print(f"wrote {report.records} records to {report.path} (manifest {report.manifest_path})")
    if report.skipped:
        print(
            f"skipped {len(report.skipped)} samples that {args.format} cannot hold "
            f"(first: {report.skipped[0]['id']}: {report.skipped[0]['reason']}); the manifest lists them all",
            file=sys.stderr,
        )
    return 0


def _export_selection(args, settings) -> int:
    """``export --selection NAME``: the selection's members, whatever their status; one file per stage if staged."""
    from core.selection import export_selection
    from core.store import Store

    if args.status != "accepted" or args.tag:
        raise WinnowError("--selection exports the selection as it is: drop --status and --tag (filter in the recipe)")
    with Store(settings.db) as store:
        bar, update = _progress_bar(f"export {Path(args.out).name}", "rec")
        try:
            reports = export_selection(
                store,
                args.out,
                name=args.selection,
                fmt=args.format,
                user=settings.user,
                with_scores=args.with_scores,
                progress=update,
            )
        finally:
            bar.close()
    for report in reports:
        print(f"wrote {report.records} records to {report.path} (manifest {report.manifest_path})")
    return 0


def cmd_select(args, settings) -> int:
    from core.select import parse_recipe, preset_recipe
    from core.selection import run_selection
    from core.store import Store

    if bool(args.recipe) == bool(args.preset):
        raise WinnowError("give either --recipe FILE or --preset align|fit")
    if args.recipe:
        path = Path(args.recipe)
        if not path.is_file():
            raise WinnowError(f"no recipe file {path}")
        recipe = parse_recipe(path.read_text(encoding="utf-8"))
    else:
        recipe = preset_recipe(args.preset, args.budget)
    with Store(settings.db) as store:
        result = run_selection(store, recipe, name=args.name, user=settings.user)
    print(f"selection {result.name!r}: {len(result.ids)} of {result.total} samples (recipe {result.recipe_hash[:12]})")
    print(f"  {'step':<24} {'in':>8} {'out':>8}")
    for entry in result.log:
        print(f"  {str(entry['step']) + '. ' + entry['name']:<24} {entry['in']:>8} {entry['out']:>8}")
        for stage in entry.get("stages", []):
            print(f"  {'   stage ' + str(stage['stage']):<24} {'':>8} {stage['out']:>8}  {stage['name']}")
    return 0


def cmd_stats(args, settings) -> int:
    from core.store import Store

    if not Path(settings.db).exists():
        raise WinnowError(f"no workspace at {settings.db}")
    with Store(settings.db) as store:
        stats = store.stats()
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, indent=2, default=str))
        return 0
    print(f"workspace {settings.db}")
    print(f"  samples     {stats['samples']}")
    for status, n in stats["by_status"].items():
        print(f"  {status:<11} {n}")
    print(f"  duplicates  {stats['duplicates']}")
    for src in stats["sources"]:
        print(f"  source {src['source_id']}: {src['name']} ({src['format']}) {src['samples']} samples")
    return 0


DEFAULT_SCORERS = "heuristics,embedding,ifd"


def scorer_params(args) -> dict[str, dict]:
    """Per-scorer parameters from the score command's flags (only the flags that were given)."""
    params: dict[str, dict] = {"ifd": {}, "embedding": {}, "reward": {}}
    if args.model:
        params["ifd"]["model"] = args.model
    if args.template:
        params["ifd"]["template"] = args.template
    if args.max_length:
        params["ifd"]["max_length"] = args.max_length
    if args.embedder:
        params["embedding"]["model"] = args.embedder
    if args.embed_text:
        params["embedding"]["text"] = args.embed_text
    if args.reward_model:
        params["reward"]["model"] = args.reward_model
    return params


def cmd_score(args, settings) -> int:
    from core.scoring.runner import run_scorers
    from core.store import Store

    names = [n.strip() for n in args.scorers.split(",") if n.strip()]
    settings = settings.with_(device=args.device, dtype=args.dtype)
    with Store(settings.db) as store:
        bar, update = _progress_bar("score", "sample")

        def progress(done: int, total: int, message: str) -> None:
            update(done, total, message.split(":")[0])

        try:
            reports = run_scorers(
                store,
                names,
                settings=settings,
                params=scorer_params(args),
                progress=progress,
                token_budget=args.batch_tokens,
            )
        finally:
            bar.close()
    for report in reports:
        print(report)
    return 0


def cmd_demo(args, settings) -> int:
    from core.demo import load_demo
    from core.store import Store

    with Store(settings.db) as store:
        reports = load_demo(store, user=settings.user)
        if not reports:
            print(f"workspace {settings.db} already has {store.count()} samples; demo data not loaded again")
        for r in reports:
            print(f"{r.path}: imported {r.imported} records as {r.format} ({r.duplicates} exact duplicates flagged)")
        if reports:
            _signals(store)
    return 0


def cmd_map(args, settings) -> int:
    from core.store import Store
    from core.workspace_map import build_map

    with Store(settings.db) as store:
        bar, update = _progress_bar("map", "step")

        def progress(done: int, total: int, message: str) -> None:
            update(done, total, f"map: {message}")

        try:
            result = build_map(store, k=args.k, seed=args.seed, user=settings.user, progress=progress)
        finally:
            bar.close()
        names = store.get_map()["cluster_names"]
    what = "current already, reused" if result["reused"] else "computed"
    print(f"map {result['map_key']}: {result['contents']} contents in {result['k']} clusters ({what})")
    for cid, name in sorted(names.items()):
        print(f"  cluster {cid}: {name}")
    return 0


def cmd_label(args, settings) -> int:
    from core.labels import refresh_labels
    from core.store import Store

    with Store(settings.db) as store:
        result = refresh_labels(store, settings=settings.with_(device=args.device))
    print(
        f"suggested task labels for {result['suggested']} samples ({result['source']}; "
        f"{result['confirmed']} confirmed labels kept)"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Winnow: curate SFT data from the shell.")
    sub = parser.add_subparsers(dest="command", required=True)

    def add_db(p):
        p.add_argument("--db", help="workspace file (DuckDB); default $WINNOW_DB or data/workspace.duckdb")
        p.add_argument("--user", help="name recorded in the audit log; default $WINNOW_USER or the OS user")

    p = sub.add_parser("import", help="import SFT files into a workspace")
    p.add_argument("files", nargs="+", metavar="FILE")
    add_db(p)
    p.add_argument(
        "--format", default="auto", choices=["auto", "alpaca", "sharegpt", "openai", "prompt-completion", "mapped"]
    )
    p.add_argument("--map", help="field mapping for other files, e.g. prompt=question,response=answer")
    p.add_argument(
        "--on-error",
        default="abort",
        choices=["abort", "skip"],
        help="abort: import nothing if any record is bad (default); skip: import the good ones",
    )
    p.add_argument("--rejects", help="where --on-error skip writes the bad records (default FILE.rejects.jsonl)")
    p.add_argument("--allow-reimport", action="store_true", help="import a file that was imported before")
    p.add_argument("--no-signals", action="store_true", help="skip computing the heuristic signals after import")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", help="export curated samples")
    add_db(p)
    p.add_argument("--out", required=True, help="output file (.json = JSON array, .jsonl = JSON lines, .parquet)")
    p.add_argument("--format", required=True, choices=["alpaca", "sharegpt", "openai", "prompt-completion", "parquet"])
    p.add_argument(
        "--status", default="accepted", help="accepted (default), pending, rejected, not_rejected, all, or a comma list"
    )
    p.add_argument("--tag", help="only samples with this tag")
    p.add_argument("--with-scores", action="store_true", help="add score columns, source and source_index")
    p.add_argument(
        "--selection",
        help="export this saved selection (any status); a staged one writes one file per stage: OUT.stage1.jsonl ...",
    )
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("select", help="run a selection recipe and save the result as a named selection")
    add_db(p)
    p.add_argument("--recipe", help="recipe YAML file (see core/select.py for the steps)")
    p.add_argument("--preset", choices=["align", "fit"], help="start from a preset instead of a file")
    p.add_argument("--budget", type=int, help="with --preset align: samples to keep (1000-10000)")
    p.add_argument("--name", required=True, help="name of the selection (replaces one of the same name)")
    p.set_defaults(func=cmd_select)

    p = sub.add_parser("stats", help="counts by status and source")
    add_db(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_stats)
    p = sub.add_parser("score", help="compute scores (IFD, embeddings, signals, reward) for what has none yet")
    add_db(p)
    p.add_argument("--scorers", default=DEFAULT_SCORERS, help=f"comma list (default {DEFAULT_SCORERS}; also reward)")
    p.add_argument("--model", help="language model for IFD: HF id or local path (default: bundled SmolLM2-135M)")
    p.add_argument("--embedder", help="sentence embedder: HF id or local path (default: bundled all-MiniLM-L6-v2)")
    p.add_argument(
        "--embed-text",
        choices=["instruction", "conversation"],
        help="what to embed: the instruction (as MoDS, default) or the whole conversation",
    )
    p.add_argument("--reward-model", help="sequence-classification reward model for the reward scorer")
    p.add_argument("--template", choices=["auto", "chat", "alpaca", "plain"], help="IFD prompt template")
    p.add_argument("--max-length", type=int, help="IFD max tokens, prompt + answer (default 512)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], help="default $WINNOW_DEVICE or auto")
    p.add_argument("--dtype", choices=["auto", "fp32", "bf16", "fp16"], help="default $WINNOW_DTYPE or auto")
    p.add_argument("--batch-tokens", type=int, help="padded tokens per batch (default per scorer; lower = less memory)")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("demo", help="load the demo data into an empty workspace")
    add_db(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("map", help="compute (or reuse) the 2-D map and clusters of the current embeddings")
    add_db(p)
    p.add_argument("--k", type=int, help="number of clusters (default: about sqrt(contents / 2))")
    p.add_argument("--seed", type=int, default=0, help="fixes the projection and the clusters (default 0)")
    p.set_defaults(func=cmd_map)

    p = sub.add_parser("label", help="suggest a task label for every sample (confirmed labels are kept)")
    add_db(p)
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], help="default $WINNOW_DEVICE or auto")
    p.set_defaults(func=cmd_label)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = load_settings().with_(
        db=Path(args.db) if getattr(args, "db", None) else None, user=getattr(args, "user", None)
    )
    try:
        return args.func(args, settings)
    except WinnowError as ex:
        print(f"error: {ex}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as ex:  # a file or folder the user named cannot be read or written
        where = f" {ex.filename}" if ex.filename else ""
        print(f"error:{where}: {ex.strerror or ex}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
