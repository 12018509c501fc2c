"""The headless commands: ``python -m core COMMAND ...``.

Exit code 0 on success; on a user's mistake, one line on stderr and a non-zero exit code, never a traceback.
Anything that is not a ``WinnowError`` is a bug and surfaces with its traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.errors import WinnowError
from core.settings import load_settings

EXIT_USER_ERROR = 2


def _progress_bar(desc: str, unit: str):
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit=unit, dynamic_ncols=True, disable=None)

    def update(done: int, total: int | None) -> None:
        if total is not None and bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()

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
    return 0


def _filters(args):
    from core.store import SampleFilter

    status = None if args.status == "all" else [s.strip() for s in args.status.split(",")]
    if status == ["not_rejected"]:
        status = "not_rejected"
    return SampleFilter(status=status, tag=args.tag)


def cmd_export(args, settings) -> int:
    from core.export import export_samples
    from core.store import Store

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


def cmd_demo(args, settings) -> int:
    from core.demo import load_demo
    from core.store import Store

    with Store(settings.db) as store:
        reports = load_demo(store, user=settings.user)
        total = store.count()
    if not reports:
        print(f"workspace {settings.db} already has {total} samples; demo data not loaded again")
    for r in reports:
        print(f"{r.path}: imported {r.imported} records as {r.format} ({r.duplicates} exact duplicates flagged)")
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
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("stats", help="counts by status and source")
    add_db(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_stats)
    p = sub.add_parser("demo", help="load the demo data into an empty workspace")
    add_db(p)
    p.set_defaults(func=cmd_demo)
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
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
