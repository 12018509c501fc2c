"""Winnow's exceptions.

Core raises these; only the surfaces (the CLI and the Streamlit pages) turn them into messages.
Anything that is not a ``WinnowError`` is a bug and should surface with its traceback.

    WinnowError
    ├── FormatError          a file or record is not what its format promises (names file, line, record, field)
    ├── MappingError         a field mapping names absent fields or is malformed
    ├── NotFound             a sample, selection, job or workspace does not exist
    ├── ConflictError        an update was based on a stale version; nothing was written
    ├── WorkspaceLocked      another process holds the workspace's single read-write connection
    ├── PermissionDenied     the acting user's role does not allow the call
    ├── ModelUnavailable     a model cannot be loaded (offline, bad path); the message says how to fix it
    ├── MissingDependency    an optional package is not installed; the message has the pip command
    ├── TaxonomyError        a task-label taxonomy edit is invalid (empty or duplicate name, unknown label)
    ├── PlanError            a mixture plan's targets are invalid (negative, shares over 1, unknown unit)
    ├── RecipeError          a selection recipe is invalid (names the step number, step, parameter and YAML line)
    └── Cancelled            a long job was cancelled by its user
"""

from __future__ import annotations

import re


class WinnowError(Exception):
    """Base class for every error a user can cause and be told about in one line."""


class FormatError(WinnowError):
    """A file or one of its records does not fit its format.

    Messages count every position from 1, as an editor does: "line 5", "record 3", "message 2 of 'messages'".

    Args:
        problem: what is wrong and what was expected, e.g. "expected a string, got a list".
        path: the file's name as the user gave it.
        line: 1-based line number where the record starts, when the format has lines (JSONL, CSV, JSON).
        record: 0-based record index in the file (shown counting from 1, and only when no line is known: then it is
            the way to find the record, e.g. a Parquet row).
        field: the field at fault, as a path with 0-based indexes (``conversations[2].value``); shown in words
            counting from 1 ("turn 3 of 'conversations', field 'value'").
    """

    def __init__(
        self,
        problem: str,
        *,
        path: str | None = None,
        line: int | None = None,
        record: int | None = None,
        field: str | None = None,
    ):
        self.problem = problem
        self.path = path
        self.line = line
        self.record = record
        self.field = field
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.path:
            where.append(str(self.path))
        if self.line is not None:
            where.append(f"line {self.line}")
        elif self.record is not None:
            where.append(f"record {self.record + 1}")
        if self.field:
            where.append(field_in_words(self.field))
        prefix = ", ".join(where)
        return f"{prefix}: {self.problem}" if prefix else self.problem

    def located(self, *, path=None, line=None, record=None) -> FormatError:
        """Return a copy with missing location parts filled in (innermost location wins)."""
        return FormatError(
            self.problem,
            path=self.path or path,
            line=self.line if self.line is not None else line,
            record=self.record if self.record is not None else record,
            field=self.field,
        )


# What one item of a list field is called in a message.
_ITEM_WORDS = {"messages": "message", "prompt": "message", "completion": "message", "conversations": "turn"}
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def field_in_words(path: str) -> str:
    """A field path with 0-based indexes as words counting from 1.

    >>> field_in_words("output")
    "field 'output'"
    >>> field_in_words("conversations[2].from")
    "turn 3 of 'conversations', field 'from'"
    >>> field_in_words("history[1]")
    "item 2 of 'history'"
    """
    if "[" not in path:
        return f"field '{path}'"
    parts: list[str] = []  # built inside out: "message 2 of 'messages'", then its fields
    container = None
    for name, index in _PATH_PART.findall(path):
        if index:
            noun = _ITEM_WORDS.get(container or "", "item")
            parts[-1:] = [f"{noun} {int(index) + 1} of {parts[-1]}" if parts else f"item {int(index) + 1}"]
        else:
            container = name
            parts.append(f"'{name}'")
    if parts[-1].startswith("'"):  # ends on a named field: say "field"
        parts[-1] = f"field {parts[-1]}"
    return ", ".join(parts)


class MappingError(WinnowError):
    """A field mapping is malformed or names fields the file does not have."""


class NotFound(WinnowError):
    """A sample, selection, job or workspace does not exist."""


class ConflictError(WinnowError):
    """An update was based on a version that is no longer current. Nothing was written.

    Attributes:
        sample_id: the sample.
        expected_version: the version the caller based the update on.
        current_version: the version in the workspace now.
        current: the current values of the fields the caller tried to change (for a merge view).
    """

    def __init__(self, sample_id: str, expected_version: int, current_version: int, current: dict | None = None):
        self.sample_id = sample_id
        self.expected_version = expected_version
        self.current_version = current_version
        self.current = current or {}
        super().__init__(
            f"sample {sample_id} changed since you opened it (you edited version {expected_version}, "
            f"it is now version {current_version}); reload it and apply your change again"
        )


class WorkspaceLocked(WinnowError):
    """Another process holds the workspace's read-write connection (DuckDB allows one writer process)."""


class PermissionDenied(WinnowError):
    """The acting user's role does not allow this call."""


class ModelUnavailable(WinnowError):
    """A model cannot be loaded. The message says what was tried and how to fix it."""


class MissingDependency(WinnowError):
    """An optional package is missing. The message carries the pip command that installs it."""


class Cancelled(WinnowError):
    """A long-running job was cancelled by its user."""


class TaxonomyError(WinnowError):
    """A task-label taxonomy edit is invalid: an empty or duplicate name, or a label that does not exist."""


class PlanError(WinnowError):
    """A mixture plan cannot be built or read: negative targets, shares summing over 1, an unknown unit or preset."""


class RecipeError(WinnowError):
    """A selection recipe cannot be read or run: bad YAML, an unknown step or parameter, a wrong type or range.

    Args:
        problem: what is wrong and what was expected, e.g. "expected an integer >= 1, got -3".
        step: 1-based number of the step at fault.
        step_name: the step's name as written (``k_center``).
        param: the parameter at fault.
        line: 1-based line of the recipe's YAML text, when known.
    """

    def __init__(
        self,
        problem: str,
        *,
        step: int | None = None,
        step_name: str | None = None,
        param: str | None = None,
        line: int | None = None,
    ):
        self.problem = problem
        self.step = step
        self.step_name = step_name
        self.param = param
        self.line = line
        where = []
        if step is not None:
            where.append(f"step {step}" + (f" ({step_name})" if step_name else ""))
        if line is not None:
            where.append(f"line {line}")
        if param:
            where.append(f"parameter '{param}'")
        super().__init__(f"{', '.join(where)}: {problem}" if where else problem)


def brief(value, limit: int = 80) -> str:
    """``repr(value)`` in at most about ``limit`` characters, for a message that shows a value a user wrote.

    A value can be huge once expanded (a 50 MB string, a list nested deep, YAML aliases of aliases): reprlib looks
    at the first few items of each container and a few levels only, so the cost does not depend on the size.
    """
    import reprlib

    short = reprlib.Repr()
    short.maxlevel, short.maxdict, short.maxlist, short.maxtuple, short.maxset = 3, 4, 6, 6, 6
    short.maxstring = short.maxother = short.maxlong = limit
    text = short.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
