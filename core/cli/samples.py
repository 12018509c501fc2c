"""The CLI's commands on a workspace's samples: import, export, export-training, select, stats, backup, demo."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from core.errors import WinnowError
from core.progress import terminal_progress


def cmd_import(args, settings) -> int:
    from core.actions import import_with_signals
    from core.store import Store

    with Store(settings.db) as store:
        for path in args.files:
            with terminal_progress(f"import {Path(path).name}", "") as progress:
                result = import_with_signals(  # the signals once, after the last file's line
                    store,
                    path,
                    user=settings.user,
                    progress=progress,
                    signals=False,
                    fmt=args.format,
                    mapping=args.map,
                    on_error=args.on_error,
                    rejects_path=args.rejects,
                    allow_reimport=args.allow_reimport,
                    replace_rejects=args.force,
                )
            line = (
                f"{result['path']}: imported {result['imported']} records as {result['format']}"
                f" ({result['duplicates']} exact duplicates flagged)"
            )
            if result["rejected"]:
                line += f"; skipped {result['rejected']} bad records, reasons in {result['rejects_path']}"
                if result["earlier_rejects"]:
                    line += f" (a new name: {result['earlier_rejects']} holds an earlier import's, left as it was)"
            print(line)
        if not args.no_signals:
            _signals(store)
    return 0


def _signals(store) -> None:
    """Compute the cheap heuristic signals for what was just imported (what is already scored is skipped)."""
    from core.importing.workspace import import_signals

    with terminal_progress("signals", "sample") as progress:
        report = import_signals(store, progress=progress)
    print(report)


def filter_from_args(args):
    """The ``SampleFilter`` of a command's ``--status`` (a name, a comma list or "all") and ``--tag``."""
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
    from core.actions import export
    from core.store import Store

    if args.selection:
        return _export_selection(args, settings)
    with Store(settings.db) as store, terminal_progress(f"export {Path(args.out).name}", "rec") as progress:
        report = export(
            store,
            args.out,
            fmt=args.format,
            user=settings.user,
            filters=filter_from_args(args),
            with_scores=args.with_scores,
            overwrite=args.force,
            progress=progress,
            turns=args.turns,
        )
    print(f"wrote {report['records']} records to {report['path']} (manifest {report['manifest_path']})")
    if skipped := report["skipped"]:
        print(
            f"skipped {len(skipped)} samples that {args.format} cannot hold "
            f"(first: {skipped[0]['id']}: {skipped[0]['reason']}); the manifest lists them all",
            file=sys.stderr,
        )
    return 0


def _export_selection(args, settings) -> int:
    """``export --selection NAME``: the selection's members, whatever their status; one file per stage if staged."""
    from core.selection.workspace import export_selection
    from core.store import Store

    if args.status != "accepted" or args.tag:
        raise WinnowError("--selection exports the selection as it is: drop --status and --tag (filter in the recipe)")
    with Store(settings.db) as store, terminal_progress(f"export {Path(args.out).name}", "rec") as progress:
        reports = export_selection(
            store,
            args.out,
            name=args.selection,
            fmt=args.format,
            user=settings.user,
            with_scores=args.with_scores,
            turns=args.turns,
            progress=progress,
            overwrite=args.force,
        )
    for report in reports:
        print(f"wrote {report.records} records to {report.path} (manifest {report.manifest_path})")
    return 0


def cmd_export_training(args, settings) -> int:
    """``export-training``: render, count, split, pack and write training files (or only report, ``--dry-run``)."""
    from core.actions import training_files
    from core.store import SampleFilter, Store
    from core.training.pipeline import TrainingOptions, summary_lines

    if args.selection:
        if args.status != "accepted" or args.tag:
            raise WinnowError(
                "--selection takes the selection as it is: drop --status and --tag (filter in the recipe)"
            )
        filters = SampleFilter(selection=args.selection, stage=args.stage)
    elif args.stage is not None:
        raise WinnowError("--stage picks a stage of a staged selection: give --selection NAME too")
    else:
        filters = filter_from_args(args)
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
        turns=args.turns,
    )
    export_dir = Path(args.export_dir) if args.export_dir else settings.export_dir
    with Store(settings.db) as store, terminal_progress("tokenize", "sample") as progress:
        report = training_files(
            store,
            export_dir=export_dir,
            folder=None if args.dry_run else args.name,
            filters=filters,
            options=options,
            user=settings.user,
            progress=progress,
        )
    for line in summary_lines(report["manifest"]):
        print(line)
    if report["folder"]:
        print(f"wrote {report['folder']}: {', '.join(Path(f).name for f in report['files'].values())}")
    return 0


def cmd_select(args, settings) -> int:
    from core.actions import select
    from core.selection.recipe import parse_recipe, read_recipe_file
    from core.selection.workspace import parse_budget, workspace_preset
    from core.store import Store

    if bool(args.recipe) == bool(args.preset):
        raise WinnowError("give either --recipe FILE or --preset align|fit|cascade")
    if args.preset == "cascade":
        return _select_cascade(args, settings)
    if args.recipe:
        recipe = parse_recipe(read_recipe_file(args.recipe))
    with Store(settings.db) as store:
        if args.preset and args.budget is not None:  # from 1 to the workspace's size, as on the Select page
            recipe = workspace_preset(store, args.preset, parse_budget(str(args.budget), store.count()))
        elif args.preset:
            recipe = workspace_preset(store, args.preset)
        with terminal_progress("select", "step") as progress:
            result = select(store, recipe, name=args.name, user=settings.user, progress=progress)
    print(
        f"selection {result['name']!r}: {result['samples']} of {result['total']} samples (recipe {result['recipe_hash'][:12]})"
    )
    for note in result["notes"]:
        print(f"  note: {note}")
    print(f"  {'step':<24} {'in':>8} {'out':>8}")
    for entry in result["log"]:
        print(f"  {str(entry['step']) + '. ' + entry['name']:<24} {entry['in']:>8} {entry['out']:>8}")
        for stage in entry.get("stages", []):
            print(f"  {'   stage ' + str(stage['stage']):<24} {'':>8} {stage['out']:>8}  {stage['name']}")
    return 0


def _select_cascade(args, settings) -> int:
    from core.cli.models import engine_from_args
    from core.selection.cascade import run_cascade
    from core.store import Store

    if args.budget is not None:
        raise WinnowError("--preset cascade keeps a share at each IFD stage (--top-percent); it takes no --budget")
    engine = engine_from_args(args)
    settings = settings.with_(device=args.device, dtype=args.dtype)
    with Store(settings.db) as store, terminal_progress("cascade", "sample") as progress:
        result = run_cascade(
            store,
            name=args.name,
            user=settings.user,
            settings=settings,
            small_model=args.model or "",
            large_model=args.large_model,
            top_percent=args.top_percent,
            large_percent=args.large_top_percent,
            engine=engine,
            progress=progress,
        )
    print(f"selection {result.name!r}: {len(result.ids)} samples by the cascade ({engine})")
    for number, stage in enumerate(result.stages, 1):
        print(f"  {number}. {stage}")
    print(f"  model-hours saved against scoring every content: ~{result.saved_hours:.3g}")
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
