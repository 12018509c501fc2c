"""Roles and the actions each may take: the one list every check reads. Imports nothing from core.

The Store checks an action before each write (``Store.authorize``); the pages hide what a role may not do with
``can``; a background job needs the action ``JOB_ACTIONS`` names for its kind.
"""

from __future__ import annotations

ROLES = ("admin", "lead", "annotator")

# action -> what it lets one do, in the words a refusal uses ("{user} is a lead and may not {words}").
# "review" on samples is also limited, for annotators, to their assignments (see Store.authorize).
ACTION_WORDS: dict[str, str] = {
    "review": "review or edit samples",
    "import": "import files",
    "score": "run scorers",
    "map": "compute the map",
    "label": "refresh suggested labels",
    "taxonomy": "edit the label taxonomy",
    "select": "run or save selections",
    "plan": "save mixture plans",
    "evaluate": "run evaluations (fine-tuning)",
    "export": "export samples",
    "assign": "assign samples",
    "adjudicate": "adjudicate reviews",
    "delete": "delete data",
    "settings": "change workspace settings",
    "users": "manage accounts",
    "backup": "back up the workspace",
}
ACTIONS = tuple(ACTION_WORDS)

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "admin": frozenset(ACTIONS),
    "lead": frozenset(ACTIONS) - {"users", "backup"},
    "annotator": frozenset({"review"}),
}

# Which action a background job of each kind needs (jobs.start_job -> Store.create_job).
JOB_ACTIONS = {"import": "import", "score": "score", "map": "map", "label": "label", "select": "select"}
JOB_ACTIONS |= {
    "export": "export",
    "assign": "assign",
    "backup": "backup",
    "evaluate": "evaluate",
    "synthesize": "import",
}


def can(role: str | None, action: str) -> bool:
    """Whether ``role`` may do ``action`` at all (annotators' "review" is further limited to their assignments)."""
    if action not in ACTION_WORDS:
        raise ValueError(f"unknown action {action!r}")
    return role is not None and action in ROLE_ACTIONS.get(role, frozenset())
