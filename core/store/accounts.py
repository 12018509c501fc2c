"""Accounts, what they may do, and sign-in sessions: the ``users`` and ``sessions`` tables (and the ``meta`` row
``first_admin``). ``authorize`` is the one check every write makes inside its own transaction (see
``core.team.roles`` for the roles and their actions; ``core.team.accounts`` validates and hashes)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta

import duckdb

from core.errors import NotFound, PermissionDenied, WinnowError
from core.store.base import _now
from core.team.roles import ACTION_WORDS, can

SESSION_SLIDE = timedelta(minutes=1)  # a used session's expiry moves forward in steps of at least this much


class Accounts:
    """Accounts and their roles, the permission check, and sign-in sessions."""

    def user_count(self) -> int:
        return self.cursor().execute("SELECT count(*) FROM users").fetchall()[0][0]

    def get_user(self, name: str, *, cur: duckdb.DuckDBPyConnection | None = None) -> dict | None:
        """An account with its password hash (for sign-in), or None. ``cur``: read inside that transaction."""
        cur = cur or self.cursor()
        rows = cur.execute(
            "SELECT name, role, password_hash, disabled, created_at, created_by FROM users WHERE name = ?", [name]
        ).fetchall()
        cols = [d[0] for d in cur.description]
        return dict(zip(cols, rows[0])) if rows else None

    def users(self) -> list[dict]:
        """Every account (no password hashes), by name."""
        cur = self.cursor()
        rows = cur.execute("SELECT name, role, disabled, created_at, created_by FROM users ORDER BY name").fetchall()
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in rows]

    def role_of(self, user: str, *, cur: duckdb.DuckDBPyConnection | None = None) -> str | None:
        """The role ``user`` acts with: the account's, "admin" for anyone in an open workspace (no accounts), and
        None for a name that is no (enabled) account of a workspace that has accounts. ``cur``: read inside that
        transaction."""
        count, role = (
            (cur or self.cursor())
            .execute(
                "SELECT (SELECT count(*) FROM users), (SELECT role FROM users WHERE name = ? AND NOT disabled)",
                [user],
            )
            .fetchall()[0]
        )
        return "admin" if count == 0 else role

    def authorize(
        self,
        user: str,
        action: str,
        sample_ids: Sequence[str] | None = None,
        *,
        annotating: bool = False,
        cur: duckdb.DuckDBPyConnection | None = None,
        pin: bool = True,
    ) -> str:
        """Check that ``user`` may do ``action`` (see ``core.team.roles.ROLE_ACTIONS``); return their role.

        An annotator may "review" only the samples assigned to them: pass the samples the call touches. A sample
        assigned to several annotators they may only annotate (``annotating``, see ``annotate``): changing it
        directly would overwrite the others' reviews. Nor may they change a sample someone else settled (no longer
        pending, last changed by another account: a lead's accept, reject or edit stands).

        Args:
            cur: the cursor of the write transaction this check guards. Every write checks inside its own
                transaction, so the check reads what the write sees; with ``pin`` the account's role is also held
                until the commit (see ``_transaction``), so a role change or disabling committed meanwhile makes
                the write retry and be refused. Imports pass ``pin=False``: their transaction is long and would
                conflict with the same person's other work.

        Raises:
            PermissionDenied: naming the user, their role and what they may not do.
        """
        read = cur if cur is not None else self.cursor()
        role = self.role_of(user, cur=read)
        words = ACTION_WORDS[action]
        if role is None:
            raise PermissionDenied(f"{user!r} is not an enabled account of this workspace, so may not {words}")
        if not can(role, action):
            article = "an" if role[0] in "aeiou" else "a"
            raise PermissionDenied(f"{user} is {article} {role} and may not {words}")
        if role == "annotator" and sample_ids is not None:
            ids = sorted(set(sample_ids))
            mine = read.execute(
                "SELECT count(DISTINCT sample_id) FROM assignments "
                "WHERE user_name = ? AND sample_id IN (SELECT unnest(?::VARCHAR[]))",
                [user, ids],
            )
            if mine.fetchall()[0][0] != len(ids):
                raise PermissionDenied(f"{user} is an annotator and may only review samples assigned to them")
            if not annotating:
                shared = read.execute(
                    "SELECT sample_id FROM assignments WHERE sample_id IN (SELECT unnest(?::VARCHAR[])) "
                    "GROUP BY 1 HAVING count(*) >= 2 ORDER BY 1 LIMIT 1",
                    [ids],
                ).fetchall()
                if shared:
                    raise PermissionDenied(
                        f"{user} is an annotator and sample {shared[0][0]} is assigned to several annotators: "
                        "review it on the Review page, where your review is kept as your annotation until a lead "
                        "adjudicates"
                    )
                settled = read.execute(
                    "SELECT id, status, updated_by FROM samples WHERE id IN (SELECT unnest(?::VARCHAR[])) "
                    "AND status <> 'pending' AND updated_by <> ? ORDER BY rid LIMIT 1",
                    [ids, user],
                ).fetchall()
                if settled:
                    sid, status, by = settled[0]
                    raise PermissionDenied(
                        f"{user} is an annotator and sample {sid} was settled by {by} ({status}) after their review: "
                        "it is no longer theirs to change; a lead can set it back to pending to have it reviewed again"
                    )
        if cur is not None and pin and role is not None:
            self._pinned.setdefault(id(cur), set()).add(user)
        return role

    def insert_user(self, name: str, role: str, password_hash: str, *, by: str) -> None:
        """Add an account (``core.team.accounts.add_user`` validates and hashes). Anyone may add the first; then admins.

        Raises:
            WinnowError: an account with this name exists.
        """

        saw_no_accounts = []
        someone_else_first = (
            "someone else created this workspace's first admin a moment ago: sign in with that account, or ask "
            "its admin for one"
        )

        def body(cur):
            if cur.execute("SELECT count(*) FROM users").fetchall()[0][0]:
                if saw_no_accounts:
                    raise PermissionDenied(someone_else_first)
                self.authorize(by, "users", cur=cur)
            else:
                # Two people creating a new workspace's first admin at once (with different names) would both see
                # no accounts, and DuckDB does not conflict on different keys. Both write this one row instead:
                # one of them fails, and its retry (see _retrying) finds the other's admin.
                saw_no_accounts.append(True)
                cur.execute("INSERT OR REPLACE INTO meta VALUES ('first_admin', ?)", [name])
            if cur.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchall():
                raise WinnowError(f"an account named {name!r} already exists; choose another name")
            now = _now()
            cur.execute("INSERT INTO users VALUES (?, ?, ?, false, ?, ?)", [name, role, password_hash, now, by])
            cur.execute(
                "INSERT INTO events (sample_id, ts, user_name, action, field, before, after, version) "
                "VALUES (NULL, ?, ?, 'user', 'add', NULL, ?, NULL)",
                [now, by, json.dumps({"name": name, "role": role})],
            )

        try:
            self._retrying(body)
        except duckdb.ConstraintException as error:
            # DuckDB raises this before commit when a writer that started later committed the same key first
            if "duplicate key" not in str(error).lower():
                raise
            if saw_no_accounts:
                raise PermissionDenied(someone_else_first) from None
            raise WinnowError(f"an account named {name!r} already exists; choose another name") from None

    def update_user(self, name: str, *, by: str, **fields) -> None:
        """Change an account's role, password_hash or disabled flag; end its sessions. Only admins change others'
        accounts, and a workspace always keeps one enabled admin.

        Raises:
            NotFound: no such account. PermissionDenied: not allowed, or it would leave no enabled admin.
        """
        allowed = {"role", "password_hash", "disabled"}
        if not fields or set(fields) - allowed:
            raise ValueError(f"update_user takes {sorted(allowed)}, got {sorted(fields)}")

        def body(cur):
            if set(fields) != {"password_hash"} or by != name:
                self.authorize(by, "users", cur=cur)
            old = self.get_user(name, cur=cur)
            if old is None:
                raise NotFound(f"no account named {name!r}")
            sets = ", ".join(f"{k} = ?" for k in fields)
            cur.execute(f"UPDATE users SET {sets} WHERE name = ?", [*fields.values(), name])
            admins = cur.execute("SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled").fetchall()[0][0]
            if admins == 0:
                raise PermissionDenied(f"{name} is the last enabled admin: make another admin first")
            cur.execute("DELETE FROM sessions WHERE user_name = ?", [name])
            shown = {k: ("(changed)" if k == "password_hash" else v) for k, v in fields.items()}
            cur.execute(
                "INSERT INTO events (sample_id, ts, user_name, action, field, before, after, version) "
                "VALUES (NULL, ?, ?, 'user', 'update', ?, ?, NULL)",
                [
                    _now(),
                    by,
                    json.dumps({"name": name, **{k: old[k] for k in fields if k != "password_hash"}}),
                    json.dumps({"name": name, **shown}, default=str),
                ],
            )

        self._retrying(body)

    def create_session(self, token_hash: str, user: str, ttl) -> None:
        now = _now()
        self._retrying(
            lambda cur: (
                cur.execute("DELETE FROM sessions WHERE expires_at < ?", [now]),
                cur.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)", [token_hash, user, now, now + ttl]),
            )
        )

    def use_session(self, token_hash: str, ttl) -> dict | None:
        """The account behind a live session ({name, role}), else None. Its expiry is set to now + ``ttl`` when it
        is more than ``SESSION_SLIDE`` short of that, or beyond it."""
        now = _now()
        rows = (
            self.cursor()
            .execute(
                "SELECT u.name, u.role, s.expires_at FROM sessions s JOIN users u ON u.name = s.user_name "
                "WHERE s.token_hash = ? AND s.expires_at >= ? AND NOT u.disabled",
                [token_hash, now],
            )
            .fetchall()
        )
        if not rows:
            return None
        name, role, expires_at = rows[0]
        if not now + ttl - SESSION_SLIDE <= expires_at <= now + ttl:
            # Every page run resumes its session: writing each time would be a write transaction per click, which
            # waits on the jobs' merges. So the expiry slides in steps (a session lasts at least ttl - one step),
            # and a shorter term (the setting was lowered) applies at once.
            self._retrying(
                lambda cur: cur.execute(
                    "UPDATE sessions SET expires_at = ? WHERE token_hash = ? AND expires_at >= ?",
                    [now + ttl, token_hash, now],
                )
            )
        return {"name": name, "role": role}

    def end_session(self, token_hash: str) -> None:
        self._retrying(lambda cur: cur.execute("DELETE FROM sessions WHERE token_hash = ?", [token_hash]))
