"""The CLI's evalset command: register test sets in the workspace (never as samples) for decontamination, list
and remove them (``core.decontamination``)."""

from __future__ import annotations

import json
from pathlib import Path

from core.errors import WinnowError


def add_evalset_parser(sub, add_db) -> None:
    p = sub.add_parser(
        "evalset",
        help="eval sets (test sets) the samples are checked against: add, list, remove",
        description="Register a test set in the workspace, never as samples, then check the samples against it with "
        "python -m core score --scorers decontam. The selection step drop_contaminated drops what it finds.",
    )
    actions = p.add_subparsers(dest="action", required=True)
    a = actions.add_parser("add", help="read a file (any format Winnow imports) and register its items")
    a.add_argument("file", metavar="FILE")
    a.add_argument("--name", help="the eval set's name (default: the file's name without its suffix)")
    a.add_argument(
        "--format", default="auto", choices=["auto", "alpaca", "sharegpt", "openai", "prompt-completion", "mapped"]
    )
    a.add_argument("--map", help="field mapping, e.g. prompt=question,response=answer")
    a.add_argument("--replace", action="store_true", help="replace an eval set of that name")
    add_db(a)
    a.set_defaults(func=cmd_evalset)
    a = actions.add_parser("list", help="the registered eval sets, and what decontamination found")
    a.add_argument("--json", action="store_true", help="print them as JSON")
    add_db(a)
    a.set_defaults(func=cmd_evalset)
    a = actions.add_parser("remove", help="remove an eval set")
    a.add_argument("name", metavar="NAME")
    add_db(a)
    a.set_defaults(func=cmd_evalset)


def cmd_evalset(args, settings) -> int:
    from core.decontamination.workspace import add_eval_set_file
    from core.store import Store

    if args.action != "add" and not Path(settings.db).exists():
        raise WinnowError(f"no workspace at {settings.db}")
    with Store(settings.db) as store:
        if args.action == "add":
            if not Path(args.file).is_file():
                raise WinnowError(f"no eval file {args.file}")
            s = add_eval_set_file(
                store,
                args.file,
                name=args.name,
                fmt=args.format,
                mapping=args.map,
                user=settings.user,
                replace=args.replace,
            )
            print(
                f"eval set {s['name']!r}: {s['items']} items from {s['file_name']} ({s['format']}); check the samples "
                "with: python -m core score --scorers decontam"
            )
            return 0
        if args.action == "remove":
            if not store.delete_eval_set(args.name, user=settings.user):
                raise WinnowError(f"no eval set {args.name!r} in this workspace")
            print(f"removed eval set {args.name!r}")
            return 0
        sets = store.eval_sets()
        found = store.contamination(limit=0)
    by_set = {r["eval_set"]: r for r in (found or {}).get("by_set", [])}
    checked = (found or {}).get("eval_sets", {})
    for s in sets:
        if checked.get(s["name"]) == s["sha256"]:
            s["contaminated_samples"] = by_set.get(s["name"], {}).get("samples", 0)
        else:
            s["contaminated_samples"] = None  # not checked since it was added or replaced
    if args.json:
        print(json.dumps(sets, ensure_ascii=False, indent=2, default=str))
        return 0
    if not sets:
        print("no eval sets; add one with: python -m core evalset add FILE --name NAME")
    for s in sets:
        found_text = (
            "not checked yet (python -m core score --scorers decontam)"
            if s["contaminated_samples"] is None
            else f"{s['contaminated_samples']} samples contaminated"
        )
        print(
            f"{s['name']}: {s['items']} items from {s['file_name']} ({s['format']}), added by {s['added_by']}; {found_text}"
        )
    return 0
