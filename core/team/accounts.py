"""Accounts, roles and sign-in sessions of a workspace.

Accounts live in the workspace itself (``users``), so a workspace file carries its team. Passwords are hashed with
argon2id (argon2-cffi); there is no default password: the first admin is created by ``python -m core user add
--role admin NAME`` or on the app's first run, and ``core demo`` creates a ``demo`` admin with a generated password
that it prints once.

Roles (what each may do is ``core.team.roles.ROLE_ACTIONS``; the Store checks it on every write with
``Store.authorize``):
    admin       everything, including accounts, backups and switching workspaces
    lead        import, score, map, label, select, export, assign, adjudicate, edit the taxonomy, delete selections,
                change workspace settings (whether Review shows remote images)
    annotator   review and edit the samples assigned to them (a sample shared with other annotators: only as
                their own annotation, until a lead settles it), nothing else

A workspace with no accounts at all is *open*: every caller acts as an admin. That is the single-user case (a
fresh CLI workspace, the tests of one module); the app never stays open, it asks for the first admin.

Sign-in sessions: ``sign_in`` returns a random token; the workspace keeps only its SHA-256, with an expiry that
slides forward on use (``WINNOW_SESSION_HOURS``, default 12) and ends on sign-out, password change, role change
or disabling.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from core.errors import NotFound, PermissionDenied, WinnowError, brief
from core.team.roles import ROLES

if TYPE_CHECKING:
    from core.store import Store

MIN_PASSWORD = 8
SESSION_HOURS = 12.0
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")  # with fullmatch: "$" would let a final newline through


class AuthError(PermissionDenied):
    """Sign-in failed. The message never says whether the name or the password was wrong."""


@dataclass(frozen=True)
class Identity:
    """Who is acting: an account's name and role (``role`` is "admin" for everyone in an open workspace)."""

    name: str
    role: str


def check_name(name: str) -> str:
    """A valid account name (letters, digits, ``._@-``; at most 64), or a WinnowError saying what is wrong."""
    name = (name or "").strip()
    if not _NAME.fullmatch(name):
        raise WinnowError(
            f"account name {name!r} is not valid: use 1-64 letters, digits, '.', '_', '@' or '-', starting with a "
            "letter or digit"
        )
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise WinnowError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD:
        raise WinnowError(f"password too short: use at least {MIN_PASSWORD} characters")
    return password


class HashSlots:
    """At most ``n`` password hashes at once; the others wait their turn.

    argon2id takes 64 MiB per hash (its default memory cost), so N sign-ins at once would take N x 64 MiB: a burst
    of requests could exhaust the server's memory. A semaphore that also counts who waits (tests watch ``changed``).
    """

    def __init__(self, n: int):
        self.n = n
        self.busy = 0
        self.waiting = 0
        self.changed = threading.Condition()

    def __enter__(self) -> None:
        with self.changed:
            self.waiting += 1
            self.changed.notify_all()
            self.changed.wait_for(lambda: self.busy < self.n)
            self.waiting -= 1
            self.busy += 1
            self.changed.notify_all()

    def __exit__(self, *exc) -> None:
        with self.changed:
            self.busy -= 1
            self.changed.notify_all()


