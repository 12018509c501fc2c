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
    from core.importing.workspace import import_file
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
                    replace_rejects=args.force,
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
                if report.earlier_rejects:
                    line += f" (a new name: {report.earlier_rejects} holds an earlier import's, left as it was)"
            print(line)
        if not args.no_signals:
            _signals(store)
    return 0


def _signals(store) -> None:
    """Compute the cheap heuristic signals for what was just imported (what is already scored is skipped)."""
    from core.importing.workspace import import_signals

    bar, update = _progress_bar("signals", "sample")
    try:
        report = import_signals(store, progress=lambda done, total, _message: update(done, total))
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
                overwrite=args.force,
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
    from core.selection.workspace import export_selection
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
                overwrite=args.force,
            )
        finally:
            bar.close()
    for report in reports:
        print(f"wrote {report.records} records to {report.path} (manifest {report.manifest_path})")
    return 0


def cmd_export_training(args, settings) -> int:
    """``export-training``: render, count, split, pack and write training files (or only report, ``--dry-run``)."""
    from core.store import SampleFilter, Store
    from core.training.export import export_training
    from core.training.pipeline import TrainingOptions, summary_lines, training_report

    if args.selection:
        if args.status != "accepted" or args.tag:
            raise WinnowError(
                "--selection takes the selection as it is: drop --status and --tag (filter in the recipe)"
            )
        filters = SampleFilter(selection=args.selection, stage=args.stage)
    elif args.stage is not None:
        raise WinnowError("--stage picks a stage of a staged selection: give --selection NAME too")
    else:
        filters = _filters(args)
    if not args.dry_run and not args.name:
        raise WinnowError("give the export a folder name with --name NAME (or --dry-run for the report only)")
    options = TrainingOptions(
        tokenizer=args.tokenizer or "",
        max_length=args.max_length,
        fmt=args.format,
        val_fraction=args.val_fraction,
        seed=args.seed,
        pack=args.pack,
        over_length=args.over_length,
    )
    export_dir = Path(args.export_dir) if args.export_dir else settings.export_dir
    with Store(settings.db) as store:
        bar, update = _progress_bar("tokenize", "sample")
        try:
            if args.dry_run:
                report = training_report(store, filters=filters, options=options, progress=update)
            else:
                report = export_training(
                    store, export_dir, args.name, user=settings.user, filters=filters, options=options, progress=update
                )
        finally:
            bar.close()
    for line in summary_lines(report.manifest):
        print(line)
    if report.folder:
        print(f"wrote {report.folder}: {', '.join(Path(f).name for f in report.files.values())}")
    return 0


def cmd_select(args, settings) -> int:
    from core.selection.recipe import parse_recipe, preset_recipe
    from core.selection.workspace import parse_budget, preset_with_budget, run_selection
    from core.store import Store

    if bool(args.recipe) == bool(args.preset):
        raise WinnowError("give either --recipe FILE or --preset align|fit")
    if args.recipe:
        path = Path(args.recipe)
        if not path.is_file():
            raise WinnowError(f"no recipe file {path}")
        recipe = parse_recipe(path.read_text(encoding="utf-8"))
    with Store(settings.db) as store:
        if args.preset and args.budget is not None:  # from 1 to the workspace's size, as on the Select page
            recipe = preset_with_budget(args.preset, parse_budget(str(args.budget), store.count()))
        elif args.preset:
            recipe = preset_recipe(args.preset)
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


def cmd_backup(args, settings) -> int:
    from core.backup import backup_workspace, default_backup_path
    from core.errors import WorkspaceLocked
    from core.store import Store

    if not Path(settings.db).exists():
        raise WinnowError(f"no workspace at {settings.db}")
    try:
        store = Store(settings.db)
    except WorkspaceLocked:
        raise WinnowError(
            f"workspace {settings.db} is open in the app (DuckDB allows one process): take the backup there (Users "
            "page, Back up now), or stop the app first"
        ) from None
    with store:
        out = Path(args.out) if args.out else default_backup_path(settings.db)
        report = backup_workspace(store, out, user=settings.user, force=args.force)
    print(f"{report.path}: {report.samples} samples, {report.bytes / 1e6:.1f} MB in {report.seconds:.1f} s")
    return 0


DEFAULT_SCORERS = "heuristics,embedding,ifd"


