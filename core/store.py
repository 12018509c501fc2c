"""The workspace: one DuckDB file. The only module with SQL.

A ``Store`` owns the single read-write connection of its process (DuckDB allows one writer process). Every call
opens its own cursor, so the Streamlit script threads and background jobs can share one ``Store``. Transactions
that collide (DuckDB's optimistic concurrency) are retried a few times before the conflict reaches the caller.

Tables:
    meta(key, value)                     schema_version and workspace facts
    sources(...)                         one row per imported file, with its sha256 and format
    samples(...)                         one row per sample: the original record, edited messages, curation state
    users, sessions, assignments         accounts and their roles, sign-in sessions, who reviews what (core/auth.py)
    annotations(sample_id, user_name, ...)   each annotator's decision on a sample several review (core/team.py)

A sample's ``messages`` column is NULL until someone edits it: the messages of an unedited sample are its original
record (``raw``) converted from its format, so imports write each record once (the largest cost of importing 1M
records is DuckDB writing bytes). ``messages_of`` is the one place that resolves them.
    events(...)                          the audit log: who changed which field of which sample, before and after
    jobs(...)                            background jobs (scoring, projection) and their progress
    scorers(name, key, ...)              which scorer key is the current one for each scorer
    score_<name>(content_hash, scorer_key, <columns>)   one table per scorer, keyed by content

Every value reaches SQL as a parameter. Identifiers that cannot be parameters (score table and column names) come
from the scorer registry and are checked by ``_ident``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from core.errors import ConflictError, NotFound, PermissionDenied, WinnowError, WorkspaceLocked
from core.pause_points import pause_point
from core.team.roles import ACTION_WORDS, JOB_ACTIONS, can

log = logging.getLogger("winnow")

SCHEMA_VERSION = 5
STATUSES = ("pending", "accepted", "rejected")

# Columns a page may show. The embedding and the raw record are never part of a page query.
PAGE_COLUMNS = (
    "rid",
    "id",
    "status",
    "prompt",
    "answer",
    "n_turns",
    "tags",
    "note",
    "version",
    "dup_of",
    "source_index",
    "updated_at",
    "updated_by",
)

_MIGRATIONS: list[list[str]] = [
    # 0 -> 1: the first schema.
    [
        "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
        "CREATE SEQUENCE IF NOT EXISTS source_seq START 1",
        """CREATE TABLE IF NOT EXISTS sources (
            source_id INTEGER PRIMARY KEY DEFAULT nextval('source_seq'),
            name VARCHAR NOT NULL,
            path VARCHAR,
            sha256 VARCHAR NOT NULL,
            format VARCHAR NOT NULL,
            mapping VARCHAR,
            records BIGINT NOT NULL,
            rejected BIGINT NOT NULL DEFAULT 0,
            imported_at TIMESTAMP NOT NULL,
            imported_by VARCHAR NOT NULL
        )""",
        "CREATE SEQUENCE IF NOT EXISTS sample_seq START 1",
        """CREATE TABLE IF NOT EXISTS samples (
            rid BIGINT NOT NULL,
            id VARCHAR NOT NULL,
            source_id INTEGER NOT NULL,
            source_index BIGINT NOT NULL,
            format VARCHAR NOT NULL,
            raw VARCHAR NOT NULL,
            messages VARCHAR,
            tools VARCHAR,
            prompt VARCHAR NOT NULL,
            answer VARCHAR NOT NULL,
            n_turns INTEGER NOT NULL,
            content_hash VARCHAR NOT NULL,
            dup_of VARCHAR,
            status VARCHAR NOT NULL DEFAULT 'pending',
            tags VARCHAR[] NOT NULL DEFAULT [],
            note VARCHAR NOT NULL DEFAULT '',
            version INTEGER NOT NULL DEFAULT 1,
            created_at TIMESTAMP NOT NULL,
            updated_at TIMESTAMP NOT NULL,
            updated_by VARCHAR NOT NULL
        )""",
        "CREATE SEQUENCE IF NOT EXISTS event_seq START 1",
        """CREATE TABLE IF NOT EXISTS events (
            event_id BIGINT PRIMARY KEY DEFAULT nextval('event_seq'),
            sample_id VARCHAR,
            ts TIMESTAMP NOT NULL,
            user_name VARCHAR NOT NULL,
            action VARCHAR NOT NULL,
            field VARCHAR,
            before VARCHAR,
            after VARCHAR,
            version INTEGER
        )""",
        "CREATE SEQUENCE IF NOT EXISTS job_seq START 1",
        """CREATE TABLE IF NOT EXISTS jobs (
            job_id BIGINT PRIMARY KEY DEFAULT nextval('job_seq'),
            kind VARCHAR NOT NULL,
            params VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            done BIGINT NOT NULL DEFAULT 0,
            total BIGINT NOT NULL DEFAULT 0,
            message VARCHAR NOT NULL DEFAULT '',
            error VARCHAR,
            cancel_requested BOOLEAN NOT NULL DEFAULT false,
            created_by VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            updated_at TIMESTAMP NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS scorers (
            name VARCHAR PRIMARY KEY,
            key VARCHAR NOT NULL,
            columns VARCHAR NOT NULL,
            params VARCHAR NOT NULL,
            updated_at TIMESTAMP NOT NULL
        )""",
    ],
    # 1 -> 2: the map, task labels, mixture plans and selections.
    [
        # One map per embedding set: a 2-D projection and clusters of each content.
        """CREATE TABLE IF NOT EXISTS maps (
            map_key VARCHAR PRIMARY KEY,
            embedding_key VARCHAR NOT NULL,
            k INTEGER NOT NULL,
            seed INTEGER NOT NULL,
            contents BIGINT NOT NULL,
            cluster_names VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS map_points (
            map_key VARCHAR NOT NULL,
            content_hash VARCHAR NOT NULL,
            x FLOAT NOT NULL,
            y FLOAT NOT NULL,
            cluster INTEGER NOT NULL
        )""",
        # A sample's task label: the machine's suggestion (with its confidence) or a person's confirmation, which is
        # curation state and goes through update_sample (versioned and audited).
        "ALTER TABLE samples ADD COLUMN IF NOT EXISTS task_label VARCHAR",
        "ALTER TABLE samples ADD COLUMN IF NOT EXISTS task_label_confidence DOUBLE",
        "ALTER TABLE samples ADD COLUMN IF NOT EXISTS task_label_source VARCHAR",
        """CREATE TABLE IF NOT EXISTS plans (
            name VARCHAR PRIMARY KEY,
            plan VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS selections (
            name VARCHAR PRIMARY KEY,
            recipe VARCHAR NOT NULL,
            recipe_hash VARCHAR NOT NULL,
            log VARCHAR NOT NULL,
            samples BIGINT NOT NULL,
            stages INTEGER NOT NULL DEFAULT 1,
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS selection_members (
            selection VARCHAR NOT NULL,
            sample_id VARCHAR NOT NULL,
            position BIGINT NOT NULL,
            stage INTEGER NOT NULL DEFAULT 1
        )""",
    ],
    # 2 -> 3: accounts, sign-in sessions and assignments (see core/auth.py).
    [
        """CREATE TABLE IF NOT EXISTS users (
            name VARCHAR PRIMARY KEY,
            role VARCHAR NOT NULL,
            password_hash VARCHAR NOT NULL,
            disabled BOOLEAN NOT NULL DEFAULT false,
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR NOT NULL
        )""",
        # Only the SHA-256 of a session token is stored: a copy of the file does not hand out live sessions.
        """CREATE TABLE IF NOT EXISTS sessions (
            token_hash VARCHAR PRIMARY KEY,
            user_name VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            expires_at TIMESTAMP NOT NULL
        )""",
        # Which annotator reviews which sample; several rows per sample when a lead asks for overlap.
        """CREATE TABLE IF NOT EXISTS assignments (
            sample_id VARCHAR NOT NULL,
            user_name VARCHAR NOT NULL,
            assigned_at TIMESTAMP NOT NULL,
            assigned_by VARCHAR NOT NULL,
            PRIMARY KEY (sample_id, user_name)
        )""",
    ],
    # 3 -> 4: annotations, one per annotator of a sample several annotators review (see core/team.py). The sample
    # itself stays as it was until a lead adjudicates; ``messages`` is NULL when the annotator left them unedited.
    [
        """CREATE TABLE IF NOT EXISTS annotations (
            sample_id VARCHAR NOT NULL,
            user_name VARCHAR NOT NULL,
            status VARCHAR,
            task_label VARCHAR,
            messages VARCHAR,
            tags VARCHAR[] NOT NULL DEFAULT [],
            note VARCHAR NOT NULL DEFAULT '',
            ts TIMESTAMP NOT NULL,
            based_on INTEGER NOT NULL,
            PRIMARY KEY (sample_id, user_name)
        )""",
    ],
    # 4 -> 5: why a task label was suggested (the evidence a rule saw, or the example it is nearest to).
    ["ALTER TABLE samples ADD COLUMN IF NOT EXISTS task_label_reason VARCHAR"],
]

TEXT_WINDOW = 65_536  # rids in the first window of a text search's page scan; each next window is twice as wide

# Used with fullmatch: ``$`` alone also matches before a final newline, which would let "name\n" through.
_IDENT = re.compile(r"[a-z][a-z0-9_]{0,62}")
_TYPE = re.compile(r"BOOLEAN|INTEGER|BIGINT|DOUBLE|FLOAT|VARCHAR|FLOAT\[\d+\]|DOUBLE\[\d+\]|VARCHAR\[\]")
_MAP_KEY = re.compile(r"[0-9a-f]{8,64}")

MAPS_KEPT = 3  # maps stored at once (each holds one row per content); the oldest go first
UNLABELED = "(unlabeled)"  # a task_label filter value and a balance bucket: samples with no label yet
UNKNOWN_LANGUAGE = "(unknown)"  # a language filter value and a balance bucket: no language detected (or not scored)
BALANCE_DIMENSIONS = ("task_label", "language", "source", "cluster", "answer_length", "ifd", "status")
# (upper bound, bucket) in answer characters; the last bound is unused (everything above the one before).
ANSWER_BUCKETS = ((100, "a <100"), (500, "b 100-499"), (2000, "c 500-1999"), (8000, "d 2000-7999"), (0, "e 8000+"))
# IFD = loss(answer | instruction) / loss(answer): low = the instruction makes the answer easy to predict (easy),
# near 1 = hard, above 1 = the instruction does not help at all (often a bad pair).
IFD_BUCKETS = ((0.4, "a easy <0.4"), (0.7, "b 0.4-0.7"), (0.9, "c 0.7-0.9"), (1.0, "d hard 0.9-1"), (0, "e ≥1 no help"))


def _map_key(key: str) -> str:
    """Map keys are hex digests written into SQL text (in joins), so check them like identifiers."""
    if not _MAP_KEY.fullmatch(str(key)):
        raise ValueError(f"not a map key: {key!r}")
    return key


def _ident(name: str) -> str:
    if not _IDENT.fullmatch(name):
        raise ValueError(f"not a safe SQL identifier: {name!r}")
    return name


def _one(rows: list) -> tuple | None:
    """The first row of a fully fetched result, or None. (DuckDB 2 wants results consumed before the next call.)"""
    return rows[0] if rows else None


def messages_of(messages: str | None, raw: str | dict, fmt: str, mapping: str | dict | None) -> list[dict]:
    """A sample's messages: the edited ones when there are, else its original record converted from its format."""
    if messages is not None:
        return json.loads(messages)
    from core.formats import to_canonical

    raw = json.loads(raw) if isinstance(raw, str) else raw
    mapping = json.loads(mapping) if isinstance(mapping, str) else mapping
    return to_canonical(raw, fmt, mapping).messages


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class SampleFilter:
    """Which samples a page, a queue or an export looks at. Empty fields do not filter.

    Attributes:
        status: one status or several.
        source_ids: samples from these sources only.
        tag: samples carrying this tag.
        text: case-insensitive substring of the prompt or the answer.
        duplicates: True = only samples flagged as exact duplicates, False = hide them.
        score_ranges: {column: (low, high)} over current score columns; None bounds are open.
        ids: exactly these samples.
        task_label: samples with this task label (suggested or confirmed); ``UNLABELED`` for none.
        language: samples whose prompt is in this language (the heuristics scorer's h_prompt_lang, e.g. "en");
            ``UNKNOWN_LANGUAGE`` for those it could not tell or has not scored.
        cluster: samples in this cluster of the current map.
        selection: members of this saved selection (see ``save_selection``).
        stage: with ``selection``, members of this stage only (1-based).
    """

    status: str | Sequence[str] | None = None
    source_ids: Sequence[int] | None = None
    tag: str | None = None
    text: str | None = None
    duplicates: bool | None = None
    score_ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    ids: Sequence[str] | None = None
    task_label: str | None = None
    language: str | None = None
    cluster: int | None = None
    selection: str | None = None
    stage: int | None = None


@dataclass(frozen=True)
class ScoreColumn:
    scorer: str
    column: str
    type: str


class Store:
    """A workspace. Open with ``Store(path)``; close with ``close()`` or use it as a context manager."""

    def __init__(self, path: str | os.PathLike, *, read_only: bool = False):
        self.path = Path(path)
        creating = not self.path.exists()
        if creating and read_only:
            raise NotFound(f"no workspace at {self.path}")
        if creating:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as ex:
            if "lock" in str(ex).lower():
                raise WorkspaceLocked(
                    f"workspace {self.path} is open in another process (the app, or another CLI command); "
                    "DuckDB allows one writer: close it there, or use a copy of the file"
                ) from None
            raise WinnowError(f"cannot open workspace {self.path}: {ex}") from None
        except duckdb.Error as ex:
            raise WinnowError(f"{self.path} is not a Winnow workspace (DuckDB could not open it: {ex})") from None
        # Workspaces hold people's data: readable by their owner only. A new one is made so; an existing one (copied,
        # unpacked, or made by an older Winnow) is made so when it is ours, and said to be open to others when not.
        self._keep_private()
        self._import_lock = threading.Lock()
        self._pinned: dict[int, set[str]] = {}  # id(cursor) -> accounts whose role a write relies on (see authorize)
        self.read_only = read_only
        if not read_only:
            # Checkpoint at every commit (DuckDB's default waits for 16 MB of log): the workspace file alone then holds
            # everything committed, so a copy of it (or a crash of the log) loses nothing. ~7 ms a commit at 1M rows.
            self._con.execute("SET checkpoint_threshold = '0b'")
            self._migrate()
        self._score_columns_cache: list[ScoreColumn] | None = None

    def _keep_private(self) -> None:
        for path in (self.path, self.path.with_name(self.path.name + ".wal")):
            try:
                info = path.stat()
            except FileNotFoundError:
                continue
            if not info.st_mode & 0o077:
                continue
            if info.st_uid == os.getuid():
                os.chmod(path, info.st_mode & 0o700)
                log.info("made %s readable by its owner only (it was mode %o)", path, info.st_mode & 0o777)
            else:
                log.warning(
                    "%s is readable by others (mode %o) and belongs to another user: ask them to run chmod 600 on it",
                    path,
                    info.st_mode & 0o777,
                )

    # ------------------------------------------------------------------ plumbing

    def close(self) -> None:
        self._con.close()

    def checkpoint(self) -> bool:
        """Move what the write-ahead log (``<workspace>.wal``) holds into the workspace file, so the file alone is the
        whole workspace. Every commit already tries (``checkpoint_threshold``); jobs call this when they end and the
        app when it stops, for a commit that found another write under way.

        Returns:
            True when done; False when another write transaction was under way (its commit checkpoints then).
        """
        if self.read_only:
            return True
        try:
            cur = self.cursor()
        except duckdb.ConnectionException:  # closed already (and checkpointed then)
            return True
        try:
            cur.execute("CHECKPOINT")
        except duckdb.TransactionException:
            return False
        finally:
            cur.close()
        return True

    def copy_to(self, target: str | os.PathLike) -> None:
        """Write the whole workspace, as one transaction sees it, into the new DuckDB file ``target``.

        Every table, sequence and index is copied (DuckDB's ``COPY FROM DATABASE``) through this process's open
        connection, so it works while the app runs and writes: a write committed meanwhile is wholly in the copy or
        wholly not. The copy is checkpointed when it is detached: one file, no log. ``core.backup`` is the caller.
        """
        alias = f"winnow_copy_{os.getpid()}_{threading.get_ident()}"
        cur = self.cursor()
        try:
            source = cur.execute("SELECT current_database()").fetchall()[0][0]
            try:
                cur.execute(f"ATTACH ? AS {alias}", [str(target)])
            except duckdb.IOException as ex:
                raise WinnowError(f"cannot write {target}: {ex}") from None
            try:
                cur.begin()
                try:
                    cur.execute(f'COPY FROM DATABASE "{source.replace(chr(34), chr(34) * 2)}" TO {alias}')
                    cur.commit()
                except BaseException:
                    with suppress(duckdb.Error):
                        cur.rollback()
                    raise
            finally:
                cur.execute(f"DETACH {alias}")
        finally:
            cur.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor on the shared connection: one per call and per thread."""
        return self._con.cursor()

    @contextmanager
    def _transaction(self):
        """Yield a cursor inside a transaction; commit, or roll back on error.

        A write conflict is not retried here (a context manager cannot run its body twice): callers that expect
        conflicts use ``_retrying``.
        """
        cur = self.cursor()
        cur.begin()
        try:
            yield cur
            pinned = self._pinned.pop(id(cur), None)
            if pinned:
                # Rewrite the role and disabled flag of the accounts this write was authorized for, unchanged. DuckDB
                # detects write-write conflicts only (per column): so a role change or a disabling committed since
                # this transaction began (or still under way) now conflicts with the write, and the retry
                # (``_retrying``) sees it and refuses. Done last, so the row is held only for the commit.
                cur.execute(
                    "UPDATE users SET role = role, disabled = disabled WHERE name IN (SELECT unnest(?::VARCHAR[]))",
                    [sorted(pinned)],
                )
            cur.commit()
        except BaseException:
            self._pinned.pop(id(cur), None)
            with suppress(duckdb.Error):  # the transaction may already be gone with the error
                cur.rollback()
            raise
        finally:
            cur.close()

    def _retrying(self, fn, retries: int = 12):
        """Run ``fn(cursor)`` in a transaction, retrying DuckDB's transaction conflicts with backoff."""
        delay = 0.005
        for attempt in range(retries):
            try:
                with self._transaction() as cur:
                    return fn(cur)
            except duckdb.TransactionException as ex:
                # Two writers touching one row conflict at once; two inserting one new key fail only at commit,
                # as a constraint violation. Either way the other writer won: run again and see its result.
                message = str(ex).lower()
                lost = "conflict" in message or ("failed to commit" in message and "constraint violation" in message)
                if not lost or attempt == retries - 1:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
        raise AssertionError("unreachable")

    def _migrate(self) -> None:
        cur = self.cursor()
        cur.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        row = _one(cur.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall())
        current = int(row[0]) if row else 0
        if current > SCHEMA_VERSION:
            raise WinnowError(
                f"workspace {self.path} has schema version {current}, newer than this Winnow ({SCHEMA_VERSION}): "
                "upgrade Winnow"
            )
        for version in range(current, SCHEMA_VERSION):
            with self._transaction() as tx:
                for statement in _MIGRATIONS[version]:
                    tx.execute(statement)
                tx.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
                    [str(version + 1)],
                )
        cur.close()

    def schema_version(self) -> int:
        row = _one(self.cursor().execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall())
        return int(row[0]) if row else 0

    # ------------------------------------------------------------------ accounts and permissions

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
        """Add an account (``core.auth.add_user`` validates and hashes). Anyone may add the first; then admins.

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

    def _check_assignees(self, names: Sequence[str]) -> None:
        """Refuse names that are not enabled annotator accounts: a disabled account's share would never be done,
        and a lead's or admin's review of a shared sample changes it directly, passing over the annotators'."""
        accounts = {n: self.get_user(n) for n in names}
        missing = [n for n, user in accounts.items() if user is None]
        if missing:
            raise NotFound(f"no account named {', '.join(map(repr, missing))}")
        for name, user in accounts.items():
            if user["disabled"]:
                raise WinnowError(f"{name} is disabled and cannot review: assign samples to enabled annotators")
            if user["role"] != "annotator":
                article = "an" if user["role"][0] in "aeiou" else "a"
                raise WinnowError(f"{name} is {article} {user['role']}: only annotators are assigned samples")

    def assign(self, sample_ids: Sequence[str], user_names: Sequence[str], *, by: str) -> int:
        """Assign each sample to each named annotator (an existing assignment is kept). Returns the new ones.

        Raises:
            NotFound: a name is no account of this workspace. WinnowError: a name is no enabled annotator.
        """
        self.authorize(by, "assign")  # before the checks of the names: a refusal says who may not
        ids, names = list(dict.fromkeys(sample_ids)), list(dict.fromkeys(user_names))
        self._check_assignees(names)
        if not ids or not names:
            return 0
        now = _now()

        def body(cur):
            self.authorize(by, "assign", cur=cur)
            added = cur.execute(
                "INSERT INTO assignments SELECT s.id, u.name, ?, ? FROM samples s, (SELECT unnest(?::VARCHAR[]) AS "
                "name) u WHERE s.id IN (SELECT unnest(?::VARCHAR[])) ON CONFLICT DO NOTHING RETURNING sample_id",
                [now, by, names, ids],
            ).fetchall()
            if added:
                cur.execute(
                    "INSERT INTO events (sample_id, ts, user_name, action, field, before, after, version) "
                    "VALUES (NULL, ?, ?, 'assign', NULL, NULL, ?, NULL)",
                    [now, by, json.dumps({"users": names, "assignments": len(added)})],
                )
            return len(added)

        return self._retrying(body)

    def create_session(self, token_hash: str, user: str, ttl) -> None:
        now = _now()
        self._retrying(
            lambda cur: (
                cur.execute("DELETE FROM sessions WHERE expires_at < ?", [now]),
                cur.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)", [token_hash, user, now, now + ttl]),
            )
        )

    def use_session(self, token_hash: str, ttl) -> dict | None:
        """The account behind a live session ({name, role}), pushing its expiry to now + ``ttl``; else None."""
        now = _now()

        def body(cur):
            rows = cur.execute(
                "SELECT u.name, u.role FROM sessions s JOIN users u ON u.name = s.user_name "
                "WHERE s.token_hash = ? AND s.expires_at >= ? AND NOT u.disabled",
                [token_hash, now],
            ).fetchall()
            if not rows:
                return None
            cur.execute("UPDATE sessions SET expires_at = ? WHERE token_hash = ?", [now + ttl, token_hash])
            return {"name": rows[0][0], "role": rows[0][1]}

        return self._retrying(body)

    def end_session(self, token_hash: str) -> None:
        self._retrying(lambda cur: cur.execute("DELETE FROM sessions WHERE token_hash = ?", [token_hash]))

    # ------------------------------------------------------------------ assignments and annotations

    def _matching_sql(self, f: SampleFilter | None) -> tuple[str, list]:
        """(SELECT s.id, s.rid ... WHERE <f>, params): the samples matching ``f``, for a subquery."""
        cols = {c.column: c for c in self.score_columns()}
        where, params = self._where(f, cols)
        used = {cols[c].scorer for c in (f.score_ranges if f else {})}
        return f"SELECT s.id, s.rid FROM {self._from(used)} WHERE {where}", params

    def matching_ids(self, f: SampleFilter | None, *, limit: int | None = None) -> list[str]:
        """The ids of the samples matching ``f``, in import order (bulk actions on a whole filter)."""
        sub, params = self._matching_sql(f)
        q = f"SELECT id FROM ({sub}) ORDER BY rid" + (" LIMIT ?" if limit is not None else "")
        rows = self.cursor().execute(q, params + ([int(limit)] if limit is not None else [])).fetchall()
        return [r[0] for r in rows]

    def distribute(
        self,
        f: SampleFilter | None,
        user_names: Sequence[str],
        *,
        overlap: int = 1,
        limit: int | None = None,
        only_unassigned: bool = True,
        by: str,
    ) -> dict:
        """Give each sample matching ``f`` to ``overlap`` of ``user_names``, round-robin in import order, in SQL (no
        id is read into Python): the i-th sample (0-based) goes to names (i·k + j) mod n for j < k. So each sample gets
        k distinct names and, over one call, every name gets the same number of samples give or take one (the first
        names in the list take the extra ones: ``core.team.distribute`` puts the least loaded first).

        Args:
            only_unassigned: skip samples that already have an assignee (default), so overlap stays what was asked.
            limit: at most this many samples (the first ones in import order).

        Returns:
            {"samples": samples given out, "assignments": new assignments, "per_user": {name: new assignments}}.

        Raises:
            NotFound: a name is no account. WinnowError: no names, a name that is no enabled annotator, or an
                overlap outside 1..len(user_names).
        """
        self.authorize(by, "assign")  # before the checks of the names: a refusal says who may not
        names = list(dict.fromkeys(user_names))
        if not names:
            raise WinnowError("choose at least one annotator to assign samples to")
        self._check_assignees(names)
        k = int(overlap)
        if not 1 <= k <= len(names):
            raise WinnowError(
                f"overlap {k} needs at least {k} annotators and at least 1: you chose {len(names)} ({', '.join(names)})"
            )
        if limit is not None and int(limit) < 1:
            raise WinnowError(f"the number of samples to assign must be at least 1, got {limit}")
        matching, params = self._matching_sql(f)
        if only_unassigned:
            matching += " AND s.id NOT IN (SELECT sample_id FROM assignments)"
        matching += " ORDER BY s.rid" + (f" LIMIT {int(limit)}" if limit is not None else "")
        now = _now()

        def body(cur):
            self.authorize(by, "assign", cur=cur)
            added = cur.execute(
                "INSERT INTO assignments SELECT m.id, list_extract(?::VARCHAR[], ((m.i * ? + t.j) % ?)::INTEGER + 1), "
                f"?, ? FROM (SELECT id, row_number() OVER (ORDER BY rid) - 1 AS i FROM ({matching})) m, "
                "range(?) t(j) ON CONFLICT DO NOTHING RETURNING sample_id, user_name",
                [names, k, len(names), now, by, *params, k],
            ).fetchall()
            per_user = {n: 0 for n in names}
            for _, name in added:
                per_user[name] += 1
            result = {"samples": len({sid for sid, _ in added}), "assignments": len(added), "per_user": per_user}
            if added:
                cur.execute(
                    "INSERT INTO events (sample_id, ts, user_name, action, field, before, after, version) "
                    "VALUES (NULL, ?, ?, 'assign', NULL, NULL, ?, NULL)",
                    [now, by, json.dumps({"users": names, "overlap": k, **result})],
                )
            return result

        return self._retrying(body)

    def unassign(self, f: SampleFilter | None, user_names: Sequence[str] | None = None, *, by: str) -> int:
        """Remove the open assignments of the samples matching ``f`` (of ``user_names`` only, when given).

        Open means the sample is still pending and the assignee has not decided on it yet; finished work stays
        assigned, so progress keeps counting it.

        Returns:
            How many assignments were removed.
        """
        matching, params = self._matching_sql(f)
        names = None if user_names is None else list(dict.fromkeys(user_names))
        only = " AND assignments.user_name IN (SELECT unnest(?::VARCHAR[]))" if names is not None else ""

        def body(cur):
            self.authorize(by, "assign", cur=cur)
            gone = cur.execute(
                f"DELETE FROM assignments WHERE sample_id IN (SELECT id FROM ({matching} AND s.status = 'pending'))"
                f"{only} AND NOT EXISTS (SELECT 1 FROM annotations n WHERE n.sample_id = assignments.sample_id "
                "AND n.user_name = assignments.user_name AND n.status IS NOT NULL) RETURNING user_name",
                [*params, *([names] if names is not None else [])],
            ).fetchall()
            if gone:
                cur.execute(
                    "INSERT INTO events (sample_id, ts, user_name, action, field, before, after, version) "
                    "VALUES (NULL, ?, ?, 'unassign', NULL, NULL, ?, NULL)",
                    [_now(), by, json.dumps({"users": sorted({r[0] for r in gone}), "assignments": len(gone)})],
                )
            return len(gone)

        return self._retrying(body)

    def assignment_preview(self, f: SampleFilter | None) -> dict[str, int]:
        """{"matching": samples matching ``f``, "unassigned": those of them nobody is assigned yet}."""
        matching, params = self._matching_sql(f)
        row = self.cursor().execute(
            f"SELECT count(*), count(*) - count(a.sample_id) FROM ({matching}) m "
            "LEFT JOIN (SELECT DISTINCT sample_id FROM assignments) a ON a.sample_id = m.id",
            params,
        )
        matching_n, unassigned = row.fetchall()[0]
        return {"matching": int(matching_n), "unassigned": int(unassigned)}

    def assignees(self, sample_id: str) -> list[str]:
        """Who the sample is assigned to, by name."""
        rows = self.cursor().execute(
            "SELECT user_name FROM assignments WHERE sample_id = ? ORDER BY user_name", [sample_id]
        )
        return [r[0] for r in rows.fetchall()]

    def assignment_loads(self) -> dict[str, int]:
        """{name: assignments} for every account that has any."""
        rows = self.cursor().execute("SELECT user_name, count(*) FROM assignments GROUP BY 1 ORDER BY 1")
        return {name: int(n) for name, n in rows.fetchall()}

    def next_assignment(self, user: str, f: SampleFilter | None = None, *, skip: Sequence[str] = ()) -> dict | None:
        """An annotator's next sample: assigned to them, pending, matching ``f``, not in ``skip``, and not yet decided
        in an annotation of theirs; the first in import order. None when their queue is empty."""
        matching, params = self._matching_sql(f)
        matching += (
            " AND s.status = 'pending' AND s.id IN (SELECT sample_id FROM assignments WHERE user_name = ?) "
            "AND s.id NOT IN (SELECT sample_id FROM annotations WHERE user_name = ? AND status IS NOT NULL)"
        )
        params += [user, user]
        if skip:
            matching += " AND s.id NOT IN (SELECT unnest(?::VARCHAR[]))"
            params.append(list(skip))
        row = self.cursor().execute(matching + " ORDER BY s.rid LIMIT 1", params).fetchall()
        return self.get_sample(row[0][0]) if row else None

    def assignment_progress(self, *, hours: float = 24.0, user: str | None = None) -> list[dict]:
        """Per assignee (or only ``user``): {user, assigned, done, remaining, done_recent, last_done}.

        done: assignments the assignee decided on, as an annotation or by setting the sample's status themselves.
        remaining: their queue (pending, not decided by them). done_recent: done within the last ``hours``.
        Assignments settled by someone else (a lead's review or adjudication) are neither done nor remaining.
        """
        now = _now()
        since = now - timedelta(hours=hours)
        only = " WHERE a.user_name = ?" if user is not None else ""
        q = (
            "WITH done AS (SELECT sample_id, user_name, min(ts) AS ts FROM ("
            "SELECT sample_id, user_name, ts FROM annotations WHERE status IS NOT NULL UNION ALL "
            "SELECT e.sample_id, e.user_name, e.ts FROM events e JOIN assignments x "
            "ON x.sample_id = e.sample_id AND x.user_name = e.user_name "
            "WHERE e.field = 'status' AND e.after IN ('accepted', 'rejected')) GROUP BY ALL) "
            "SELECT a.user_name, count(*), count(d.ts), count(*) FILTER (s.status = 'pending' AND NOT EXISTS ("
            "SELECT 1 FROM annotations n WHERE n.sample_id = a.sample_id AND n.user_name = a.user_name "
            "AND n.status IS NOT NULL)), count(*) FILTER (d.ts >= ?), max(d.ts) "
            "FROM assignments a JOIN samples s ON s.id = a.sample_id "
            f"LEFT JOIN done d ON d.sample_id = a.sample_id AND d.user_name = a.user_name{only} "
            "GROUP BY 1 ORDER BY 1"
        )
        rows = self.cursor().execute(q, [since, *([user] if user is not None else [])]).fetchall()
        keys = ("user", "assigned", "done", "remaining", "done_recent", "last_done")
        return [dict(zip(keys, r)) for r in rows]

    def annotate(
        self,
        sample_id: str,
        expected_version: int,
        *,
        user: str,
        status: str | None = None,
        tags: Sequence[str] | None = None,
        note: str | None = None,
        messages: list[dict] | None = None,
        task_label: str | None = None,
    ) -> dict:
        """Record (or update) ``user``'s annotation of a sample, based on the version they saw; the sample itself is
        not changed. Fields left None keep what the annotation had (a new one starts from the sample's tags and note,
        no decision, no label, unedited messages). Audited as an 'annotate' event with no version (it makes none, so
        a sample's history never shows one annotator another's annotation); its "after" holds ``based_on``.

        Once the sample is settled (no longer pending: adjudicated, or decided by a lead) its annotations are final:
        changing one then would rewrite the agreement after the annotator saw the outcome.

        Returns:
            The annotation: {sample_id, user_name, status, task_label, messages (None = unedited), tags, note, ts,
            based_on}.

        Raises:
            ConflictError: the sample is no longer at ``expected_version``; nothing was written.
            PermissionDenied: ``user`` may not review this sample, or it is settled. NotFound: no such sample.
        """
        if status is not None and status not in ("accepted", "rejected"):
            raise ValueError(f"an annotation's decision is accepted or rejected, not {status!r}")

        def body(cur):
            self.authorize(user, "review", [sample_id], annotating=True, cur=cur)
            row = _one(
                cur.execute(
                    "SELECT s.version, s.status, s.tags, s.note, s.messages, s.raw, s.format, src.mapping "
                    "FROM samples s JOIN sources src ON src.source_id = s.source_id WHERE s.id = ?",
                    [sample_id],
                ).fetchall()
            )
            if row is None:
                raise NotFound(f"no sample {sample_id!r} in this workspace")
            version, cur_status, cur_tags, cur_note, cur_messages, raw, fmt, mapping = row
            cur_messages = messages_of(cur_messages, raw, fmt, mapping)
            if version != expected_version:
                current = {"status": cur_status, "tags": cur_tags, "note": cur_note, "messages": cur_messages}
                raise ConflictError(sample_id, expected_version, version, current)
            if cur_status != "pending":
                raise PermissionDenied(
                    f"sample {sample_id} is already settled ({cur_status}): its annotations are final; a lead can "
                    "set it back to pending to have it reviewed again"
                )
            old = self._annotation(cur, sample_id, user)
            new = old or {
                "status": None,
                "task_label": None,
                "messages": None,
                "tags": list(cur_tags),
                "note": cur_note,
            }
            new = {k: new[k] for k in ("status", "task_label", "messages", "tags", "note")}
            if status is not None:
                new["status"] = status
            if task_label is not None:
                new["task_label"] = task_label
            if messages is not None:
                new["messages"] = None if messages == cur_messages else messages
            if tags is not None:
                new["tags"] = sorted({t.strip() for t in tags if t and t.strip()})
            if note is not None:
                new["note"] = note
            now = _now()
            cur.execute(
                "INSERT OR REPLACE INTO annotations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    sample_id,
                    user,
                    new["status"],
                    new["task_label"],
                    None if new["messages"] is None else json.dumps(new["messages"], ensure_ascii=False),
                    new["tags"],
                    new["note"],
                    now,
                    version,
                ],
            )

            def shown(a, **extra):
                return None if a is None else json.dumps({**{k: a[k] for k in new}, **extra}, ensure_ascii=False)

            # No version: an annotation is no version of the sample (see the docstring).
            cur.execute(
                "INSERT INTO events (sample_id, ts, user_name, action, field, before, after, version) "
                "VALUES (?, ?, ?, 'annotate', 'annotation', ?, ?, NULL)",
                [sample_id, now, user, shown(old), shown(new, based_on=version)],
            )
            return {"sample_id": sample_id, "user_name": user, **new, "ts": now, "based_on": version}

        return self._retrying(body)

    _ANNOTATION_COLUMNS = (
        "sample_id",
        "user_name",
        "status",
        "task_label",
        "messages",
        "tags",
        "note",
        "ts",
        "based_on",
    )

    def _annotation(self, cur, sample_id: str, user: str) -> dict | None:
        row = _one(
            cur.execute(
                f"SELECT {', '.join(self._ANNOTATION_COLUMNS)} FROM annotations WHERE sample_id = ? AND user_name = ?",
                [sample_id, user],
            ).fetchall()
        )
        return None if row is None else self._annotation_dict(row)

    def _annotation_dict(self, row) -> dict:
        out = dict(zip(self._ANNOTATION_COLUMNS, row))
        out["messages"] = None if out["messages"] is None else json.loads(out["messages"])
        return out

    def annotation(self, sample_id: str, user: str) -> dict | None:
        """``user``'s annotation of a sample (see ``annotate``), or None."""
        return self._annotation(self.cursor(), sample_id, user)

    def annotations_of(self, sample_id: str) -> list[dict]:
        """Every annotation of one sample, by annotator name (messages parsed; None = unedited)."""
        rows = self.cursor().execute(
            f"SELECT {', '.join(self._ANNOTATION_COLUMNS)} FROM annotations WHERE sample_id = ? ORDER BY user_name",
            [sample_id],
        )
        return [self._annotation_dict(r) for r in rows.fetchall()]

    def decided_annotations(self, *, min_annotators: int = 2, pending_only: bool = False) -> list[dict]:
        """The decided annotations (accepted or rejected) of samples with at least ``min_annotators`` of them, in
        import order then by name: [{sample_id, sample_status, user_name, status, task_label, messages (the JSON
        text, None = unedited), note}]. ``pending_only``: samples not yet adjudicated (still pending)."""
        pending = " AND s.status = 'pending'" if pending_only else ""
        rows = self.cursor().execute(
            "SELECT a.sample_id, s.status, a.user_name, a.status, a.task_label, a.messages, a.note "
            "FROM annotations a JOIN samples s ON s.id = a.sample_id "
            "WHERE a.status IS NOT NULL AND a.sample_id IN (SELECT sample_id FROM annotations "
            f"WHERE status IS NOT NULL GROUP BY 1 HAVING count(*) >= ?){pending} ORDER BY s.rid, a.user_name",
            [int(min_annotators)],
        )
        keys = ("sample_id", "sample_status", "user_name", "status", "task_label", "messages", "note")
        return [dict(zip(keys, r)) for r in rows.fetchall()]

    # ------------------------------------------------------------------ import

    def find_source_by_sha(self, sha256: str) -> dict | None:
        """The source already imported with this file hash, or None."""
        cur = self.cursor()
        row = cur.execute(
            "SELECT source_id, name, imported_at FROM sources WHERE sha256 = ? ORDER BY source_id LIMIT 1",
            [sha256],
        ).fetchall()
        row = _one(row)
        return None if row is None else {"source_id": row[0], "name": row[1], "imported_at": row[2]}

    def import_source(
        self,
        *,
        name: str,
        path: str | None,
        sha256: str,
        fmt: str,
        mapping: dict | None,
        chunks: Iterable[dict[str, list]],
        rejected: Callable[[], int] = lambda: 0,
        user: str,
    ) -> dict:
        """Insert one file's samples in one transaction: all of them or none.

        Args:
            chunks: column chunks, each a dict of equal-length lists ``source_index``, ``raw``, ``tools``,
                ``prompt``, ``answer``, ``n_turns``, ``content_hash`` (JSON columns serialized). They are
                inserted as they come, so the caller can parse the next chunk while DuckDB writes this one. An
                exception raised by the iterator rolls everything back.
            rejected: called once the chunks are exhausted: how many records were skipped (for the source row).

        Returns:
            {"source_id", "inserted", "duplicates"}: duplicates counts samples whose content already existed (in the
            workspace or earlier in this file); they are kept and flagged with ``dup_of``.
        """
        self.authorize(user, "import")  # before any chunk is parsed
        now = _now()

        def body(cur):
            self.authorize(user, "import", cur=cur, pin=False)
            source_id = cur.execute(
                "INSERT INTO sources (name, path, sha256, format, mapping, records, rejected, imported_at, "
                "imported_by) VALUES (?, ?, ?, ?, ?, 0, 0, ?, ?) RETURNING source_id",
                [name, path, sha256, fmt, json.dumps(mapping) if mapping else None, now, user],
            ).fetchall()[0][0]
            inserted = duplicates = 0
            before = cur.execute("SELECT coalesce(max(rid), 0) FROM samples").fetchall()[0][0]
            # What this import has seen so far: content hash -> first id, and id base -> how many ids use it.
            seen: dict[str, str] = {}
            taken: dict[str, int] = {}
            for columns in chunks:
                if columns["content_hash"]:
                    duplicates += self._insert_chunk(
                        cur,
                        source_id,
                        fmt,
                        columns,
                        now,
                        user,
                        first_rid=before + inserted + 1,
                        workspace_rids=before,
                        seen=seen,
                        taken=taken,
                    )
                    inserted += len(columns["content_hash"])
                    pause_point("import.chunk_written")
            cur.execute(
                "UPDATE sources SET records = ?, rejected = ? WHERE source_id = ?", [inserted, rejected(), source_id]
            )
            cur.execute(
                "INSERT INTO events (sample_id, ts, user_name, action, field, before, after, version) "
                "VALUES (NULL, ?, ?, 'import', 'source', NULL, ?, NULL)",
                [now, user, json.dumps({"source_id": source_id, "name": name, "records": inserted})],
            )
            pause_point("import.before_commit")
            return {"source_id": source_id, "inserted": inserted, "duplicates": duplicates}

        # The chunks can be read once, so no retry; imports are serialized because ids are derived from what is
        # already in the workspace (there is no index to enforce their uniqueness: it would slow imports 2x).
        with self._import_lock:
            # One DuckDB thread while importing: the other core parses the next chunk (Python, under the GIL).
            # Measured on 2 cores: 1M records in 23 s instead of 28 s with DuckDB's default of one thread per core.
            cur = self.cursor()
            threads = cur.execute("SELECT current_setting('threads')").fetchall()[0][0]
            cur.execute("SET threads = 1")
            try:
                result = self._retrying(body, retries=1)
                pause_point("import.committed")
                return result
            finally:
                cur.execute(f"SET threads = {int(threads)}")

    def _insert_chunk(
        self,
        cur,
        source_id: int,
        fmt: str,
        columns: dict[str, list],
        now: datetime,
        user: str,
        *,
        first_rid: int,
        workspace_rids: int,
        seen: dict[str, str],
        taken: dict[str, int],
    ) -> int:
        """Insert one chunk of an import inside its transaction. Returns how many of its samples are duplicates.

        The first sample holding each content (by rid) is what duplicates point to. Ids derive from the content
        hash at import, with a counter for repeats, so they stay unique and stable. Samples that were in the
        workspace before this import (rid <= workspace_rids) are looked up; this import's own are in ``seen`` and
        ``taken``, which the caller keeps across chunks.
        """
        n = len(columns["content_hash"])
        first = seen
        if workspace_rids:
            cur.register("new_hashes", pa.table({"h": pa.array(columns["content_hash"], pa.string())}))
            try:
                for h, sid in cur.execute(
                    "SELECT content_hash, arg_min(id, rid) FROM samples WHERE rid <= ? "
                    "AND content_hash IN (SELECT h FROM new_hashes) GROUP BY content_hash",
                    [workspace_rids],
                ).fetchall():
                    first.setdefault(h, sid)
                for base, count in cur.execute(
                    "SELECT left(id, 16), count(*) FROM samples WHERE rid <= ? "
                    "AND left(id, 16) IN (SELECT left(h, 16) FROM new_hashes) GROUP BY 1",
                    [workspace_rids],
                ).fetchall():
                    taken.setdefault(base, count)
            finally:
                cur.unregister("new_hashes")
        ids: list[str] = []
        dup_of: list[str | None] = []
        duplicates = 0
        for h in columns["content_hash"]:
            base = h[:16]
            k = taken.get(base, 0)
            taken[base] = k + 1
            sid = base if k == 0 else f"{base}-{k}"
            ids.append(sid)
            original = first.get(h)
            if original is None:
                first[h] = sid
                dup_of.append(None)
            else:
                dup_of.append(original)
                duplicates += 1
        start = first_rid
        table = pa.table(
            {
                "rid": pa.array(range(start, start + n), pa.int64()),
                "id": pa.array(ids, pa.string()),
                "source_id": pa.array([source_id] * n, pa.int32()),
                "source_index": pa.array(columns["source_index"], pa.int64()),
                "format": pa.array([fmt] * n, pa.string()),
                "raw": pa.array(columns["raw"], pa.string()),
                "tools": pa.array(columns["tools"], pa.string()),
                "prompt": pa.array(columns["prompt"], pa.string()),
                "answer": pa.array(columns["answer"], pa.string()),
                "n_turns": pa.array(columns["n_turns"], pa.int32()),
                "content_hash": pa.array(columns["content_hash"], pa.string()),
                "dup_of": pa.array(dup_of, pa.string()),
            }
        )
        cur.register("new_samples", table)
        try:
            cur.execute(
                "INSERT INTO samples (rid, id, source_id, source_index, format, raw, tools, prompt, answer, "
                "n_turns, content_hash, dup_of, created_at, updated_at, updated_by) "
                "SELECT *, ?, ?, ? FROM new_samples",
                [now, now, user],
            )
        finally:
            cur.unregister("new_samples")
        return duplicates

    def sources(self) -> list[dict]:
        """Every imported file, oldest first."""
        cur = self.cursor()
        rows = cur.execute(
            "SELECT source_id, name, path, sha256, format, mapping, records, rejected, imported_at, imported_by "
            "FROM sources ORDER BY source_id"
        ).fetchall()
        keys = (
            "source_id",
            "name",
            "path",
            "sha256",
            "format",
            "mapping",
            "records",
            "rejected",
            "imported_at",
            "imported_by",
        )
        return [dict(zip(keys, r)) for r in rows]

    # ------------------------------------------------------------------ workspace settings

    def markdown_images(self) -> bool:
        """Whether Review shows the images that Markdown in the samples points to (False, the default: shown as links,
        so reviewers' browsers fetch nothing from the hosts the imported text names; see ``core.markdown``)."""
        return self._meta(self.cursor(), "markdown_images") == "on"

    def set_markdown_images(self, on: bool, *, user: str) -> None:
        """Show (or stop showing) remote images in Review, for everyone in this workspace. Leads and admins; audited."""

        def body(cur):
            self.authorize(user, "settings", cur=cur)
            cur.execute("INSERT OR REPLACE INTO meta VALUES ('markdown_images', ?)", ["on" if on else "off"])
            self._log_in(cur, "settings", user, None, {"markdown_images": bool(on)})

        self._retrying(body)

    def own_files(self) -> dict[Path, str]:
        """The files this workspace is, or was imported from, which nothing Winnow writes may replace:
        {resolved path: what it is, in words}. Imported files are as their import recorded them."""
        workspace = self.path.resolve()
        files = {
            workspace: "the workspace itself",
            workspace.with_name(workspace.name + ".wal"): "the workspace's write-ahead log",
        }
        for src in self.sources():
            if src["path"]:
                files.setdefault(Path(src["path"]).resolve(), f"an imported file (source {src['source_id']})")
        return files

    def refuse_own_file(self, target: str | os.PathLike, writing: str) -> None:
        """Raise WinnowError when ``target`` is one of ``own_files`` (by any name: links and other spellings too).

        Args:
            writing: what would be written there, for the message ("the export", "the rejects file").
        """
        target = Path(target)
        resolved = target.resolve()
        for path, what in self.own_files().items():
            same = resolved == path
            if not same and target.exists() and path.exists():
                with suppress(OSError):
                    same = os.path.samefile(target, path)
            if same:
                raise WinnowError(f"{target} is {what}: {writing} would replace it; choose another file")

    # ------------------------------------------------------------------ reading samples

    def score_columns(self) -> list[ScoreColumn]:
        """The current score columns (from each scorer's current key), embeddings excluded."""
        cur = self.cursor()
        out = []
        for name, columns in cur.execute("SELECT name, columns FROM scorers ORDER BY name").fetchall():
            for col, typ in json.loads(columns).items():
                if "[" in typ:  # vectors are never part of a page
                    continue
                out.append(ScoreColumn(name, col, typ))
        return out

    def _where(self, f: SampleFilter | None, score_cols: dict[str, ScoreColumn]) -> tuple[str, list]:
        if f is None:
            return "TRUE", []
        clauses: list[str] = []
        params: list = []
        if f.status:
            statuses = [f.status] if isinstance(f.status, str) else list(f.status)
            if statuses == ["not_rejected"]:
                clauses.append("s.status <> 'rejected'")
            else:
                clauses.append("s.status IN (SELECT unnest(?::VARCHAR[]))")
                params.append(statuses)
        if f.source_ids:
            clauses.append("s.source_id IN (SELECT unnest(?::INTEGER[]))")
            params.append(list(f.source_ids))
        if f.tag:
            clauses.append("list_contains(s.tags, ?)")
            params.append(f.tag)
        if f.text:
            # A case-insensitive RE2 literal: measured 1.8x faster than ILIKE over the same rows.
            pattern = "(?i)" + re.escape(f.text)
            clauses.append("(regexp_matches(s.prompt, ?) OR regexp_matches(s.answer, ?))")
            params += [pattern, pattern]
        if f.duplicates is True:
            clauses.append("s.dup_of IS NOT NULL")
        elif f.duplicates is False:
            clauses.append("s.dup_of IS NULL")
        if f.task_label == UNLABELED:
            clauses.append("s.task_label IS NULL")
        elif f.task_label is not None:
            clauses.append("s.task_label = ?")
            params.append(f.task_label)
        if f.language is not None:
            if "heuristics" not in self.scorer_keys():
                raise NotFound("no languages yet: run the heuristics scorer (Score page)")
            # A subquery, not a join: a filter must not change which columns a page's FROM clause has.
            known = (
                "SELECT content_hash FROM score_heuristics WHERE h_prompt_lang {} "
                "AND scorer_key = (SELECT key FROM scorers WHERE name = 'heuristics')"
            )
            if f.language == UNKNOWN_LANGUAGE:
                clauses.append(f"s.content_hash NOT IN ({known.format('IS NOT NULL')})")
            else:
                clauses.append(f"s.content_hash IN ({known.format('= ?')})")
                params.append(f.language)
        if f.cluster is not None:
            clauses.append(
                "s.content_hash IN (SELECT content_hash FROM map_points WHERE cluster = ? "
                "AND map_key = (SELECT value FROM meta WHERE key = 'current_map'))"
            )
            params.append(int(f.cluster))
        if f.ids is not None:
            clauses.append("s.id IN (SELECT unnest(?::VARCHAR[]))")
            params.append(list(f.ids))
        if f.selection is not None:
            member = "SELECT sample_id FROM selection_members WHERE selection = ?"
            params.append(f.selection)
            if f.stage is not None:
                member += " AND stage = ?"
                params.append(int(f.stage))
            clauses.append(f"s.id IN ({member})")
        for col, (lo, hi) in (f.score_ranges or {}).items():
            sc = score_cols.get(col)
            if sc is None:
                raise NotFound(f"no score column {col!r}; score the workspace first")
            ref = f"{_ident(sc.scorer)}.{_ident(col)}"
            if lo is not None:
                clauses.append(f"{ref} >= ?")
                params.append(lo)
            if hi is not None:
                clauses.append(f"{ref} <= ?")
                params.append(hi)
        return (" AND ".join(clauses) or "TRUE"), params

    def _from(self, scorers: Iterable[str]) -> str:
        joins = ["samples s"]
        for name in sorted(set(scorers)):
            t = _ident(name)
            joins.append(
                f"LEFT JOIN score_{t} {t} ON {t}.content_hash = s.content_hash "
                f"AND {t}.scorer_key = (SELECT key FROM scorers WHERE name = '{t}')"
            )
        return " ".join(joins)

    def count(self, f: SampleFilter | None = None, *, cap: int | None = None) -> int:
        """How many samples match the filter; with ``cap``, stop counting past it (returns at most cap + 1).

        A text search must read every prompt and answer to count them all (about 0.5 s at 1M samples on 2 cores);
        capped, it stops as soon as it has seen enough, which is what a page needs ("10,000+ matches").
        """
        cols = {c.column: c for c in self.score_columns()}
        where, params = self._where(f, cols)
        used = {cols[c].scorer for c in (f.score_ranges if f else {})}
        if cap is None:
            q = f"SELECT count(*) FROM {self._from(used)} WHERE {where}"
        else:
            q = f"SELECT count(*) FROM (SELECT 1 FROM {self._from(used)} WHERE {where} LIMIT {int(cap) + 1})"
        return self.cursor().execute(q, params).fetchall()[0][0]

    def page(
        self,
        f: SampleFilter | None = None,
        *,
        offset: int = 0,
        limit: int = 50,
        with_scores: bool = True,
        order: str = "rid",
        descending: bool = False,
    ) -> pa.Table:
        """One page of samples (never the embedding or the raw record), in ``order``.

        Returns:
            An Arrow table with PAGE_COLUMNS, the source name, and (with_scores) every current score column.
        """
        score_cols = {c.column: c for c in self.score_columns()}
        where, params = self._where(f, score_cols)
        filter_scorers = {score_cols[c].scorer for c in (f.score_ranges if f else {})}
        if order == "rid" or order in PAGE_COLUMNS:
            order_sql = f"s.{order}"
        elif order in score_cols:
            order_sql = f"{_ident(score_cols[order].scorer)}.{_ident(order)}"
            filter_scorers.add(score_cols[order].scorer)
        else:
            raise NotFound(f"cannot sort by {order!r}")
        direction = "DESC" if descending else "ASC"
        cur = self.cursor()
        # Two steps: find the page's row ids scanning only the columns the filter and order need (a deep OFFSET
        # then costs a top-N over integers, not over wide rows), then fetch the wide columns of those rows alone.
        if f is not None and f.text and order == "rid" and not descending and not filter_scorers:
            rids = self._text_page_rids(cur, where, params, offset, limit)
        else:
            q = (
                f"SELECT s.rid FROM {self._from(filter_scorers)} WHERE {where} "
                f"ORDER BY {order_sql} {direction} NULLS LAST, s.rid LIMIT ? OFFSET ?"
            )
            rids = [r[0] for r in cur.execute(q, params + [int(limit), int(offset)]).fetchall()]
        scorers = {c.scorer for c in score_cols.values()} if with_scores else set()
        select = [f"s.{c}" for c in PAGE_COLUMNS] + ["src.name AS source"]
        if with_scores:
            select += [f"{_ident(c.scorer)}.{_ident(c.column)}" for c in score_cols.values()]
        q = (
            f"SELECT {', '.join(select)} FROM {self._from(scorers)} "
            "JOIN sources src ON src.source_id = s.source_id WHERE s.rid IN (SELECT unnest(?::BIGINT[]))"
        )
        table = cur.sql(q, params=[rids]).to_arrow_table()
        position = {rid: i for i, rid in enumerate(rids)}
        got = table.column("rid").to_pylist()
        return table.take(pa.array(sorted(range(len(got)), key=lambda i: position[got[i]]), pa.int64()))

    @staticmethod
    def _text_page_rids(cur, where: str, params: list, offset: int, limit: int) -> list[int]:
        """Rids of one page of a text search, in rid order, reading only as much of the table as the page needs.

        A substring search cannot use an index, and ``ORDER BY rid LIMIT`` still reads every row. Scanning growing
        rid windows instead (DuckDB skips row groups outside a window by their min/max rid) stops as soon as the
        page is full: a common word's first page reads a sliver of the table; a rare word still reads all of it.
        """
        need = offset + limit
        top = cur.execute("SELECT coalesce(max(rid), 0) FROM samples").fetchall()[0][0]
        found: list[int] = []
        low, window = 1, TEXT_WINDOW
        while low <= top and len(found) < need:
            found += [
                r[0]
                for r in cur.execute(
                    f"SELECT s.rid FROM samples s WHERE {where} AND s.rid >= ? AND s.rid < ? ORDER BY s.rid LIMIT ?",
                    params + [low, low + window, need - len(found)],
                ).fetchall()
            ]
            low += window
            window *= 2
        return found[offset:need]

    def get_sample(self, sample_id: str) -> dict:
        """One sample with its messages (parsed), original record, curation state and current scores."""
        cur = self.cursor()
        rel = cur.execute(
            "SELECT s.rid, s.id, s.source_id, src.name, s.source_index, s.format, s.raw, s.messages, s.tools, "
            "s.prompt, s.answer, s.n_turns, s.content_hash, s.dup_of, s.status, s.tags, s.note, "
            "s.version, s.created_at, s.updated_at, s.updated_by, src.mapping, s.task_label, "
            "s.task_label_confidence, s.task_label_source, s.task_label_reason "
            "FROM samples s JOIN sources src ON src.source_id = s.source_id WHERE s.id = ?",
            [sample_id],
        )
        row = _one(rel.fetchall())
        if row is None:
            raise NotFound(f"no sample {sample_id!r} in this workspace")
        keys = [d[0] for d in rel.description]
        sample = dict(zip(keys, row))
        sample["source"] = sample.pop("name")
        sample["raw"] = json.loads(sample["raw"])
        mapping = sample.pop("mapping")
        sample["edited"] = sample["messages"] is not None
        sample["messages"] = messages_of(sample["messages"], sample["raw"], sample["format"], mapping)
        sample["tools"] = json.loads(sample["tools"]) if sample["tools"] is not None else None
        sample["scores"] = self._scores_for(cur, sample["content_hash"])
        return sample

    def _scores_for(self, cur, content_hash: str) -> dict:
        scores = {}
        for name, key, columns in cur.execute("SELECT name, key, columns FROM scorers ORDER BY name").fetchall():
            cols = [c for c, t in json.loads(columns).items() if "[" not in t]
            if not cols:
                continue
            rel = cur.execute(
                f"SELECT {', '.join(_ident(c) for c in cols)} FROM score_{_ident(name)} "
                "WHERE content_hash = ? AND scorer_key = ?",
                [content_hash, key],
            )
            row = _one(rel.fetchall())
            if row is not None:
                scores.update(zip(cols, row))
        return scores

    def next_pending(self, f: SampleFilter | None = None, *, skip: Sequence[str] = ()) -> dict | None:
        """The next sample to review (pending, in import order, not in ``skip``), or None when the queue is empty."""
        f = f or SampleFilter()
        f = SampleFilter(**{**f.__dict__, "status": "pending"})
        cols = {c.column: c for c in self.score_columns()}
        where, params = self._where(f, cols)
        used = {cols[c].scorer for c in f.score_ranges}
        if skip:
            where += " AND s.id NOT IN (SELECT unnest(?::VARCHAR[]))"
            params.append(list(skip))
        row = (
            self.cursor()
            .execute(f"SELECT s.id FROM {self._from(used)} WHERE {where} ORDER BY s.rid LIMIT 1", params)
            .fetchall()
        )
        return self.get_sample(row[0][0]) if row else None

    def stats(self) -> dict:
        """Counts for dashboards and ``core stats``: totals, by status, by source, duplicates, tags."""
        cur = self.cursor()
        total, dups, turns = cur.execute(
            "SELECT count(*), count(dup_of), coalesce(avg(n_turns), 0) FROM samples"
        ).fetchall()[0]
        by_status = {s: 0 for s in STATUSES}
        by_status.update(dict(cur.execute("SELECT status, count(*) FROM samples GROUP BY 1").fetchall()))
        by_source = [
            {"source_id": r[0], "name": r[1], "format": r[2], "samples": r[3], "accepted": r[4], "rejected": r[5]}
            for r in cur.execute(
                "SELECT src.source_id, src.name, src.format, count(s.id), count(s.id) FILTER (s.status = 'accepted'), "
                "count(s.id) FILTER (s.status = 'rejected') FROM sources src "
                "LEFT JOIN samples s ON s.source_id = src.source_id GROUP BY ALL ORDER BY src.source_id"
            ).fetchall()
        ]
        tags = dict(
            cur.execute(
                "SELECT tag, count(*) FROM (SELECT unnest(tags) AS tag FROM samples) GROUP BY 1 ORDER BY 2 DESC, 1"
            ).fetchall()
        )
        return {
            "samples": total,
            "by_status": by_status,
            "reviewed": by_status["accepted"] + by_status["rejected"],
            "duplicates": dups,
            "mean_turns": round(float(turns), 3),
            "sources": by_source,
            "tags": tags,
        }

    def all_tags(self) -> list[str]:
        return list(self.stats()["tags"])

    # ------------------------------------------------------------------ changing samples

    def update_sample(
        self,
        sample_id: str,
        expected_version: int,
        *,
        user: str,
        status: str | None = None,
        tags: Sequence[str] | None = None,
        note: str | None = None,
        messages: list[dict] | None = None,
        task_label: str | None = None,
        unconfirm_label: bool = False,
        action: str = "edit",
        log: dict | None = None,
    ) -> int:
        """Change a sample, based on the version the caller saw.

        Every changed field is written to the audit log with its value before and after. A field given with its
        current value is not a change. ``task_label`` confirms a task label (source 'confirmed', confidence 1):
        confirming the suggested label is a change too, recorded as before "<label> (suggested)".
        ``unconfirm_label`` removes a confirmed label (a revert to before it was confirmed); the next suggestion
        run labels the sample again. ``log``: the detail of one more audit event of ``action`` (as ``log_event``
        writes, with "version" set to the new version), written in the same transaction: an adjudication and its
        record are one change.

        Returns:
            The new version (the old one if nothing changed).

        Raises:
            ConflictError: the sample is no longer at ``expected_version``; nothing was written.
            NotFound: no such sample.
            ValueError: an unknown status.
        """
        from core.formats import answer_text, content_hash, prompt_text

        if status is not None and status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")

        def body(cur):
            self.authorize(user, "review", [sample_id], cur=cur)
            if action not in ("edit", "review", "revert"):
                # the audit log's action must be true: only those allowed to adjudicate may record an adjudication
                self.authorize(user, "adjudicate" if action == "adjudicate" else "users", cur=cur)
            row = cur.execute(
                "SELECT s.version, s.status, s.tags, s.note, s.messages, s.tools, s.raw, s.format, src.mapping, "
                "s.task_label, s.task_label_source "
                "FROM samples s JOIN sources src ON src.source_id = s.source_id WHERE s.id = ?",
                [sample_id],
            ).fetchall()
            row = _one(row)
            if row is None:
                raise NotFound(f"no sample {sample_id!r} in this workspace")
            version, cur_status, cur_tags, cur_note, cur_messages, tools_json, raw, fmt, mapping = row[:9]
            cur_label, cur_label_source = row[9:]
            cur_messages = messages_of(cur_messages, raw, fmt, mapping)
            if version != expected_version:
                raise ConflictError(
                    sample_id,
                    expected_version,
                    version,
                    {"status": cur_status, "tags": cur_tags, "note": cur_note, "messages": cur_messages},
                )
            sets: list[str] = []
            params: list = []
            changes: list[tuple[str, str, str]] = []
            if status is not None and status != cur_status:
                sets.append("status = ?")
                params.append(status)
                changes.append(("status", cur_status, status))
            if tags is not None:
                new_tags = sorted({t.strip() for t in tags if t and t.strip()})
                if new_tags != sorted(cur_tags):
                    sets.append("tags = ?")
                    params.append(new_tags)
                    changes.append(("tags", json.dumps(sorted(cur_tags)), json.dumps(new_tags)))
            if note is not None and note != cur_note:
                sets.append("note = ?")
                params.append(note)
                changes.append(("note", cur_note, note))
            if messages is not None:
                new_json = json.dumps(messages, ensure_ascii=False)
                if messages != cur_messages:
                    tools = json.loads(tools_json) if tools_json is not None else None
                    new_hash = content_hash(messages, tools)
                    # The duplicate flag follows the content: the earliest other sample now holding it, or none.
                    twin = cur.execute(
                        "SELECT id FROM samples WHERE content_hash = ? AND id <> ? ORDER BY rid LIMIT 1",
                        [new_hash, sample_id],
                    ).fetchall()
                    sets += [
                        "messages = ?",
                        "prompt = ?",
                        "answer = ?",
                        "n_turns = ?",
                        "content_hash = ?",
                        "dup_of = ?",
                    ]
                    params += [
                        new_json,
                        prompt_text(messages),
                        answer_text(messages),
                        sum(1 for m in messages if m["role"] == "user"),
                        new_hash,
                        twin[0][0] if twin else None,
                    ]
                    changes.append(("messages", json.dumps(cur_messages, ensure_ascii=False), new_json))
            if task_label is not None and (task_label != cur_label or cur_label_source != "confirmed"):
                sets += ["task_label = ?", "task_label_confidence = 1.0", "task_label_source = 'confirmed'"]
                params.append(task_label)
                suggested = cur_label is not None and cur_label_source != "confirmed"
                before = f"{cur_label} (suggested)" if suggested else cur_label
                changes.append(("task_label", before, task_label))
            elif task_label is None and unconfirm_label and cur_label_source == "confirmed":
                sets += ["task_label = NULL", "task_label_confidence = NULL", "task_label_source = NULL"]
                changes.append(("task_label", cur_label, None))
            if not changes:
                if log is not None:
                    self._log_in(cur, action, user, sample_id, {**log, "version": version})
                return version
            now = _now()
            new_version = version + 1
            sets += ["version = ?", "updated_at = ?", "updated_by = ?"]
            params += [new_version, now, user]
            updated = cur.execute(
                f"UPDATE samples SET {', '.join(sets)} WHERE id = ? AND version = ? RETURNING version",
                params + [sample_id, version],
            ).fetchall()
            if not updated:  # changed between our read and our write, inside a snapshot: treat as conflict
                raise ConflictError(sample_id, expected_version, version + 1)
            cur.executemany(
                "INSERT INTO events (sample_id, ts, user_name, action, field, before, after, version) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [[sample_id, now, user, action, fld, before, after, new_version] for fld, before, after in changes],
            )
            if log is not None:
                self._log_in(cur, action, user, sample_id, {**log, "version": new_version})
            return new_version

        return self._retrying(body)

    def set_status_many(self, sample_ids: Sequence[str], status: str, *, user: str) -> int:
        """Set the status of many samples at once (bulk actions); each change is versioned and audited.

        Returns:
            How many samples changed.
        """
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
        ids = list(dict.fromkeys(sample_ids))
        if not ids:
            return 0
        now = _now()

        def body(cur):
            self.authorize(user, "review", ids, cur=cur)
            # Read the statuses being replaced inside the transaction, so the audit log has each one's before.
            before = dict(
                cur.execute(
                    "SELECT id, status FROM samples WHERE id IN (SELECT unnest(?::VARCHAR[])) AND status <> ?",
                    [ids, status],
                ).fetchall()
            )
            changed = cur.execute(
                "UPDATE samples SET status = ?, version = version + 1, updated_at = ?, updated_by = ? "
                "WHERE id IN (SELECT unnest(?::VARCHAR[])) AND status <> ? RETURNING id, version",
                [status, now, user, ids, status],
            ).fetchall()
            if changed:
                cur.executemany(
                    "INSERT INTO events (sample_id, ts, user_name, action, field, before, after, version) "
                    "VALUES (?, ?, ?, 'bulk', 'status', ?, ?, ?)",
                    [[sid, now, user, before.get(sid), status, v] for sid, v in changed],
                )
            return len(changed)

        return self._retrying(body)

    def history(self, sample_id: str) -> list[dict]:
        """The audit events of one sample, oldest first."""
        cur = self.cursor()
        rel = cur.execute(
            "SELECT event_id, ts, user_name, action, field, before, after, version FROM events "
            "WHERE sample_id = ? ORDER BY event_id",
            [sample_id],
        )
        keys = [d[0] for d in rel.description]
        return [dict(zip(keys, r)) for r in rel.fetchall()]

    def recent_events(self, limit: int = 100) -> list[dict]:
        """The newest audit events across the workspace."""
        cur = self.cursor()
        rel = cur.execute(
            "SELECT event_id, sample_id, ts, user_name, action, field, before, after, version FROM events "
            "ORDER BY event_id DESC LIMIT ?",
            [int(limit)],
        )
        keys = [d[0] for d in rel.description]
        return [dict(zip(keys, r)) for r in rel.fetchall()]

    @staticmethod
    def _event_where(user: str | None, action: str | None, sample_id: str | None) -> tuple[str, list]:
        clauses, params = ["true"], []
        for column, value in (("user_name", user), ("action", action), ("sample_id", sample_id)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        return " AND ".join(clauses), params

    def events_page(
        self,
        *,
        user: str | None = None,
        action: str | None = None,
        sample_id: str | None = None,
        offset: int = 0,
        limit: int = 50,
        preview: int = 160,
    ) -> list[dict]:
        """One page of the audit log, newest first, filtered by user, action and sample (None: any).

        Before and after values longer than ``preview`` characters are cut there, with "…", except edited messages,
        which come whole (JSON) so that the page can show what changed in them as a diff (``audit.change_line``).
        """
        where, params = self._event_where(user, action, sample_id)
        n = int(preview)
        cut = "CASE WHEN field <> 'messages' AND length({c}) > {n} THEN left({c}, {n}) || '…' ELSE {c} END AS {c}"
        rel = self.cursor().execute(
            f"SELECT event_id, ts, user_name, action, sample_id, field, version, {cut.format(c='before', n=n)}, "
            f"{cut.format(c='after', n=n)} FROM events WHERE {where} ORDER BY event_id DESC LIMIT ? OFFSET ?",
            params + [int(limit), int(offset)],
        )
        keys = [d[0] for d in rel.description]
        return [dict(zip(keys, r)) for r in rel.fetchall()]

    def count_events(self, *, user: str | None = None, action: str | None = None, sample_id: str | None = None) -> int:
        """How many audit events match the filters of ``events_page``."""
        where, params = self._event_where(user, action, sample_id)
        return self.cursor().execute(f"SELECT count(*) FROM events WHERE {where}", params).fetchall()[0][0]

    def event_facets(self, *, user: str | None = None) -> dict[str, list[str]]:
        """The users and the actions the audit log holds (of ``user`` alone, when given), for filter pickers."""
        where, params = self._event_where(user, None, None)
        cur = self.cursor()
        q = "SELECT DISTINCT {} FROM events WHERE {} ORDER BY 1"
        users = [r[0] for r in cur.execute(q.format("user_name", where), params).fetchall()]
        actions = [r[0] for r in cur.execute(q.format("action", where), params).fetchall()]
        return {"users": users, "actions": actions}

    def user_activity(self, *, user: str | None = None, now: datetime | None = None) -> list[dict]:
        """What each person changed, from the audit log, most recently active first (of ``user`` alone, when given).

        Counts versions (one save is one version, however many fields it changed), not log rows.

        Returns:
            [{user, changes, samples, decisions (accepted or rejected), edits (messages, note, tags or label),
            reverts, decisions_1h, decisions_24h, first_active, last_active}]; times are UTC.
        """
        now = now or _now()
        where, params = self._event_where(user, None, None)
        q = f"""
            WITH v AS (
                SELECT user_name, sample_id, version, min(ts) AS ts,
                    bool_or(field = 'status' AND after IN ('accepted', 'rejected')) AS decision,
                    bool_or(field IN ('messages', 'note', 'tags', 'task_label')) AS edit,
                    bool_or(action = 'revert') AS revert
                FROM events WHERE {where} AND sample_id IS NOT NULL AND version IS NOT NULL
                GROUP BY ALL
            )
            SELECT user_name AS user, count(*) AS changes, count(DISTINCT sample_id) AS samples,
                count(*) FILTER (decision) AS decisions, count(*) FILTER (edit) AS edits,
                count(*) FILTER (revert) AS reverts,
                count(*) FILTER (decision AND ts >= ?) AS decisions_1h,
                count(*) FILTER (decision AND ts >= ?) AS decisions_24h,
                min(ts) AS first_active, max(ts) AS last_active
            FROM v GROUP BY user_name ORDER BY last_active DESC, user_name
        """
        rel = self.cursor().execute(q, params + [now - timedelta(hours=1), now - timedelta(hours=24)])
        keys = [d[0] for d in rel.description]
        return [dict(zip(keys, r)) for r in rel.fetchall()]

    # ------------------------------------------------------------------ export

    def iter_export(
        self, f: SampleFilter | None = None, *, with_scores: bool = False, batch_size: int = 10_000
    ) -> Iterator[pa.RecordBatch]:
        """Stream the samples matching ``f`` in import order, a batch at a time (never the whole table).

        Each row has id, source, source_index, format, raw, messages, tools, status, tags, note, version, the
        source's mapping, and (with_scores) every current score column, the task label and its confidence, and the
        sample's place on the current map (cluster, cluster_name, map_x, map_y; NULL without a map).
        """
        score_cols = {c.column: c for c in self.score_columns()}
        where, params = self._where(f, score_cols)
        scorers = (
            {c.scorer for c in score_cols.values()}
            if with_scores
            else {score_cols[c].scorer for c in (f.score_ranges if f else {})}
        )
        select = [
            "s.id",
            "src.name AS source",
            "s.source_index",
            "s.format",
            "s.raw",
            "s.messages",
            "s.tools",
            "s.status",
            "s.tags",
            "s.note",
            "s.version",
            "s.content_hash",
            "src.mapping",
        ]
        joins = ""
        if with_scores:
            select += [f"{_ident(c.scorer)}.{_ident(c.column)}" for c in score_cols.values()]
            select += [
                "s.task_label",
                "s.task_label_confidence",
                "mp.cluster",
                "json_extract_string(mm.cluster_names, '$.\"' || mp.cluster::VARCHAR || '\"') AS cluster_name",
                "mp.x AS map_x",
                "mp.y AS map_y",
            ]
            joins = (
                " LEFT JOIN map_points mp ON mp.content_hash = s.content_hash "
                "AND mp.map_key = (SELECT value FROM meta WHERE key = 'current_map') "
                "LEFT JOIN maps mm ON mm.map_key = mp.map_key"
            )
        q = (
            f"SELECT {', '.join(select)} FROM {self._from(scorers)} "
            f"JOIN sources src ON src.source_id = s.source_id{joins} WHERE {where} ORDER BY s.rid"
        )
        reader = self.cursor().sql(q, params=params).to_arrow_reader(batch_size)
        yield from reader

    def source_files(self, f: SampleFilter | None = None) -> list[dict]:
        """The sources that samples matching ``f`` came from, with their sha256 (for export manifests)."""
        where, params = self._where(f, {c.column: c for c in self.score_columns()})
        cur = self.cursor()
        rows = cur.execute(
            f"SELECT src.name, src.path, src.sha256, src.format, count(*) FROM {self._from(())} "
            f"JOIN sources src ON src.source_id = s.source_id WHERE {where} GROUP BY ALL ORDER BY 1",
            params,
        ).fetchall()
        return [{"name": r[0], "path": r[1], "sha256": r[2], "format": r[3], "samples": r[4]} for r in rows]

    def sample_arrays(
        self,
        columns: Sequence[str],
        f: SampleFilter | None = None,
        *,
        embedding: bool = False,
        batch_size: int = 50_000,
    ) -> dict[str, object]:
        """Whole columns over the samples matching ``f``, in import order, for algorithms (selection, the map).

        Not for pages: this reads every matching row (a batch at a time, only the columns asked for).

        Args:
            columns: any of ``id``, ``content_hash``, ``status``, ``prompt``, ``answer``, ``source``, ``tags``,
                ``n_turns``, ``task_label``, ``task_label_confidence``, ``dup_of``, or a current score column.
            embedding: also return ``embedding``, an (n, d) float32 matrix with NaN rows where a sample has none.

        Returns:
            {column: numpy array (numbers, booleans as float with NaN for missing) or list (text)}.
        """
        import numpy as np

        plain = {
            "id",
            "content_hash",
            "status",
            "prompt",
            "answer",
            "tags",
            "n_turns",
            "task_label",
            "task_label_confidence",
            "task_label_source",
            "task_label_reason",
            "dup_of",
            "rid",
        }
        score_cols = {c.column: c for c in self.score_columns()}
        select, scorers = [], set()
        for col in columns:
            if col in plain:
                select.append(f"s.{col}")
            elif col == "source":
                select.append("src.name AS source")
            elif col in score_cols:
                select.append(f"{_ident(score_cols[col].scorer)}.{_ident(col)}")
                scorers.add(score_cols[col].scorer)
            else:
                raise NotFound(f"no column {col!r} in this workspace; score it first")
        where, params = self._where(f, score_cols)
        scorers |= {score_cols[c].scorer for c in (f.score_ranges if f else {})}
        dim = None
        if embedding:
            info = self.scorer_keys().get("embedding")
            if info is None:
                raise NotFound("no embeddings yet: run the embedding scorer (Score page, or `core score`)")
            dim = int(re.search(r"\[(\d+)\]", info["columns"]["embedding"]).group(1))
            scorers.add("embedding")
            select.append("embedding.embedding")
        q = (
            f"SELECT {', '.join(select) or 's.rid'} FROM {self._from(scorers)} "
            f"JOIN sources src ON src.source_id = s.source_id WHERE {where} ORDER BY s.rid"
        )
        parts: dict[str, list] = {c: [] for c in columns}
        vectors = []
        for batch in self.cursor().sql(q, params=params).to_arrow_reader(batch_size):
            for col in columns:
                parts[col].append(batch.column(col))
            if embedding:
                vec = batch.column("embedding")
                flat = np.full((len(vec), dim), np.nan, dtype=np.float32)
                valid = np.asarray(vec.is_valid())
                if valid.any():
                    values = vec.filter(vec.is_valid()).flatten().to_numpy(zero_copy_only=False)
                    flat[valid] = values.astype(np.float32).reshape(-1, dim)
                vectors.append(flat)
        out: dict[str, object] = {}
        for col in columns:
            arr = pa.chunked_array(parts[col]) if parts[col] else pa.chunked_array([], pa.null())
            if pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type) or pa.types.is_boolean(arr.type):
                out[col] = np.asarray(arr.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
                if pa.types.is_integer(arr.type) and col in ("rid", "n_turns") and arr.null_count == 0:
                    out[col] = out[col].astype(np.int64)
            else:
                out[col] = arr.to_pylist()
        if embedding:
            out["embedding"] = np.concatenate(vectors) if vectors else np.zeros((0, dim), np.float32)
        return out

    def log_event(self, action: str, *, user: str, detail: dict, sample_id: str | None = None) -> None:
        """Append a workspace-level event (an export, a scoring run) to the audit log."""
        with self._transaction() as cur:
            self._log_in(cur, action, user, sample_id, detail)

    @staticmethod
    def _log_in(cur, action: str, user: str, sample_id: str | None, detail: dict) -> None:
        """``log_event``'s row, inside the caller's transaction."""
        cur.execute(
            "INSERT INTO events (sample_id, ts, user_name, action, field, before, after, version) "
            "VALUES (?, ?, ?, ?, NULL, NULL, ?, NULL)",
            [sample_id, _now(), user, action, json.dumps(detail, default=str)],
        )

    # ------------------------------------------------------------------ jobs

    def create_job(self, kind: str, params: dict, *, user: str, total: int = 0) -> int:
        """Record a new background job; ``user`` must be allowed the job's kind (see ``core.team.roles.JOB_ACTIONS``)."""
        if kind not in JOB_ACTIONS:
            raise ValueError(
                f"unknown job kind {kind!r}; add it to core.team.roles.JOB_ACTIONS with the action it needs"
            )
        now = _now()

        def body(cur):
            self.authorize(user, JOB_ACTIONS[kind], cur=cur)
            return cur.execute(
                "INSERT INTO jobs (kind, params, status, total, created_by, created_at, updated_at) "
                "VALUES (?, ?, 'queued', ?, ?, ?, ?) RETURNING job_id",
                [kind, json.dumps(params, default=str), total, user, now, now],
            ).fetchall()[0][0]

        return self._retrying(body)

    def update_job(self, job_id: int, **fields) -> None:
        """Set any of status, done, total, message, error on a job."""
        allowed = {"status", "done", "total", "message", "error"}
        bad = set(fields) - allowed
        if bad:
            raise ValueError(f"unknown job fields: {sorted(bad)}")
        sets = [f"{k} = ?" for k in fields] + ["updated_at = ?"]
        params = list(fields.values()) + [_now(), job_id]
        self._retrying(lambda cur: cur.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE job_id = ?", params))

    def request_cancel(self, job_id: int) -> None:
        self._retrying(lambda cur: cur.execute("UPDATE jobs SET cancel_requested = true WHERE job_id = ?", [job_id]))

    def cancel_requested(self, job_id: int) -> bool:
        row = self.cursor().execute("SELECT cancel_requested FROM jobs WHERE job_id = ?", [job_id]).fetchall()
        return bool(row and row[0][0])

    def get_job(self, job_id: int) -> dict:
        rel = self.cursor().execute("SELECT * FROM jobs WHERE job_id = ?", [job_id])
        row = _one(rel.fetchall())
        if row is None:
            raise NotFound(f"no job {job_id}")
        job = dict(zip([d[0] for d in rel.description], row))
        job["params"] = json.loads(job["params"])
        return job

    def jobs(self, limit: int = 20, kind: str | None = None) -> list[dict]:
        q = "SELECT * FROM jobs" + (" WHERE kind = ?" if kind else "") + " ORDER BY job_id DESC LIMIT ?"
        rel = self.cursor().execute(q, ([kind] if kind else []) + [int(limit)])
        keys = [d[0] for d in rel.description]
        out = []
        for r in rel.fetchall():
            job = dict(zip(keys, r))
            job["params"] = json.loads(job["params"])
            out.append(job)
        return out

    def fail_orphaned_jobs(self) -> int:
        """Mark jobs left 'running' or 'queued' by a process that died as failed. Call once at startup.

        Returns:
            How many jobs were marked.
        """

        def body(cur):
            return len(
                cur.execute(
                    "UPDATE jobs SET status = 'failed', error = 'the process running it stopped; start it again "
                    "to resume', updated_at = ? WHERE status IN ('queued', 'running') RETURNING job_id",
                    [_now()],
                ).fetchall()
            )

        return self._retrying(body)

    # ------------------------------------------------------------------ scores

    def ensure_scorer(self, name: str, key: str, columns: dict[str, str], params: dict) -> None:
        """Create the scorer's table (adding any new columns) and make ``key`` its current key."""
        t = _ident(name)
        for col, typ in columns.items():
            _ident(col)
            if not _TYPE.fullmatch(typ):
                raise ValueError(f"unsupported score column type {typ!r} for {col}")

        def body(cur):
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS score_{t} (content_hash VARCHAR NOT NULL, scorer_key VARCHAR NOT NULL, "
                "scored_at TIMESTAMP NOT NULL, PRIMARY KEY (content_hash, scorer_key))"
            )
            have = dict(
                cur.execute(
                    "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?",
                    [f"score_{t}"],
                ).fetchall()
            )
            for col, typ in columns.items():
                if col not in have:
                    cur.execute(f"ALTER TABLE score_{t} ADD COLUMN {col} {typ}")
                elif (was := have[col]) != typ and was.endswith("]") and not was.endswith("[]") and typ.endswith("]"):
                    # Another embedder, another dimension (FLOAT[384] -> FLOAT[512]): the column becomes a list
                    # (FLOAT[]) so both keys' vectors fit; each key's rows keep their own length.
                    cur.execute(f"ALTER TABLE score_{t} ALTER COLUMN {col} TYPE {typ[: typ.index('[')]}[]")
            cur.execute(
                "INSERT OR REPLACE INTO scorers VALUES (?, ?, ?, ?, ?)",
                [name, key, json.dumps(columns), json.dumps(params, default=str), _now()],
            )

        self._retrying(body)
        self._score_columns_cache = None

    def unscored(self, name: str, key: str, *, limit: int | None = None, after_hash: str | None = None) -> list[dict]:
        """Distinct contents with no result for ``key`` yet, by content_hash: [{content_hash, messages, tools}].

        Scorers work on content, so duplicates are scored once. Pass ``after_hash`` to page through.
        """
        t = _ident(name)
        q = (
            "SELECT s.content_hash, arg_min(s.messages, s.rid) AS messages, arg_min(s.raw, s.rid) AS raw, "
            "arg_min(s.format, s.rid) AS format, arg_min(s.tools, s.rid) AS tools, "
            "arg_min(src.mapping, s.rid) AS mapping FROM samples s JOIN sources src ON src.source_id = s.source_id "
            f"WHERE NOT EXISTS (SELECT 1 FROM score_{t} r WHERE r.content_hash = s.content_hash AND r.scorer_key = ?)"
        )
        params: list = [key]
        if after_hash is not None:
            q += " AND s.content_hash > ?"
            params.append(after_hash)
        q += " GROUP BY s.content_hash ORDER BY s.content_hash"
        if limit is not None:
            q += " LIMIT ?"
            params.append(int(limit))
        rows = self.cursor().execute(q, params).fetchall()
        return [
            {
                "content_hash": h,
                "messages": messages_of(messages, raw, fmt, mapping),
                "tools": json.loads(tools) if tools is not None else None,
            }
            for h, messages, raw, fmt, tools, mapping in rows
        ]

    def count_unscored(self, name: str, key: str) -> tuple[int, int]:
        """(contents still to score, distinct contents in the workspace) for a scorer key."""
        t = _ident(name)
        cur = self.cursor()
        total = cur.execute("SELECT count(DISTINCT content_hash) FROM samples").fetchall()[0][0]
        exists = cur.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [f"score_{t}"]
        ).fetchall()[0][0]
        if not exists:
            return total, total
        todo = cur.execute(
            f"SELECT count(DISTINCT content_hash) FROM samples s WHERE NOT EXISTS "
            f"(SELECT 1 FROM score_{t} r WHERE r.content_hash = s.content_hash AND r.scorer_key = ?)",
            [key],
        ).fetchall()[0][0]
        return todo, total

    def scorer_keys(self) -> dict[str, dict]:
        """The current key of each scorer that has run: {name: {key, columns, params, updated_at}}."""
        rows = self.cursor().execute("SELECT name, key, columns, params, updated_at FROM scorers").fetchall()
        return {
            r[0]: {"key": r[1], "columns": json.loads(r[2]), "params": json.loads(r[3]), "updated_at": r[4]}
            for r in rows
        }

    def write_scores(self, name: str, key: str, columns: dict[str, str], rows: list[tuple[str, dict]]) -> None:
        """Write one batch of results, in its own transaction: (content_hash, {column: value}) pairs.

        A result of None (not applicable) is stored as a row of NULLs, so the content is not queued again.
        """
        t = _ident(name)
        cols = [_ident(c) for c in columns]
        now = _now()
        data = {"content_hash": [h for h, _ in rows], "scorer_key": [key] * len(rows), "scored_at": [now] * len(rows)}
        for c in cols:
            data[c] = [(r or {}).get(c) for _, r in rows]
        table = pa.table(data)

        def body(cur):
            cur.register("new_scores", table)
            try:
                cur.execute(
                    f"INSERT OR REPLACE INTO score_{t} (content_hash, scorer_key, scored_at, {', '.join(cols)}) "
                    f"SELECT content_hash, scorer_key, scored_at, "
                    + ", ".join(f"{c}::{columns[c]}" for c in cols)
                    + " FROM new_scores"
                )
            finally:
                cur.unregister("new_scores")

        self._retrying(body)

    def score_values(self, column: str, f: SampleFilter | None = None, *, limit: int = 200_000) -> list:
        """Values of one current score column over the samples matching ``f`` (for histograms; capped)."""
        cols = {c.column: c for c in self.score_columns()}
        if column not in cols:
            raise NotFound(f"no score column {column!r}; score the workspace first")
        sc = cols[column]
        where, params = self._where(f, cols)
        used = {sc.scorer} | {cols[c].scorer for c in (f.score_ranges if f else {})}
        q = (
            f"SELECT {_ident(sc.scorer)}.{_ident(column)} FROM {self._from(used)} WHERE {where} "
            f"AND {_ident(sc.scorer)}.{_ident(column)} IS NOT NULL USING SAMPLE reservoir({int(limit)} ROWS) REPEATABLE (0)"
        )
        return [r[0] for r in self.cursor().execute(q, params).fetchall()]

    # ---- selections

    def save_selection(
        self,
        name: str,
        *,
        recipe: str,
        recipe_hash: str,
        log: list[dict],
        members: Sequence[tuple[str, int]],
        user: str,
    ) -> dict:
        """Save (or replace) a named selection and its members in one transaction.

        Args:
            recipe: the recipe's YAML text.
            log: one entry per step (JSON-able), with its input and output counts.
            members: (sample id, stage) in selection order; stages are 1-based, and a sample may be in several.

        Returns:
            The saved selection's summary, as ``selections`` lists it.
        """
        if not name or not name.strip():
            raise WinnowError("a selection needs a name")
        self.authorize(user, "select")  # before the members are copied
        name = name.strip()
        now = _now()
        stages = max((stage for _, stage in members), default=1)
        table = pa.table(
            {
                "selection": pa.array([name] * len(members), pa.string()),
                "sample_id": pa.array([sid for sid, _ in members], pa.string()),
                "position": pa.array(range(len(members)), pa.int64()),
                "stage": pa.array([int(stage) for _, stage in members], pa.int32()),
            }
        )

        def body(cur):
            self.authorize(user, "select", cur=cur)
            cur.execute("DELETE FROM selection_members WHERE selection = ?", [name])
            cur.execute("DELETE FROM selections WHERE name = ?", [name])
            cur.execute(
                "INSERT INTO selections VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [name, recipe, recipe_hash, json.dumps(log, default=str), len(members), stages, now, user],
            )
            cur.register("new_members", table)
            try:
                cur.execute("INSERT INTO selection_members SELECT * FROM new_members")
            finally:
                cur.unregister("new_members")
            cur.execute(
                "INSERT INTO events (sample_id, ts, user_name, action, field, before, after, version) "
                "VALUES (NULL, ?, ?, 'select', 'selection', NULL, ?, NULL)",
                [now, user, json.dumps({"name": name, "samples": len(members), "recipe_hash": recipe_hash})],
            )

        self._retrying(body)
        return self.get_selection(name, with_log=False)

    def selections(self) -> list[dict]:
        """Every saved selection, newest first: {name, recipe_hash, samples, stages, created_at, created_by}."""
        rows = (
            self.cursor()
            .execute(
                "SELECT name, recipe_hash, samples, stages, created_at, created_by FROM selections "
                "ORDER BY created_at DESC, name"
            )
            .fetchall()
        )
        keys = ("name", "recipe_hash", "samples", "stages", "created_at", "created_by")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def get_selection(self, name: str, *, with_log: bool = True) -> dict:
        """One selection: its summary, its recipe (YAML text) and, ``with_log``, the per-step log (parsed).

        Raises:
            NotFound: no selection has that name.
        """
        row = _one(
            self.cursor()
            .execute(
                "SELECT name, recipe, recipe_hash, log, samples, stages, created_at, created_by FROM selections "
                "WHERE name = ?",
                [name],
            )
            .fetchall()
        )
        if row is None:
            raise NotFound(f"no selection named {name!r}; run a recipe first (Select page, or `core select`)")
        keys = ("name", "recipe", "recipe_hash", "log", "samples", "stages", "created_at", "created_by")
        out = dict(zip(keys, row, strict=True))
        if with_log:
            out["log"] = json.loads(out["log"])
        else:
            del out["log"], out["recipe"]
        return out

    def selection_ids(
        self, name: str, *, stage: int | None = None, offset: int = 0, limit: int | None = None
    ) -> list[str]:
        """The member ids of a selection in selection order (one stage, or all stages in stage order); paged."""
        q = "SELECT sample_id FROM selection_members WHERE selection = ?"
        params: list = [name]
        if stage is not None:
            q += " AND stage = ?"
            params.append(int(stage))
        q += " ORDER BY position LIMIT ? OFFSET ?"
        params += [int(limit) if limit is not None else 2**62, int(offset)]
        return [r[0] for r in self.cursor().execute(q, params).fetchall()]

    def delete_selection(self, name: str, *, user: str) -> bool:
        """Delete a selection and its members (audited). Returns whether it existed."""

        def body(cur):
            self.authorize(user, "delete", cur=cur)
            cur.execute("DELETE FROM selection_members WHERE selection = ?", [name])
            gone = bool(cur.execute("DELETE FROM selections WHERE name = ? RETURNING name", [name]).fetchall())
            if gone:
                cur.execute(
                    "INSERT INTO events (sample_id, ts, user_name, action, field, before, after, version) "
                    "VALUES (NULL, ?, ?, 'selection', 'delete', ?, NULL, NULL)",
                    [_now(), user, json.dumps({"name": name})],
                )
            return gone

        return self._retrying(body)

    # ---- map, labels, balance

    def _meta(self, cur, key: str) -> str | None:
        row = _one(cur.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall())
        return None if row is None else row[0]

    def embedding_fingerprint(self) -> dict | None:
        """What the current embeddings cover, cheaply: {embedding_key, contents, digest}; None when there are none.

        The digest is an order-free hash of the embedded content hashes (xor and sum of their DuckDB hashes), so it
        changes when a sample is imported, edited or removed, without reading every hash into Python.
        """
        info = self.scorer_keys().get("embedding")
        if info is None:
            return None
        q = (
            "SELECT count(*), coalesce(bit_xor(hash(e.content_hash)), 0), "
            "coalesce(sum(hash(e.content_hash) % 1000003), 0) FROM score_embedding e WHERE e.scorer_key = ? "
            "AND e.embedding IS NOT NULL AND e.content_hash IN (SELECT content_hash FROM samples)"
        )
        contents, xor, total = self.cursor().execute(q, [info["key"]]).fetchall()[0]
        return {"embedding_key": info["key"], "contents": int(contents), "digest": f"{int(xor):016x}{int(total):x}"}

    def save_map(
        self,
        map_key: str,
        *,
        embedding_key: str,
        k: int,
        seed: int,
        content_hashes: Sequence[str],
        xy,
        clusters,
        names: dict[int, str],
        user: str,
    ) -> None:
        """Store a map (one point and cluster per content) and make it the current one. Older maps beyond the
        ``MAPS_KEPT`` most recent are dropped: each holds a row per content."""
        self.authorize(user, "map")  # before the points are copied
        _map_key(map_key)
        table = pa.table(
            {
                "content_hash": pa.array(list(content_hashes), pa.string()),
                "x": pa.array([float(v) for v in xy[:, 0]], pa.float32()),
                "y": pa.array([float(v) for v in xy[:, 1]], pa.float32()),
                "cluster": pa.array([int(c) for c in clusters], pa.int32()),
            }
        )
        names_json = json.dumps({str(c): n for c, n in names.items()}, ensure_ascii=False)

        def body(cur):
            self.authorize(user, "map", cur=cur)
            cur.execute("DELETE FROM map_points WHERE map_key = ?", [map_key])
            cur.execute("DELETE FROM maps WHERE map_key = ?", [map_key])
            cur.register("new_points", table)
            try:
                cur.execute("INSERT INTO map_points SELECT ?, content_hash, x, y, cluster FROM new_points", [map_key])
            finally:
                cur.unregister("new_points")
            cur.execute(
                "INSERT INTO maps VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [map_key, embedding_key, int(k), int(seed), len(table), names_json, _now(), user],
            )
            cur.execute("INSERT OR REPLACE INTO meta VALUES ('current_map', ?)", [map_key])
            old = [
                r[0]
                for r in cur.execute(
                    "SELECT map_key FROM maps ORDER BY created_at DESC, map_key OFFSET ?", [MAPS_KEPT]
                ).fetchall()
            ]
            if old:
                cur.execute("DELETE FROM map_points WHERE map_key IN (SELECT unnest(?::VARCHAR[]))", [old])
                cur.execute("DELETE FROM maps WHERE map_key IN (SELECT unnest(?::VARCHAR[]))", [old])

        self._retrying(body)
        detail = {"map_key": map_key, "k": int(k), "seed": int(seed), "contents": len(table)}
        self.log_event("map", user=user, detail=detail)

    def _vectors(self, column: pa.ChunkedArray, dim: int):
        """An arrow FLOAT[dim] column (no NULLs) as an (n, dim) float32 matrix."""
        import numpy as np

        if len(column) == 0:
            return np.zeros((0, dim), dtype=np.float32)
        flat = column.combine_chunks().flatten().to_numpy(zero_copy_only=False)
        return np.asarray(flat, dtype=np.float32).reshape(-1, dim)

    def map_placement(self, reference: int) -> dict:
        """What placing new contents on the current map needs (``workspace_map.place_new``): the contents that have
        a current embedding but no point on the map ("new": content_hash, embedding), and up to ``reference`` of the
        map's points with their embeddings ("reference": content_hash, x, y, cluster, embedding), the same ones every
        time (by a hash of their content).

        Raises:
            NotFound: no map, or no embeddings.
        """
        cur = self.cursor()
        key = self._current_map_key(cur)
        info = self.scorer_keys().get("embedding")
        if info is None:
            raise NotFound("no embeddings yet: run the embedding scorer (Score page, or `core score`)")
        dim = int(re.search(r"\[(\d+)\]", info["columns"]["embedding"]).group(1))
        new = cur.sql(
            "SELECT e.content_hash, e.embedding FROM score_embedding e WHERE e.scorer_key = ? AND e.embedding IS NOT "
            "NULL AND e.content_hash IN (SELECT content_hash FROM samples) AND NOT EXISTS (SELECT 1 FROM map_points "
            "mp WHERE mp.map_key = ? AND mp.content_hash = e.content_hash) ORDER BY e.content_hash",
            params=[info["key"], key],
        ).to_arrow_table()
        ref = cur.sql(
            "SELECT mp.content_hash, mp.x, mp.y, mp.cluster, e.embedding FROM map_points mp JOIN score_embedding e "
            "ON e.content_hash = mp.content_hash AND e.scorer_key = ? WHERE mp.map_key = ? AND e.embedding IS NOT "
            "NULL ORDER BY hash(mp.content_hash), mp.content_hash LIMIT ?",
            params=[info["key"], key, int(reference)],
        ).to_arrow_table()
        out = {
            "new": {"content_hash": new.column("content_hash").to_pylist()},
            "reference": {c: ref.column(c).to_numpy() for c in ("x", "y", "cluster")},
        }
        out["new"]["embedding"] = self._vectors(new.column("embedding"), dim)
        out["reference"]["embedding"] = self._vectors(ref.column("embedding"), dim)
        out["reference"]["content_hash"] = ref.column("content_hash").to_pylist()
        return out

    def add_map_points(self, map_key: str, content_hashes: Sequence[str], xy, clusters, *, user: str) -> int:
        """Put new contents on a stored map without refitting it (their points come from
        ``workspace_map.place_new``). Returns how many were added (a content already on the map is skipped)."""
        self.authorize(user, "map")
        _map_key(map_key)
        table = pa.table(
            {
                "content_hash": pa.array(list(content_hashes), pa.string()),
                "x": pa.array([float(v) for v in xy[:, 0]], pa.float32()),
                "y": pa.array([float(v) for v in xy[:, 1]], pa.float32()),
                "cluster": pa.array([int(c) for c in clusters], pa.int32()),
            }
        )

        def body(cur):
            self.authorize(user, "map", cur=cur)
            cur.register("placed_points", table)
            try:
                added = cur.execute(
                    "INSERT INTO map_points SELECT ?, p.content_hash, p.x, p.y, p.cluster FROM placed_points p "
                    "WHERE NOT EXISTS (SELECT 1 FROM map_points mp WHERE mp.map_key = ? AND mp.content_hash = "
                    "p.content_hash) RETURNING 1",
                    [map_key, map_key],
                ).fetchall()
                return len(added)
            finally:
                cur.unregister("placed_points")

        return self._retrying(body)

    def map_point_count(self, map_key: str) -> int:
        """How many contents a stored map places: those it was fitted on (``contents``) and any placed since."""
        return self.cursor().execute("SELECT count(*) FROM map_points WHERE map_key = ?", [map_key]).fetchall()[0][0]

    def use_map(self, map_key: str) -> None:
        """Make a stored map the current one (a map already computed for these embeddings is reused, not redone)."""
        if self.get_map(map_key) is None:
            raise NotFound(f"no map {map_key!r} in this workspace")
        self._retrying(lambda cur: cur.execute("INSERT OR REPLACE INTO meta VALUES ('current_map', ?)", [map_key]))

    def get_map(self, map_key: str | None = None) -> dict | None:
        """A stored map's facts (the current map when ``map_key`` is None), or None: {map_key, embedding_key, k,
        seed, contents, cluster_names {int: str}, created_at, created_by}."""
        cur = self.cursor()
        map_key = map_key or self._meta(cur, "current_map")
        if map_key is None:
            return None
        rel = cur.execute("SELECT * FROM maps WHERE map_key = ?", [map_key])
        row = _one(rel.fetchall())
        if row is None:
            return None
        out = dict(zip([d[0] for d in rel.description], row))
        out["cluster_names"] = {int(c): n for c, n in json.loads(out["cluster_names"]).items()}
        return out

    def _current_map_key(self, cur) -> str:
        key = self._meta(cur, "current_map")
        if key is None:
            raise NotFound("no map yet: compute one on the Explore page (or `python -m core map`)")
        return _map_key(key)

    def map_coordinates(self) -> dict[str, object]:
        """Every sample on the current map, in import order: {rid, x, y, cluster} numpy arrays (numbers only, so it
        stays cheap at 1M samples; ``map_details`` fetches the text of the points a page draws)."""
        import numpy as np

        cur = self.cursor()
        key = self._current_map_key(cur)
        table = cur.sql(
            "SELECT s.rid, mp.x, mp.y, mp.cluster FROM samples s JOIN map_points mp "
            f"ON mp.content_hash = s.content_hash AND mp.map_key = '{key}'"
        ).to_arrow_table()
        # Sorted here rather than with ORDER BY: numpy sorts 1M rids in ~50 ms, DuckDB's ORDER BY cost ~0.2 s more.
        out = {c: np.asarray(table.column(c).to_numpy()) for c in ("rid", "x", "y", "cluster")}
        order = np.argsort(out["rid"], kind="stable")
        return {c: v[order] for c, v in out.items()}

    # What ``map_details`` can return besides rid, prompt and a score: {name: SQL expression}.
    MAP_DETAIL_COLUMNS = {
        "id": "s.id",
        "status": "s.status",
        "source": "src.name",
        "task_label": f"coalesce(s.task_label, '{UNLABELED}')",
        "duplicate": "s.dup_of IS NOT NULL",
    }

    def map_details(
        self,
        rids: Sequence[int],
        score_column: str | None = None,
        *,
        columns: Sequence[str] | None = None,
        hover_chars: int = 160,
    ) -> dict:
        """What the map shows of some samples (by rid, in rid order): {rid, id, status, source, task_label,
        duplicate, prompt (first ``hover_chars`` characters)} and, when asked, one current score column as "score".

        Args:
            columns: only these of id, status, source, task_label, duplicate and prompt (rid always comes); None
                means all. The Explore page reads the prompts once per map and only the colouring column per run.
        """
        score_cols = {c.column: c for c in self.score_columns()}
        wanted = [*self.MAP_DETAIL_COLUMNS, "prompt"] if columns is None else list(columns)
        select = ["s.rid"]
        for name in wanted:
            if name == "prompt":
                select.append(f"left(s.prompt, {int(hover_chars)}) AS prompt")
            elif name in self.MAP_DETAIL_COLUMNS:
                select.append(f"{self.MAP_DETAIL_COLUMNS[name]} AS {name}")
            else:
                raise ValueError(f"unknown map detail {name!r}; use {', '.join([*self.MAP_DETAIL_COLUMNS, 'prompt'])}")
        scorers = set()
        if score_column:
            if score_column not in score_cols:
                raise NotFound(f"no score column {score_column!r}; score the workspace first")
            sc = score_cols[score_column]
            select.append(f"{_ident(sc.scorer)}.{_ident(score_column)} AS score")
            scorers.add(sc.scorer)
        q = (
            f"SELECT {', '.join(select)} FROM {self._from(scorers)} JOIN sources src ON src.source_id = s.source_id "
            "WHERE s.rid IN (SELECT unnest(?::BIGINT[])) ORDER BY s.rid"
        )
        return self.cursor().sql(q, params=[[int(r) for r in rids]]).to_arrow_table().to_pydict()

    def revision(self) -> tuple:
        """A token that changes whenever the samples or their scores change: an import, any versioned edit (status,
        tags, note, messages, a confirmed label) or scores written. Cheap at any size (~1 ms at 1M samples: counts,
        a sum of versions and maxima DuckDB keeps statistics for), so pages key their caches on it. Machine-suggested
        labels are not versioned and do not change it."""
        cur = self.cursor()
        q = "SELECT count(*), coalesce(sum(version), 0), max(updated_at) FROM samples"
        token = tuple(cur.execute(q).fetchall()[0])
        for name, key in cur.execute("SELECT name, key FROM scorers ORDER BY name").fetchall():
            rows = cur.execute(f"SELECT count(*), max(scored_at) FROM score_{_ident(name)}").fetchall()[0]
            token += (name, key, *rows)
        return token

    def ids_of_rids(self, rids: Sequence[int]) -> list[str]:
        """The ids of samples given by rid (map selections), in rid order."""
        rows = self.cursor().execute(
            "SELECT id FROM samples WHERE rid IN (SELECT unnest(?::BIGINT[])) ORDER BY rid", [[int(r) for r in rids]]
        )
        return [r[0] for r in rows.fetchall()]

    def cluster_stats(self) -> list[dict]:
        """One row per cluster of the current map: {cluster, name, samples, accepted, rejected, duplicates (shares
        in [0, 1]), ifd_mean, ifd_std (None unless IFD is scored; higher IFD = harder for the model)}."""
        cur = self.cursor()
        key = self._current_map_key(cur)
        has_ifd = "ifd" in {c.column for c in self.score_columns()}
        ifd = "avg(ifd.ifd), stddev_samp(ifd.ifd)" if has_ifd else "NULL, NULL"
        rows = cur.execute(
            f"SELECT mp.cluster, count(*), avg((s.status = 'accepted')::INTEGER), "
            f"avg((s.status = 'rejected')::INTEGER), avg((s.dup_of IS NOT NULL)::INTEGER), {ifd} "
            f"FROM {self._from({'ifd'} if has_ifd else set())} JOIN map_points mp "
            f"ON mp.content_hash = s.content_hash AND mp.map_key = '{key}' GROUP BY 1 ORDER BY 1"
        ).fetchall()
        names = (self.get_map(key) or {}).get("cluster_names", {})
        keys = ("cluster", "samples", "accepted", "rejected", "duplicates", "ifd_mean", "ifd_std")
        return [{**dict(zip(keys, r)), "name": names.get(int(r[0]), f"cluster {r[0]}")} for r in rows]

    def taxonomy(self) -> list[dict] | None:
        """The workspace's task-label taxonomy (``meta['taxonomy']``), or None when none was saved yet."""
        value = self._meta(self.cursor(), "taxonomy")
        return None if value is None else json.loads(value)

    def set_taxonomy(self, taxonomy: list[dict], *, user: str, relabel: dict[str, str | None] | None = None) -> int:
        """Save the taxonomy and, in the same transaction, relabel samples: ``relabel`` maps old label -> new label
        (a rename or a merge) or None (a removed label). Confirmed labels change as versioned, audited edits;
        suggestions are just renamed (or cleared), since they are recomputed anyway.

        Returns:
            How many samples were relabelled.
        """
        now = _now()
        relabel = dict(relabel or {})

        def body(cur):
            self.authorize(user, "taxonomy", cur=cur)
            cur.execute(
                "INSERT OR REPLACE INTO meta VALUES ('taxonomy', ?)", [json.dumps(taxonomy, ensure_ascii=False)]
            )
            changed = 0
            for old, new in relabel.items():
                if old == new:
                    continue
                confirmed = cur.execute(
                    "UPDATE samples SET task_label = ?, task_label_source = CASE WHEN ? IS NULL THEN NULL ELSE "
                    "task_label_source END, version = version + 1, updated_at = ?, updated_by = ? "
                    "WHERE task_label = ? AND task_label_source = 'confirmed' RETURNING id, version",
                    [new, new, now, user, old],
                ).fetchall()
                if confirmed:
                    cur.executemany(
                        "INSERT INTO events (sample_id, ts, user_name, action, field, before, after, version) "
                        "VALUES (?, ?, ?, 'relabel', 'task_label', ?, ?, ?)",
                        [[sid, now, user, old, new, v] for sid, v in confirmed],
                    )
                suggested = cur.execute(
                    "UPDATE samples SET task_label = ?, task_label_confidence = CASE WHEN ? IS NULL THEN NULL ELSE "
                    "task_label_confidence END, task_label_source = CASE WHEN ? IS NULL THEN NULL ELSE "
                    "task_label_source END WHERE task_label = ? AND coalesce(task_label_source, '') <> 'confirmed' "
                    "RETURNING id",
                    [new, new, new, old],
                ).fetchall()
                changed += len(confirmed) + len(suggested)
            cur.execute(
                "INSERT INTO events (sample_id, ts, user_name, action, field, before, after, version) "
                "VALUES (NULL, ?, ?, 'taxonomy', 'taxonomy', NULL, ?, NULL)",
                [now, user, json.dumps({"labels": [t["name"] for t in taxonomy], "relabel": relabel})],
            )
            return changed

        return self._retrying(body)

    def set_suggested_labels(
        self, sample_ids: Sequence[str], labels: Sequence[str], confidences, reasons: Sequence[str] | None = None
    ) -> int:
        """Write machine suggestions and why each was made (not curation state: no version, no audit). Confirmed
        labels are never overwritten. Returns how many samples got a suggestion."""
        table = pa.table(
            {
                "id": pa.array(list(sample_ids), pa.string()),
                "label": pa.array(list(labels), pa.string()),
                "confidence": pa.array([float(c) for c in confidences], pa.float64()),
                "reason": pa.array(list(reasons) if reasons is not None else [None] * len(sample_ids), pa.string()),
            }
        )

        def body(cur):
            cur.register("new_labels", table)
            try:
                return len(
                    cur.execute(
                        "UPDATE samples SET task_label = n.label, task_label_confidence = n.confidence, "
                        "task_label_source = 'suggested', task_label_reason = n.reason FROM new_labels n "
                        "WHERE samples.id = n.id "
                        "AND coalesce(samples.task_label_source, '') <> 'confirmed' RETURNING samples.id"
                    ).fetchall()
                )
            finally:
                cur.unregister("new_labels")

        return self._retrying(body)

    def task_labels_of(self, sample_ids: Sequence[str]) -> dict[str, dict]:
        """The task label of each sample and how it came: {id: {"task_label", "task_label_source",
        "task_label_confidence", "task_label_reason"}} (the reason of a suggestion; a confirmed label has none)."""
        cur = self.cursor()
        rows = cur.execute(
            "SELECT id, task_label, task_label_source, task_label_confidence, CASE WHEN task_label_source = "
            "'suggested' THEN task_label_reason END FROM samples WHERE id IN (SELECT unnest(?::VARCHAR[]))",
            [list(sample_ids)],
        ).fetchall()
        keys = ("task_label", "task_label_source", "task_label_confidence", "task_label_reason")
        return {r[0]: dict(zip(keys, r[1:], strict=True)) for r in rows}

    def set_task_label_many(
        self, sample_ids: Sequence[str], label: str, *, user: str, overwrite_confirmed: bool = False
    ) -> int:
        """Confirm ``label`` as the task label of many samples (bulk actions); each change is versioned and audited.

        A label someone confirmed as another label is kept unless ``overwrite_confirmed``; ``confirm_task_label``
        says how many were kept.

        Returns:
            How many samples changed (a sample already confirmed with this label is not a change).
        """
        ids = list(dict.fromkeys(sample_ids))
        if not ids or not label:
            return 0
        return self.confirm_task_label(
            SampleFilter(ids=ids), label, user=user, overwrite_confirmed=overwrite_confirmed
        )["changed"]

    def label_preview(self, f: SampleFilter | None, label: str | None = None) -> dict[str, int]:
        """What a bulk label change over the samples matching ``f`` would touch, counted before it is made.

        Returns:
            {"matching": samples matching ``f``, "confirmed": those whose label a person confirmed, "already": those
            confirmed as ``label``, "confirmed_other": those confirmed as another label (``confirm_task_label``
            keeps them unless told to overwrite)}.
        """
        score_cols = {c.column: c for c in self.score_columns()}
        where, params = self._where(f, score_cols)
        used = {score_cols[c].scorer for c in (f.score_ranges if f else {})}
        q = (
            "SELECT count(*), count(*) FILTER (s.task_label_source = 'confirmed'), "
            "count(*) FILTER (s.task_label_source = 'confirmed' AND s.task_label = ?), "
            "count(*) FILTER (s.task_label_source = 'confirmed' AND s.task_label IS DISTINCT FROM ?) "
            f"FROM {self._from(used)} WHERE {where}"
        )
        row = self.cursor().execute(q, [label, label, *params]).fetchall()[0]
        return dict(zip(("matching", "confirmed", "already", "confirmed_other"), (int(v) for v in row)))

    def confirm_task_label(
        self, f: SampleFilter | None, label: str, *, user: str, overwrite_confirmed: bool = False
    ) -> dict[str, int]:
        """Confirm ``label`` for every sample matching ``f``, in SQL (nothing is read into Python), versioned and
        audited, in one transaction.

        Labels a person confirmed as another label are kept and counted, unless ``overwrite_confirmed``: a bulk action
        should not silently undo other annotators' decisions. A filter of ids needs "review" rights on those samples
        (annotators: their assignments); any other filter is bulk labelling, for leads ("label").

        Returns:
            {"changed": samples now confirmed as ``label``, "kept_confirmed": samples left with the other label a
            person confirmed (0 when overwriting)}.
        """
        label = " ".join((label or "").split())
        if not label:
            raise WinnowError("choose a task label to confirm")
        mine = "NOT (s.task_label IS NOT DISTINCT FROM ? AND s.task_label_source = 'confirmed')"
        guard = mine if overwrite_confirmed else "coalesce(s.task_label_source, '') <> 'confirmed'"

        def body(cur):
            self._authorize_labelling(user, f, cur)
            changed = self._change_labels(cur, f, guard, [label] if overwrite_confirmed else [], label, user, "bulk")
            kept = 0
            if not overwrite_confirmed:
                kept = self._count_where(
                    cur, f, "s.task_label_source = 'confirmed' AND s.task_label IS DISTINCT FROM ?", [label]
                )
            return {"changed": changed, "kept_confirmed": kept}

        return self._retrying(body)

    def clear_task_labels(self, f: SampleFilter | None, *, user: str) -> int:
        """Remove the confirmed task label of every sample matching ``f`` (versioned and audited, in SQL). The
        samples are unlabelled until the next suggestion run; machine suggestions are left as they are.

        Returns:
            How many samples lost a confirmed label.
        """

        def body(cur):
            self._authorize_labelling(user, f, cur)
            return self._change_labels(cur, f, "s.task_label_source = 'confirmed'", [], None, user, "bulk")

        return self._retrying(body)

    def clear_task_label(self, sample_id: str, expected_version: int, *, user: str) -> int:
        """Remove one sample's confirmed task label, based on the version the caller saw (Review).

        Returns:
            The new version (the same one when the label was not a confirmed one: nothing changed).

        Raises:
            ConflictError: the sample is no longer at ``expected_version``; nothing was written.
            NotFound: no such sample.
        """

        def body(cur):
            self.authorize(user, "review", [sample_id], cur=cur)
            row = _one(cur.execute("SELECT version FROM samples WHERE id = ?", [sample_id]).fetchall())
            if row is None:
                raise NotFound(f"no sample {sample_id!r} in this workspace")
            if row[0] != expected_version:
                raise ConflictError(sample_id, expected_version, row[0])
            guard = "s.task_label_source = 'confirmed'"
            changed = self._change_labels(cur, SampleFilter(ids=[sample_id]), guard, [], None, user, "review")
            return row[0] + changed

        return self._retrying(body)

    def _authorize_labelling(self, user: str, f: SampleFilter | None, cur) -> None:
        if f is not None and f.ids is not None:
            self.authorize(user, "review", list(f.ids), cur=cur)
        else:
            self.authorize(user, "label", cur=cur)

    def _count_where(self, cur, f: SampleFilter | None, guard: str, guard_params: list) -> int:
        score_cols = {c.column: c for c in self.score_columns()}
        where, params = self._where(f, score_cols)
        used = {score_cols[c].scorer for c in (f.score_ranges if f else {})}
        q = f"SELECT count(*) FROM {self._from(used)} WHERE {where} AND {guard}"
        return cur.execute(q, params + guard_params).fetchall()[0][0]

    def _change_labels(
        self, cur, f: SampleFilter | None, guard: str, guard_params: list, label: str | None, user: str, action: str
    ) -> int:
        """Inside a transaction: set the confirmed task label of the samples matching ``f`` and ``guard`` to
        ``label`` (None removes it). The audit rows are written first, from the rows as they are before the update;
        both statements select the same rows (same snapshot, same predicate). Returns how many changed."""
        score_cols = {c.column: c for c in self.score_columns()}
        where, params = self._where(f, score_cols)
        used = {score_cols[c].scorer for c in (f.score_ranges if f else {})}
        match = f"SELECT s.rid FROM {self._from(used)} WHERE {where} AND {guard}"
        match_params = params + guard_params
        now = _now()
        before = (
            "CASE WHEN s.task_label IS NULL OR s.task_label_source = 'confirmed' THEN s.task_label "
            "ELSE s.task_label || ' (suggested)' END"
        )
        cur.execute(
            "INSERT INTO events (sample_id, ts, user_name, action, field, before, after, version) "
            f"SELECT s.id, ?, ?, ?, 'task_label', {before}, ?, s.version + 1 FROM samples s WHERE s.rid IN ({match})",
            [now, user, action, label, *match_params],
        )
        if label is None:
            sets, set_params = "task_label = NULL, task_label_confidence = NULL, task_label_source = NULL", []
        else:
            sets, set_params = "task_label = ?, task_label_confidence = 1.0, task_label_source = 'confirmed'", [label]
        return cur.execute(
            f"UPDATE samples SET {sets}, version = version + 1, updated_at = ?, updated_by = ? WHERE rid IN ({match})",
            [*set_params, now, user, *match_params],
        ).fetchall()[0][0]

    def add_tag_many(self, sample_ids: Sequence[str], tag: str, *, user: str) -> int:
        """Add a tag to many samples (bulk actions); each change is versioned and audited. Returns how many changed."""
        ids = list(dict.fromkeys(sample_ids))
        tag = (tag or "").strip()
        if not ids or not tag:
            return 0
        now = _now()

        def body(cur):
            self.authorize(user, "review", ids, cur=cur)
            changed = cur.execute(
                "UPDATE samples SET tags = list_sort(list_append(tags, ?)), version = version + 1, updated_at = ?, "
                "updated_by = ? WHERE id IN (SELECT unnest(?::VARCHAR[])) AND NOT list_contains(tags, ?) "
                "RETURNING id, version, tags",
                [tag, now, user, ids, tag],
            ).fetchall()
            if not changed:
                return 0
            cur.executemany(
                "INSERT INTO events (sample_id, ts, user_name, action, field, before, after, version) "
                "VALUES (?, ?, ?, 'bulk', 'tags', ?, ?, ?)",
                [
                    [sid, now, user, json.dumps(sorted(t for t in tags if t != tag)), json.dumps(sorted(tags)), v]
                    for sid, v, tags in changed
                ],
            )
            return len(changed)

        return self._retrying(body)

    def _dimension_sql(self, cur, dimension: str) -> tuple[str, set[str], str]:
        """(SQL expression, scorers to join, extra join) for a balance dimension."""
        current = self.scorer_keys()
        if dimension == "task_label":
            return "coalesce(s.task_label, '(unlabeled)')", set(), ""
        if dimension == "source":
            return "src.name", set(), "JOIN sources src ON src.source_id = s.source_id"
        if dimension == "status":
            return "s.status", set(), ""
        if dimension == "language":
            if "heuristics" not in current:
                raise NotFound("no languages yet: run the heuristics scorer (Score page)")
            return f"coalesce(heuristics.h_prompt_lang, '{UNKNOWN_LANGUAGE}')", {"heuristics"}, ""
        if dimension == "cluster":
            key = self._current_map_key(cur)
            join = f"LEFT JOIN map_points mp ON mp.content_hash = s.content_hash AND mp.map_key = '{key}'"
            return "coalesce(mp.cluster::VARCHAR, '(no map)')", set(), join
        if dimension == "answer_length":
            cases = " ".join(f"WHEN length(s.answer) < {hi} THEN '{label}'" for hi, label in ANSWER_BUCKETS[:-1])
            return f"CASE {cases} ELSE '{ANSWER_BUCKETS[-1][1]}' END", set(), ""
        if dimension == "ifd":
            if "ifd" not in {c.column for c in self.score_columns()}:
                raise NotFound("no IFD yet: run the ifd scorer (Score page)")
            cases = " ".join(f"WHEN ifd.ifd < {hi} THEN '{label}'" for hi, label in IFD_BUCKETS[:-1])
            return f"CASE WHEN ifd.ifd IS NULL THEN '(not scored)' {cases} ELSE '{IFD_BUCKETS[-1][1]}' END", {"ifd"}, ""
        raise ValueError(f"unknown balance dimension {dimension!r}; use one of {', '.join(BALANCE_DIMENSIONS)}")

    def distribution(self, dimension: str, f: SampleFilter | None = None, *, by: str | None = None) -> list[tuple]:
        """Counts of the samples matching ``f`` per value of a balance dimension (one SQL GROUP BY).

        Args:
            dimension: one of ``BALANCE_DIMENSIONS``: task_label, language (heuristics' h_prompt_lang), source,
                cluster (current map), answer_length (characters, ``ANSWER_BUCKETS``), ifd (``IFD_BUCKETS``), status.
            by: a second dimension, for label × language.

        Returns:
            [(value, count)] or, with ``by``, [(value, by_value, count)], largest first.
        """
        cur = self.cursor()
        score_cols = {c.column: c for c in self.score_columns()}
        where, params = self._where(f, score_cols)
        exprs, scorers, joins = [], {score_cols[c].scorer for c in (f.score_ranges if f else {})}, []
        for dim in [dimension] + ([by] if by else []):
            expr, used, join = self._dimension_sql(cur, dim)
            exprs.append(expr)
            scorers |= used
            if join and join not in joins:
                joins.append(join)
        groups = ", ".join(f"{e} AS d{i}" for i, e in enumerate(exprs))
        q = (
            f"SELECT {groups}, count(*) AS n FROM {self._from(scorers)} {' '.join(joins)} WHERE {where} "
            f"GROUP BY ALL ORDER BY n DESC, {', '.join(f'd{i}' for i in range(len(exprs)))}"
        )
        return [tuple(r) for r in cur.execute(q, params).fetchall()]

    def label_amounts(self, f: SampleFilter | None = None, *, unit: str = "samples") -> dict[str, int]:
        """Per task label, the samples matching ``f``, or their tokens: h_prompt_words + h_answer_words from the
        heuristics scorer, a word count standing in for tokens (a tokenizer would cost minutes at 1M samples)."""
        if unit == "samples":
            return {label: int(n) for label, n in self.distribution("task_label", f)}
        if unit != "tokens":
            raise ValueError(f"unknown unit {unit!r}; use samples or tokens")
        if "heuristics" not in self.scorer_keys():
            raise NotFound("token counts come from the heuristics scorer's word counts: run it first (Score page)")
        score_cols = {c.column: c for c in self.score_columns()}
        where, params = self._where(f, score_cols)
        scorers = {"heuristics"} | {score_cols[c].scorer for c in (f.score_ranges if f else {})}
        q = (
            "SELECT coalesce(s.task_label, '(unlabeled)'), coalesce(sum(coalesce(heuristics.h_prompt_words, 0) + "
            f"coalesce(heuristics.h_answer_words, 0)), 0) FROM {self._from(scorers)} WHERE {where} GROUP BY 1 "
            "ORDER BY 2 DESC, 1"
        )
        rows = self.cursor().execute(q, params).fetchall()
        return {label: int(n) for label, n in rows}

    def save_plan(self, name: str, plan_json: str, *, user: str) -> None:
        """Save (or replace) a mixture plan under ``name`` (JSON from ``core.mixture.to_json``)."""
        name = " ".join((name or "").split())
        if not name:
            raise WinnowError("a plan needs a name")

        def body(cur):
            self.authorize(user, "plan", cur=cur)
            cur.execute("INSERT OR REPLACE INTO plans VALUES (?, ?, ?, ?)", [name, plan_json, _now(), user])
            self._log_in(cur, "plan", user, None, {"name": name})

        self._retrying(body)

    def get_plan(self, name: str) -> str:
        """A saved plan's JSON (``core.mixture.from_json`` reads it). Raises NotFound."""
        row = _one(self.cursor().execute("SELECT plan FROM plans WHERE name = ?", [name]).fetchall())
        if row is None:
            raise NotFound(f"no plan {name!r} in this workspace")
        return row[0]

    def plans(self) -> list[dict]:
        """Saved plans, newest first: [{name, created_at, created_by}]."""
        rows = self.cursor().execute("SELECT name, created_at, created_by FROM plans ORDER BY created_at DESC, name")
        return [{"name": r[0], "created_at": r[1], "created_by": r[2]} for r in rows.fetchall()]

    # ------------------------------------------------------------------ facts other modules keep

    # Keys of meta that belong to modules outside the store (each module is the only reader and writer of its own).
    FACT_KEYS = ("demo_preparation",)

    def fact(self, key: str) -> str | None:
        """A value another module keeps in the workspace (one of ``FACT_KEYS``), or None when it was never set."""
        if key not in self.FACT_KEYS:
            raise ValueError(f"unknown fact {key!r}; add it to Store.FACT_KEYS")
        return self._meta(self.cursor(), key)

    def set_fact(self, key: str, value: str | None) -> None:
        """Keep ``value`` under ``key`` (one of ``FACT_KEYS``); None removes it."""
        if key not in self.FACT_KEYS:
            raise ValueError(f"unknown fact {key!r}; add it to Store.FACT_KEYS")
        if value is None:
            self._retrying(lambda cur: cur.execute("DELETE FROM meta WHERE key = ?", [key]))
        else:
            self._retrying(lambda cur: cur.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value]))
