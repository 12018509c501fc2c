"""The CLI's commands for the team: user (accounts) and assign."""

from __future__ import annotations

import sys

from core.cli.samples import filter_from_args
from core.errors import WinnowError


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


def cmd_assign(args, settings) -> int:
    from dataclasses import replace

    from core.store import Store
    from core.team import assignments

    names = [n.strip() for n in args.to.split(",") if n.strip()]
    f = replace(filter_from_args(args), selection=args.selection, cluster=args.cluster, task_label=args.label)
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