def scorer_params(args) -> dict[str, dict]:
    """Per-scorer parameters from the score command's flags (only the flags that were given)."""
    params: dict[str, dict] = {"ifd": {}, "embedding": {}, "reward": {}, "necessity": {}}
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
        params["necessity"]["reward_model"] = args.reward_model  # MoDS scores both with the same reward model
    if args.necessity_model:
        params["necessity"]["model"] = args.necessity_model
    if args.necessity_template:
        params["necessity"]["template"] = args.necessity_template
    if args.max_new_tokens:
        params["necessity"]["max_new_tokens"] = args.max_new_tokens
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
                user=settings.user,
            )
        finally:
            bar.close()
    for report in reports:
        print(report)
    return 0


def cmd_demo(args, settings) -> int:
    from core.demo import is_demo_workspace, load_demo, missing_steps, request_preparation
    from core.store import Store

    with Store(settings.db) as store:
        reports = load_demo(store, user=settings.user)
        if not reports:
            print(f"workspace {settings.db} already has {store.count()} samples; demo data not loaded again")
        for r in reports:
            print(f"{r.path}: imported {r.imported} records as {r.format} ({r.duplicates} exact duplicates flagged)")
        if reports:
            _signals(store)
        if args.admin:
            _demo_admin(store, args.admin, settings)
        # The rest (embeddings, map, labels, IFD) takes minutes: the app does it in the background (core.demo).
        missing = missing_steps(store, settings) if is_demo_workspace(store) else []
        if missing and request_preparation(store, user=args.admin or settings.user):
            print(
                "the app prepares the demo in the background when it starts (progress in its sidebar): "
                + ", ".join(missing)
            )
    return 0


def _demo_admin(store, name: str, settings) -> None:
    """Create the demo's admin account with a generated password, once, and print how to sign in."""
    import secrets

    from core.team import accounts

    if store.user_count() == 0:
        password = secrets.token_urlsafe(12)
        accounts.add_user(store, name, "admin", password, by=settings.user)
        print(f"created the admin account {name!r}; sign in with the password {password} (shown only this once)")
    elif store.get_user(name):
        print(
            f"sign in as {name!r}; a forgotten password is reset with "
            f"`python -m core user passwd {name} --user {name} --db {settings.db}`"
        )


def _read_password(args, prompt: str) -> str:
    """A new password: from a terminal prompt (asked twice), or the first line of stdin when piped."""
    import getpass

    if args.password_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(prompt)
    if getpass.getpass("again: ") != first:
        raise WinnowError("the two passwords differ; nothing was changed")
    return first


def cmd_user(args, settings) -> int:
    from core.store import Store
    from core.team import accounts

    with Store(settings.db) as store:
        if args.action == "list":
            for u in store.users():
                state = " (disabled)" if u["disabled"] else ""
                print(f"{u['name']}\t{u['role']}{state}\tcreated {u['created_at']:%Y-%m-%d} by {u['created_by']}")
            if not store.user_count():
                print("no accounts: this workspace is open to anyone who can open the file", file=sys.stderr)
            return 0
        if args.action == "add":
            first = store.user_count() == 0
            identity = accounts.add_user(
                store, args.name, args.role, _read_password(args, f"password for {args.name}: "), by=settings.user
            )
            print(
                f"added {identity.name} ({identity.role})" + (": the workspace now requires sign-in" if first else "")
            )
        elif args.action == "passwd":
            accounts.set_password(
                store, args.name, _read_password(args, f"new password for {args.name}: "), by=settings.user
            )
            print(f"changed the password of {args.name}; their sessions ended")
        elif args.action == "role":
            accounts.set_role(store, args.name, args.role_value, by=settings.user)
            print(f"{args.name} is now {args.role_value}")
        else:
            accounts.set_disabled(store, args.name, args.action == "disable", by=settings.user)
            print(f"{args.action}d {args.name}")
    return 0


def cmd_map(args, settings) -> int:
    from core.map.workspace import build_map
    from core.store import Store

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
    from core.labels.workspace import refresh_labels
    from core.store import Store

    with Store(settings.db) as store:
        result = refresh_labels(store, settings=settings.with_(device=args.device), user=settings.user)
    print(
        f"suggested task labels for {result['suggested']} samples ({result['by_evidence']} by an evidence rule, the "
        f"rest by similarity to the {result['source']}; {result['confirmed']} confirmed labels kept)"
    )
    return 0