MAX_CONCURRENT_HASHES = 2
HASH_SLOTS = HashSlots(MAX_CONCURRENT_HASHES)


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (salted; the parameters are stored in the hash)."""
    from argon2 import PasswordHasher

    with HASH_SLOTS:
        return PasswordHasher().hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        with HASH_SLOTS:
            return PasswordHasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A hash to verify against when the account does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH: list[str] = []

LOCKOUT_ATTEMPTS = 5
LOCKOUT_MINUTES = 15
_clock = time.monotonic  # tests move it forward
_failures: dict[tuple[str, str], list[float]] = {}  # (workspace, name) -> times of recent failed sign-ins
_failures_lock = threading.Lock()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ------------------------------------------------------------------------------------------------ accounts


def add_user(store: Store, name: str, role: str, password: str, *, by: str) -> Identity:
    """Create an account. The first account of a workspace must be an admin (anyone may create it); after that,
    only an admin may add accounts.

    Raises:
        PermissionDenied: ``by`` is not an admin, or the first account is not an admin.
        ConflictError: the name is taken.
    """
    name, role = check_name(name), check_role(role)
    check_password(password)
    if store.user_count() == 0 and role != "admin":
        raise PermissionDenied("the first account of a workspace must be an admin (--role admin)")
    store.insert_user(name, role, hash_password(password), by=by)
    return Identity(name, role)


def set_password(store: Store, name: str, password: str, *, by: str) -> None:
    """Change a password (admins may change anyone's; others only their own). Ends the account's sessions."""
    check_password(password)
    if by != name:
        store.authorize(by, "users")
    store.update_user(name, by=by, password_hash=hash_password(password))


def set_role(store: Store, name: str, role: str, *, by: str) -> None:
    """Change an account's role (admins only). The last admin cannot be demoted."""
    store.update_user(name, by=by, role=check_role(role))


def set_disabled(store: Store, name: str, disabled: bool, *, by: str) -> None:
    """Disable (or enable) an account: it can no longer sign in, and its sessions end. History keeps its name."""
    store.update_user(name, by=by, disabled=bool(disabled))


def update_account(
    store: Store,
    name: str,
    *,
    by: str,
    role: str | None = None,
    password: str | None = None,
    disabled: bool | None = None,
) -> list[str]:
    """Change any of an account's role, password and disabled flag in one transaction: all of them or none (the
    Users page's Save). Ends the account's sessions when anything changes.

    Returns:
        What changed, in words ("role", "password", "disabled"); [] when nothing was asked.

    Raises:
        WinnowError: a bad role or a short password. PermissionDenied: ``by`` may not, or the change would leave
            no enabled admin (then nothing changed at all).
    """
    fields: dict = {}
    if role is not None:
        fields["role"] = check_role(role)
    if disabled is not None:
        fields["disabled"] = bool(disabled)
    if password:
        check_password(password)
    if not fields and not password:
        return []
    if fields or by != name:
        store.authorize(by, "users")  # before the slow hash; update_user checks again inside its transaction
    if password:
        fields["password_hash"] = hash_password(password)
    store.update_user(name, by=by, **fields)
    return [{"password_hash": "password"}.get(k, k) for k in fields]


# ------------------------------------------------------------------------------------------------ sessions


def sign_in(store: Store, name: str, password: str, *, hours: float = SESSION_HOURS) -> tuple[str, Identity]:
    """Check a name and password; return (session token, identity).

    After ``LOCKOUT_ATTEMPTS`` failures for one name within ``LOCKOUT_MINUTES``, that name is refused until the
    oldest of them is that old, whatever the password: guessing costs time. The count lives in this process (the
    app's server), for every name, existing or not, so the refusal says nothing about which names exist. An
    attempt counts from the moment it starts (and is forgotten if the password was right), so parallel sign-ins get
    no more guesses than one after another; at most ``MAX_CONCURRENT_HASHES`` passwords are hashed at once.

    Raises:
        AuthError: unknown name or wrong password (one message for both), a disabled account (said only to whoever
            gave its password), or too many failures.
    """
    name = (name or "").strip()
    key = (str(store.path), name)
    now = _clock()
    # Check the count and count this attempt as a failure in one step, before the slow hash: sign-ins racing each
    # other each see the attempts already under way, so parallel sessions get no more guesses than one session.
    # (Counting only after the hash let every attempt that started within its ~0.1 s through the check.)
    with _failures_lock:
        recent = [t for t in _failures.get(key, []) if now - t < LOCKOUT_MINUTES * 60]
        if len(recent) >= LOCKOUT_ATTEMPTS:
            _failures[key] = recent
            wait = max(1, round((LOCKOUT_MINUTES * 60 - (now - recent[0])) / 60))
            raise AuthError(f"too many failed sign-ins for {brief(name)}: try again in {wait} min, or ask an admin")
        if len(_failures) > 10_000:  # names tried once long ago: forget them, so the table cannot grow forever
            for stale in [k for k, times in _failures.items() if not times or now - times[-1] >= LOCKOUT_MINUTES * 60]:
                del _failures[stale]
        _failures[key] = [*recent, now]
    user = store.get_user(name)
    if user is None:
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(hash_password(secrets.token_hex(8)))
        password_matches(_DUMMY_HASH[0], password or "")
        ok = False
    else:
        ok = password_matches(user["password_hash"], password or "")
    if not ok:
        raise AuthError("wrong name or password")
    with _failures_lock:
        if user["disabled"]:  # the password was right: this attempt was no guess
            with suppress(ValueError):
                _failures.get(key, []).remove(now)
        else:
            _failures.pop(key, None)
    if user["disabled"]:
        raise AuthError("this account is disabled: ask an admin")
    token = secrets.token_urlsafe(32)
    store.create_session(_token_hash(token), user["name"], timedelta(hours=hours))
    return token, Identity(user["name"], user["role"])


def resume(store: Store, token: str | None, *, hours: float = SESSION_HOURS) -> Identity | None:
    """The identity behind a session token, extending the session; None when it is unknown, expired or ended."""
    if not token:
        return None
    row = store.use_session(_token_hash(token), timedelta(hours=hours))
    return Identity(row["name"], row["role"]) if row else None


def sign_out(store: Store, token: str | None) -> None:
    if token:
        store.end_session(_token_hash(token))


# ------------------------------------------------------------------------------------------ keeping a sign-in

# A sign-in outlives a reload in an HttpOnly cookie that holds its token (the workspace still keeps only the token's
# hash). The page cannot set such a cookie itself, and must not hand the token to JavaScript, so it hands the browser
# a one-time code instead; the server's cookie route (serve.py) exchanges it for the token, in a Set-Cookie header.
HANDOFF_SECONDS = 120.0
_handoffs: dict[str, tuple[str, float]] = {}  # sha256(code) -> (token, when it lapses)
_handoffs_lock = threading.Lock()


def cookie_handoff(token: str) -> str:
    """A one-time code for ``token`` that ``redeem_handoff`` accepts once, within ``HANDOFF_SECONDS``."""
    code = secrets.token_urlsafe(32)
    now = _clock()
    with _handoffs_lock:
        for stale in [k for k, (_, until) in _handoffs.items() if until <= now]:
            del _handoffs[stale]
        _handoffs[_token_hash(code)] = (token, now + HANDOFF_SECONDS)
    return code


def redeem_handoff(code: str | None) -> str | None:
    """The token a code was handed out for, once; None for an unknown, used or lapsed code."""
    if not code:
        return None
    with _handoffs_lock:
        token, until = _handoffs.pop(_token_hash(code), (None, 0.0))
    return token if token is not None and _clock() < until else None


def handoff_pending(code: str | None) -> bool:
    """Whether ``code`` still waits to be redeemed (the page keeps asking the browser to until it is)."""
    with _handoffs_lock:
        entry = _handoffs.get(_token_hash(code or ""))
    return entry is not None and _clock() < entry[1]


def identity_of(store: Store, name: str) -> Identity:
    """The identity for a name (CLI and jobs): the account's role, or admin in an open workspace.

    Raises:
        NotFound: the workspace has accounts and ``name`` is none of them.
    """
    role = store.role_of(name)
    if role is None:
        raise NotFound(
            f"no account named {name!r} in this workspace: pass --user NAME (or set WINNOW_USER) to an existing "
            "account; an admin adds accounts with `python -m core user add`"
        )
    return Identity(name, role)
