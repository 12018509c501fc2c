"""The store's base: the one connection, a cursor per call, transactions and their retry, checkpoints, copies,
and the schema migrations (``core.store.migrations``) run at open. Owns the ``meta`` row ``schema_version``; every
other meta key belongs to one module (``meta.py`` names them).

A ``Store`` owns the single read-write connection of its process (DuckDB allows one writer process). Every call
opens its own cursor, so the Streamlit script threads and background jobs can share one ``Store``. Transactions
that collide (DuckDB's optimistic concurrency) are retried a few times before the conflict reaches the caller.
A helper that runs inside a caller's transaction takes that transaction's cursor (``cur``), so it reads what the
write sees and is part of it.

Every value reaches SQL as a parameter. Identifiers that cannot be parameters (score table and column names) come
from the scorer registry and are checked by ``_ident``.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

import duckdb

from core.errors import NotFound, WinnowError, WorkspaceLocked
from core.store.migrations import _MIGRATIONS, SCHEMA_VERSION

log = logging.getLogger("winnow")

# Used with fullmatch: ``$`` alone also matches before a final newline, which would let "name\n" through.
_IDENT = re.compile(r"[a-z][a-z0-9_]{0,62}")


def _ident(name: str) -> str:
    if not _IDENT.fullmatch(name):
        raise ValueError(f"not a safe SQL identifier: {name!r}")
    return name


def _one(rows: list) -> tuple | None:
    """The first row of a fully fetched result, or None. (DuckDB 2 wants results consumed before the next call.)"""
    return rows[0] if rows else None


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class StoreBase:
    """The connection and its plumbing, under the concern mixins that ``core.store.Store`` composes."""

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

    def __enter__(self) -> Self:
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

    def _meta(self, cur, key: str) -> str | None:
        row = _one(cur.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall())
        return None if row is None else row[0]