def cmd_assign(args, settings) -> int:
    from dataclasses import replace

    from core.store import Store
    from core.team import assignments

    names = [n.strip() for n in args.to.split(",") if n.strip()]
    f = replace(_filters(args), selection=args.selection, cluster=args.cluster, task_label=args.label)
    with Store(settings.db) as store:
        result = assignments.distribute(
            store,
            f,
            names,
            overlap=args.overlap,
            limit=args.limit,
            only_unassigned=not args.include_assigned,
            by=settings.user,
        )
    print(
        f"assigned {result['samples']} samples to {', '.join(names)} "
        f"(overlap {args.overlap}, {result['assignments']} assignments)"
    )
    for name, n in result["per_user"].items():
        print(f"  {name}: {n}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Winnow: curate SFT data from the shell.")
    sub = parser.add_subparsers(dest="command", required=True)

    def add_db(p):
        p.add_argument("--db", help="workspace file (DuckDB); default $WINNOW_DB or data/workspace.duckdb")
        p.add_argument(
            "--user",
            help="who is acting: recorded in the audit log and, once the workspace has accounts, the account whose "
            "role applies; default $WINNOW_USER or the OS user",
        )

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
    p.add_argument("--force", action="store_true", help="replace an existing --rejects file")
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
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an existing output file (never the workspace, its .wal, or a file it imported)",
    )
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "export-training",
        help="training-ready export: chat template, token counts, truncation, packing, split, manifest, advice",
        description="Render the samples with a chat template, count their tokens, report truncation and packing "
        "efficiency, and write train/validation files, optional packed Parquet, dataset_info.json and manifest.json "
        "into a folder NAME of the export folder.",
    )
    add_db(p)
    p.add_argument("--name", help="folder to write inside the export folder (replaces an earlier training export)")
    p.add_argument("--export-dir", help="the export folder; default $WINNOW_EXPORT_DIR or data/exports")
    p.add_argument("--selection", help="the members of this saved selection (any status)")
    p.add_argument("--stage", type=int, help="with a staged --selection: the stage to export (1-based)")
    p.add_argument(
        "--status", default="accepted", help="accepted (default), pending, rejected, not_rejected, all, or a comma list"
    )
    p.add_argument("--tag", help="only samples with this tag")
    p.add_argument(
        "--tokenizer", help="HF id or local folder whose chat template renders the samples (default: bundled)"
    )
    p.add_argument(
        "--max-length", type=int, default=2048, help="the trainer's sequence length in tokens (default 2048)"
    )
    p.add_argument(
        "--format",
        default="messages",
        choices=["messages", "prompt-completion"],
        help="TRL's conversational messages (default; LLaMA-Factory reads it too) or prompt/completion",
    )
    p.add_argument("--val-fraction", type=float, default=0.05, help="held out for validation (default 0.05)")
    p.add_argument("--seed", type=int, default=0, help="fixes the train/validation split (default 0)")
    p.add_argument("--pack", action="store_true", help="also write packed Parquet files (input_ids, labels, ...)")
    p.add_argument(
        "--over-length",
        default="truncate",
        choices=["truncate", "drop"],
        help="samples longer than --max-length: cut them (default) or leave them out",
    )
    p.add_argument("--dry-run", action="store_true", help="print the report; write nothing")
    p.set_defaults(func=cmd_export_training)

    p = sub.add_parser("select", help="run a selection recipe and save the result as a named selection")
    add_db(p)
    p.add_argument("--recipe", help="recipe YAML file (see core/selection/recipe.py for the steps)")
    p.add_argument("--preset", choices=["align", "fit"], help="start from a preset instead of a file")
    p.add_argument("--budget", type=int, help="with --preset align: samples to keep (1 to the workspace's size)")
    p.add_argument("--name", required=True, help="name of the selection (replaces one of the same name)")
    p.set_defaults(func=cmd_select)

    p = sub.add_parser("stats", help="counts by status and source")
    add_db(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_stats)
    p = sub.add_parser(
        "backup",
        help="copy the whole workspace into one new DuckDB file (admins)",
        description="Write a consistent copy of the workspace (every table, one transaction's snapshot) into a new "
        "DuckDB file that opens as a workspace. While the app has the workspace open, use its Users page instead.",
    )
    add_db(p)
    p.add_argument("--out", help="the backup file (default backups/NAME-YYYYMMDD-HHMMSS.duckdb beside the workspace)")
    p.add_argument("--force", action="store_true", help="replace an existing --out file (never the workspace)")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("score", help="compute scores (IFD, embeddings, signals, reward) for what has none yet")
    add_db(p)
    p.add_argument(
        "--scorers", default=DEFAULT_SCORERS, help=f"comma list (default {DEFAULT_SCORERS}; also reward, necessity)"
    )
    p.add_argument("--model", help="language model for IFD: HF id or local path (default: bundled SmolLM2-135M)")
    p.add_argument(
        "--embedder",
        help="sentence embedder: use-multilingual (default), e5-small, minilm, or a sentence-transformers HF id or path",
    )
    p.add_argument(
        "--embed-text",
        choices=["instruction", "conversation"],
        help="what to embed: the instruction (as MoDS, default) or the whole conversation",
    )
    p.add_argument("--reward-model", help="sequence-classification reward model (reward and necessity scorers)")
    p.add_argument(
        "--necessity-model", help="necessity scorer (MoDS): the model fine-tuned on the seed set, HF id or local path"
    )
    p.add_argument(
        "--necessity-template",
        choices=["auto", "chat", "alpaca", "plain"],
        help="the prompt format the necessity model was tuned on (default auto: chat template, else alpaca)",
    )
    p.add_argument("--max-new-tokens", type=int, help="necessity scorer: longest generated answer (default 512)")
    p.add_argument("--template", choices=["auto", "chat", "alpaca", "plain"], help="IFD prompt template")
    p.add_argument("--max-length", type=int, help="IFD max tokens, prompt + answer (default 512)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], help="default $WINNOW_DEVICE or auto")
    p.add_argument("--dtype", choices=["auto", "fp32", "bf16", "fp16"], help="default $WINNOW_DTYPE or auto")
    p.add_argument("--batch-tokens", type=int, help="padded tokens per batch (default per scorer; lower = less memory)")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser(
        "demo",
        help="load the demo data into an empty workspace; the app then prepares it (scores, map, labels)",
    )
    add_db(p)
    p.add_argument("--admin", metavar="NAME", help="also create this admin account (generated password, printed once)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "user",
        help="accounts: list, add, passwd, role, disable, enable",
        description="Accounts of a workspace. The first account must be an admin; after that only admins (--user) "
        "add accounts or change others'. Passwords are read from the terminal, or from stdin's first line.",
    )
    actions = p.add_subparsers(dest="action", required=True)
    for action, help_text in (
        ("list", "list the accounts"),
        ("add", "add an account"),
        ("passwd", "set an account's password (ends its sessions)"),
        ("role", "change an account's role"),
        ("disable", "stop an account from signing in (its history stays)"),
        ("enable", "let a disabled account sign in again"),
    ):
        a = actions.add_parser(action, help=help_text)
        if action != "list":
            a.add_argument("name", help="the account")
        if action == "role":
            a.add_argument("role_value", metavar="ROLE", choices=["admin", "lead", "annotator"])
        if action == "add":
            a.add_argument("--role", default="annotator", choices=["admin", "lead", "annotator"])
        if action in ("add", "passwd"):
            a.add_argument("--password-stdin", action="store_true", help="read the password from stdin on a terminal")
        add_db(a)
        a.set_defaults(func=cmd_user)

    p = sub.add_parser("map", help="compute (or reuse) the 2-D map and clusters of the current embeddings")
    add_db(p)
    p.add_argument("--k", type=int, help="number of clusters (default: about sqrt(contents / 2))")
    p.add_argument("--seed", type=int, default=0, help="fixes the projection and the clusters (default 0)")
    p.set_defaults(func=cmd_map)

    p = sub.add_parser("label", help="suggest a task label for every sample (confirmed labels are kept)")
    add_db(p)
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], help="default $WINNOW_DEVICE or auto")
    p.set_defaults(func=cmd_label)

    p = sub.add_parser(
        "assign",
        help="give samples to annotators, each to --overlap of them, round-robin",
        description="Assign the matching samples (not yet assigned to anyone, unless --include-assigned) to the "
        "annotators, each sample to --overlap of them, balancing their loads. Samples with overlap 2 or more are "
        "reviewed as separate annotations and adjudicated by a lead (Team page).",
    )
    add_db(p)
    p.add_argument("--to", required=True, metavar="NAMES", help="comma list of accounts, e.g. ann,bob")
    p.add_argument("--overlap", type=int, default=1, help="annotators per sample (default 1)")
    p.add_argument(
        "--status", default="pending", help="pending (default), accepted, rejected, not_rejected, all, or a comma list"
    )
    p.add_argument("--tag", help="only samples with this tag")
    p.add_argument("--selection", help="only the members of this saved selection")
    p.add_argument("--cluster", type=int, help="only samples in this cluster of the current map")
    p.add_argument("--label", help="only samples with this task label")
    p.add_argument("--limit", type=int, help="at most this many samples, the first in import order")
    p.add_argument("--include-assigned", action="store_true", help="also samples that already have an assignee")
    p.set_defaults(func=cmd_assign)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings().with_(
            db=Path(args.db) if getattr(args, "db", None) else None, user=getattr(args, "user", None)
        )
        # WINNOW_ALLOW_MODELS limits what the app's users make the server load; the CLI acts as whoever runs it.
        settings = settings.with_(allow_models="any")
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
