"""The canonical form of a sample, the validation every format shares, and views of a sample's messages.

:class:`Canonical` is what every format converts to (see core/formats/__init__.py). Conversations are validated the
same way for every format: optional system messages first, then user and assistant alternate, ``tool`` messages may only
follow an assistant tool call (or another tool message), and the last message is the assistant's. Empty strings are
allowed (quality filters judge them); C0 control characters other than tab, newline and carriage return are rejected,
because they are almost always broken data and upset tokenizers.

A message keeps the extra keys its format gave it (OpenAI ``tool_calls``, ``name``, ``tool_call_id``, a ShareGPT
turn's extra keys). :func:`content_hash`, :func:`prompt_text` and :func:`answer_text` are the views the workspace
stores beside each sample.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from core.errors import FormatError

FORMATS = ("alpaca", "sharegpt", "openai", "prompt-completion", "mapped")
# ``from_canonical`` also writes "mapped" when it is given a mapping; Parquet is a container the exporter handles.
EXPORT_FORMATS = ("alpaca", "sharegpt", "openai", "prompt-completion")
ROLES = ("system", "user", "assistant", "tool")


@dataclass(slots=True)
class Canonical:
    """A sample in canonical form.

    Attributes:
        messages: ``[{"role", "content", ...extra keys}]``, validated (see the module docstring).
        tools: tool definitions as the record gave them (a list, or ShareGPT's JSON string); None when absent or empty.
        extras: the record's top-level keys the format does not know (``id``, ``category``...), written back on export.
    """

    messages: list[dict]
    tools: object | None = None
    extras: dict = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------------------------
# Validation shared by the formats

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_has_control = _CONTROL.search
_NOT_CONTROL = bytes(b for b in range(256) if b >= 0x20 or b in (0x09, 0x0A, 0x0D))


def _controls_in(text: str) -> bool:
    """True when ``text`` holds a C0 control character other than tab, newline and carriage return.

    Deleting every other byte from the UTF-8 leaves only the control characters (bytes of multi-byte sequences are
    all >= 0x80). On one string joined from a record's texts this is about 3x faster than a regex search per string;
    the regex then finds the culprit in the rare record that has one.
    """
    return bool(text.encode("utf-8", "surrogatepass").translate(None, _NOT_CONTROL))


def _raise_control(texts: list[str], fields: list[str]) -> None:
    for text, name in zip(texts, fields):
        if _has_control(text):
            raise _control_error(text, name)


_ROLE_SET = frozenset(ROLES)
_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
    list: "a list",
    dict: "an object",
}
_MISSING = object()


def _type_name(value: object) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _type_error(value: object, field: str, expected: str = "a string") -> FormatError:
    hint = ""
    if type(value) is list and expected == "a string":
        hint = " (lists of content parts, e.g. images, are not supported)"
    return FormatError(f"expected {expected}, got {_type_name(value)}{hint}", field=field)


def _control_error(text: str, field: str) -> FormatError:
    m = _CONTROL.search(text)
    return FormatError(
        f"contains control character U+{ord(m.group()):04X} at character {m.start() + 1}; only tab, newline and "
        "carriage return are allowed",
        field=field,
    )


def _missing(name: str, needs: str, record: dict) -> FormatError:
    found = ", ".join(map(str, record)) or "none"
    return FormatError(f"required field is missing ({needs}; keys found: {found})", field=name)


def _is_tool_call(message: dict) -> bool:
    return bool(
        message.get("tool_calls") or message.get("function_call") or message.get("sharegpt_from") == "function_call"
    )


def _check_order(
    messages: list[dict],
    field_of: Callable[[int], str],
    names: dict | None = None,
    offset: int = 0,
    noun: str = "message",
) -> None:
    """Raise unless the messages are: system*, then user/assistant alternating (tools after tool calls), assistant last.

    ``field_of(j)`` names message j's role field in the record; positions in messages are ``j - offset`` (ShareGPT's
    top-level system prompt comes before its first turn). Messages name them by ``noun`` counting from 1.
    """
    n = len(messages)
    i = 0
    while i < n and messages[i]["role"] == "system":
        i += 1
    prev = None
    tool_call = False
    for j in range(i, n):
        message = messages[j]
        role = message["role"]
        if role == "user":
            ok = prev is None or prev == "assistant"
        elif role == "assistant":
            ok = prev == "user" or prev == "tool"
        elif role == "tool":
            ok = prev == "tool" or tool_call
        else:
            raise FormatError(
                f"a system message as {noun} {j - offset + 1}: system messages must come first", field=field_of(j)
            )
        if not ok:
            raise FormatError(
                _order_problem(prev, role, tool_call, f"{noun} {j - offset + 1}", names or {}), field=field_of(j)
            )
        prev = role
        tool_call = role == "assistant" and len(message) > 2 and _is_tool_call(message)
    if prev != "assistant":
        got = f"'{(names or {}).get(prev, prev)}'" if prev else "only system messages"
        raise FormatError(
            f"no assistant turn: the last message must be from the assistant (got {got})", field=field_of(n - 1)
        )


def _order_problem(prev: str | None, role: str, tool_call: bool, place: str, names: dict) -> str:
    def q(r: str) -> str:
        return f"'{names.get(r, r)}'"

    if prev is None:
        expected = q("user")
    elif prev == "user":
        expected = q("assistant")
    elif prev == "assistant":
        expected = f"{q('user')} or {q('tool')}" if tool_call else q("user")
    else:
        expected = f"{q('tool')} or {q('assistant')}"
    why = "user and assistant turns alternate after optional system messages"
    if role == "tool":
        why = "a tool turn must follow an assistant tool call"
    return f"expected {expected} as {place}, got {q(role)} ({why})"


def _history_messages(history: object, field: str) -> list[dict]:
    if type(history) is not list:
        raise _type_error(history, field, "a list of [question, answer] pairs")
    messages = []
    for k, pair in enumerate(history):
        if type(pair) not in (list, tuple) or len(pair) != 2:
            raise _type_error(pair, f"{field}[{k}]", "a [question, answer] pair")
        for part, role in zip(pair, ("user", "assistant")):
            if type(part) is not str:
                raise _type_error(part, f"{field}[{k}]")
            if _has_control(part):
                raise _control_error(part, f"{field}[{k}]")
            messages.append({"role": role, "content": part})
    return messages


def _required_pair(record: dict, first: str, second: str, needs: str) -> tuple[object, object]:
    """The values of a record's two required keys, unchecked; a missing one raises FormatError saying what the
    format ``needs`` and which keys the record has."""
    try:
        return record[first], record[second]
    except KeyError as e:
        raise _missing(e.args[0], needs, record) from None


def _system_and_tools(record: dict) -> tuple[list[dict], object | None, int]:
    """A record's optional top-level "system" (a string) and "tools" (kept as given), as Alpaca and ShareGPT hold them.

    Returns:
        (the system message in a list, empty when the prompt is absent, null or empty; the tools, None when absent or
        empty; how many of the two keys the record has, to tell its extra keys).
    """
    messages = []
    tools = None
    present = 0
    if "system" in record:
        present += 1
        system = _optional_text(record, "system")
        if system:
            messages.append({"role": "system", "content": system})
    if "tools" in record:
        present += 1
        tools = record["tools"] or None
    return messages, tools, present


def _optional_text(record: dict, key: str) -> str:
    """The value of an optional string field: "" when absent, null or empty."""
    value = record.get(key)
    if value is None:
        return ""
    if type(value) is not str:
        raise _type_error(value, key)
    if _has_control(value):
        raise _control_error(value, key)
    return value


# --------------------------------------------------------------------------------------------------------------------
# Canonical -> pairs of turns (the formats that hold only plain exchanges)


def _split_system(c: Canonical, fmt: str) -> tuple[str | None, list[dict]]:
    """Return the leading system prompt (at most one) and the remaining messages."""
    messages = c.messages
    if messages and messages[0]["role"] == "system":
        if len(messages) > 1 and messages[1]["role"] == "system":
            raise FormatError(f"{fmt} holds one system prompt; this sample has several", field="messages[1]")
        return messages[0]["content"], messages[1:]
    return None, messages


def _turn_pairs(body: list[dict], offset: int, fmt: str) -> list[tuple[str, str]]:
    """Return (user, assistant) pairs for a body of strictly alternating plain turns, or raise."""
    if len(body) < 2 or len(body) % 2:
        raise FormatError(f"{fmt} needs user and assistant turns in pairs; this sample has {len(body)} turns")
    pairs = []
    for k in range(0, len(body), 2):
        user, assistant = body[k], body[k + 1]
        for pos, m, role in ((k, user, "user"), (k + 1, assistant, "assistant")):
            if m["role"] != role or (role == "assistant" and _is_tool_call(m)):
                raise FormatError(
                    f"{fmt} holds only alternating user and assistant turns; found {m['role']}"
                    + (" with a tool call" if m["role"] == "assistant" else ""),
                    field=f"messages[{offset + pos}]",
                )
        pairs.append((user["content"], assistant["content"]))
    return pairs


# --------------------------------------------------------------------------------------------------------------------
# Hashing and text views


def content_hash(messages: list[dict], tools: object | None = None) -> str:
    """Return the sha256 hex digest of the messages (and tools), independent of key order and source format.

    ShareGPT tag aliases (``sharegpt_from`` other than ``function_call``) are left out, so the same conversation read
    from ShareGPT, OpenAI or Alpaca hashes the same. Equal hashes mean exact duplicates.
    """
    for message in messages:
        if len(message) != 2:  # only messages with extra keys can carry a marker to leave out
            messages = [_hash_view(m) for m in messages]
            break
    payload = messages if not tools else [messages, tools]
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _hash_view(m: dict) -> dict:
    tag = m.get("sharegpt_from")
    if tag is None or tag == "function_call":
        return m
    return {k: v for k, v in m.items() if k != "sharegpt_from"}


def prompt_text(messages: list[dict]) -> str:
    """Return the user messages' contents joined by newlines (for display, search and embeddings)."""
    return "\n".join([m["content"] for m in messages if m["role"] == "user"])


def answer_text(messages: list[dict]) -> str:
    """Return the last assistant message's content ("" when there is none)."""
    for m in reversed(messages):
        if m["role"] == "assistant":
            return m["content"]
    return ""


def prompt_and_completion(messages: list[dict]) -> tuple[list[dict], list[dict]]:
    """A conversation split where a trainer's completion starts: the messages up to and including the last user
    turn, and the rest (the answer to it, with any tool calls and tool results on the way)."""
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    return messages[: last_user + 1], messages[last_user + 1 :]
