"""The ShareGPT format: ``{"conversations" (or "messages"): [{"from", "value"}, ...], "system"?, "tools"?}``.

A ShareGPT turn whose ``from`` is not the usual tag for its role (``function_call``, or aliases such as ``user``) keeps
that tag in the message's ``sharegpt_from``, so it exports back unchanged. ``function_call`` turns are assistant tool
calls and ``observation`` turns are ``tool`` messages; their JSON converts to and from OpenAI ``tool_calls`` here.
"""

from __future__ import annotations

import contextlib
import json

from core.errors import FormatError
from core.formats.messages import (
    _MISSING,
    Canonical,
    _check_order,
    _controls_in,
    _missing,
    _raise_control,
    _system_and_tools,
    _type_error,
)

# ShareGPT's "from" tags. The first tag of each role is the one written on export.
_SHAREGPT_ROLE = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "bard": "assistant",
    "bing": "assistant",
    "model": "assistant",
    "function_call": "assistant",
    "system": "system",
    "observation": "tool",
    "tool": "tool",
    "function": "tool",
}
_SHAREGPT_TAG = {"user": "human", "assistant": "gpt", "system": "system", "tool": "observation"}
_SHAREGPT_KEYS = frozenset(("conversations", "messages", "system", "tools"))
_TURN_RESERVED = frozenset(("role", "content", "sharegpt_from"))


def _sharegpt_to(d: dict) -> Canonical:
    key = "conversations"
    turns = d.get(key)
    if turns is None:
        key = "messages"
        turns = d.get(key)
        if turns is None:
            raise _missing("conversations", "a ShareGPT record needs 'conversations' (or 'messages')", d)
    if type(turns) is not list:
        raise _type_error(turns, key, "a list of turns")
    if not turns:
        raise FormatError("empty conversation: expected user and assistant turns", field=key)
    known = 1
    messages, tools = [], None
    if len(d) > known:
        messages, tools, present = _system_and_tools(d)
        known += present
    offset = len(messages)
    for i, turn in enumerate(turns):
        if type(turn) is not dict:
            raise _type_error(turn, f"{key}[{i}]", "a turn object with 'from' and 'value'")
        tag = turn.get("from")
        value = turn.get("value", _MISSING)
        role = _SHAREGPT_ROLE.get(tag) if type(tag) is str else None
        if role is None:
            raise _turn_error(turn, tag, value, f"{key}[{i}]")
        if type(value) is not str:
            raise _type_error(value, f"{key}[{i}].value")
        message = {"role": role, "content": value}
        if len(turn) > 2:
            for k, v in turn.items():
                if k != "from" and k != "value":
                    if k in _TURN_RESERVED:
                        raise FormatError(f"unexpected key '{k}' in a ShareGPT turn", field=f"{key}[{i}].{k}")
                    message[k] = v
        if tag != _SHAREGPT_TAG[role]:
            message["sharegpt_from"] = tag
        messages.append(message)
    texts = [t["value"] for t in turns]
    if _controls_in("".join(texts)):
        _raise_control(texts, [f"{key}[{i}].value" for i in range(len(texts))])
    _check_order(
        messages, lambda j: f"{key}[{j - offset}].from" if j >= offset else "system", _SHAREGPT_TAG, offset, "turn"
    )
    extras = {k: v for k, v in d.items() if k != key and k not in _SHAREGPT_KEYS} if len(d) > known else {}
    return Canonical(messages, tools, extras)


def _turn_error(turn: dict, tag: object, value: object, where: str) -> FormatError:
    if value is _MISSING or "from" not in turn:
        missing = "from" if "from" not in turn else "value"
        hint = " (this looks like OpenAI messages: use --format openai)" if "role" in turn else ""
        return FormatError(
            f"required field is missing (a ShareGPT turn needs 'from' and 'value'){hint}", field=f"{where}.{missing}"
        )
    if type(tag) is not str:
        return _type_error(tag, f"{where}.from")
    return FormatError(
        f"unknown role '{tag}'; expected one of human, gpt, system, function_call, observation", field=f"{where}.from"
    )


def _sharegpt_from(c: Canonical, raw: dict | None) -> dict:
    key = "conversations"
    messages = c.messages
    system = None
    if raw is not None:
        if "messages" in raw and "conversations" not in raw:
            key = "messages"
        raw_system = raw.get("system")
        if type(raw_system) is str and raw_system and messages and messages[0]["role"] == "system":
            system = messages[0]["content"]
            messages = messages[1:]
    out: dict = {key: [_sharegpt_turn(m, k) for k, m in enumerate(messages)]}
    if system is not None:
        out["system"] = system
    if c.tools is not None:
        out["tools"] = c.tools
    return out


def _sharegpt_turn(m: dict, position: int) -> dict:
    role = m["role"]
    tag = m.get("sharegpt_from") or _SHAREGPT_TAG[role]
    value = m["content"]
    calls = m.get("tool_calls") if role == "assistant" and "sharegpt_from" not in m else None
    if calls:
        if value:
            raise FormatError(
                "ShareGPT cannot hold text and tool calls in one assistant turn", field=f"messages[{position}]"
            )
        tag, value = "function_call", _function_call_value(calls, position)
    turn = {"from": tag, "value": value}
    if len(m) > 2:
        for k, v in m.items():
            if k not in _TURN_RESERVED and not (calls and k == "tool_calls"):
                turn[k] = v
    return turn


def _function_call_value(calls: list, position: int) -> str:
    """OpenAI tool_calls -> the JSON text of a ShareGPT function_call turn ({"name", "arguments"}, or a list)."""
    out = []
    for call in calls:
        function = call.get("function") if type(call) is dict else None
        if type(function) is not dict or "name" not in function:
            raise FormatError("a tool call without a function name", field=f"messages[{position}].tool_calls")
        arguments = function.get("arguments", {})
        if type(arguments) is str:
            with contextlib.suppress(ValueError):  # arguments that are not JSON stay the string they were
                arguments = json.loads(arguments)
        out.append({"name": function["name"], "arguments": arguments})
    return json.dumps(out[0] if len(out) == 1 else out, ensure_ascii=False)


def _tool_calls_from_value(value: str) -> list | None:
    """A ShareGPT function_call value -> OpenAI tool_calls, or None when it is not JSON with a name."""
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    calls = parsed if type(parsed) is list else [parsed]
    if not calls or not all(type(call) is dict and type(call.get("name")) is str for call in calls):
        return None
    out = []
    for call in calls:
        arguments = call.get("arguments", {})
        if type(arguments) is not str:
            arguments = json.dumps(arguments, ensure_ascii=False)
        out.append({"type": "function", "function": {"name": call["name"], "arguments": arguments}})
    return out
