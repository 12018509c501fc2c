"""The OpenAI chat format: ``{"messages": [{"role", "content", ...}, ...], "tools"?}``, and OpenAI-style message
lists wherever another format holds them (prompt-completion's conversational form)."""

from __future__ import annotations

from core.errors import FormatError
from core.formats.messages import (
    _MISSING,
    _ROLE_SET,
    ROLES,
    Canonical,
    _check_order,
    _controls_in,
    _is_tool_call,
    _missing,
    _raise_control,
    _type_error,
)
from core.formats.sharegpt import _tool_calls_from_value


def _parse_messages(items: object, key: str) -> list[dict]:
    """Validate an OpenAI-style message list (without the order check) and return canonical copies."""
    if type(items) is not list:
        raise _type_error(items, key, "a list of messages")
    if not items:
        raise FormatError("empty conversation: expected user and assistant messages", field=key)
    messages = []
    for i, m in enumerate(items):
        if type(m) is not dict:
            raise _type_error(m, f"{key}[{i}]", "a message object with 'role' and 'content'")
        role = m.get("role")
        if role not in _ROLE_SET:
            if role is None:
                raise _missing(f"{key}[{i}].role", "a message needs 'role' and 'content'", m)
            if type(role) is not str:
                raise _type_error(role, f"{key}[{i}].role")
            raise FormatError(
                f"unknown role '{role}'; expected one of {', '.join(ROLES)}",
                field=f"{key}[{i}].role",
            )
        content = m.get("content", _MISSING)
        if type(content) is not str:
            if (content is None or content is _MISSING) and role == "assistant" and _is_tool_call(m):
                content = ""  # OpenAI leaves content out (or null) on tool-call messages
            elif content is _MISSING:
                raise _missing(f"{key}[{i}].content", "a message needs 'role' and 'content'", m)
            else:
                raise _type_error(content, f"{key}[{i}].content")
        message = {"role": role, "content": content}
        if len(m) > 2:
            for k, v in m.items():
                if k != "role" and k != "content":
                    message[k] = v
            calls = m.get("tool_calls")
            if calls is not None and type(calls) is not list:
                raise _type_error(calls, f"{key}[{i}].tool_calls", "a list of tool calls")
        messages.append(message)
    texts = [m["content"] for m in messages]
    if _controls_in("".join(texts)):
        _raise_control(texts, [f"{key}[{i}].content" for i in range(len(texts))])
    return messages


_OPENAI_KEYS = frozenset(("messages", "tools"))


def _openai_to(d: dict) -> Canonical:
    if "messages" not in d:
        raise _missing("messages", "an OpenAI record needs 'messages'", d)
    messages = _parse_messages(d["messages"], "messages")
    _check_order(messages, lambda j: f"messages[{j}].role")
    tools = d.get("tools") or None
    extras = {k: v for k, v in d.items() if k not in _OPENAI_KEYS} if len(d) > 1 + ("tools" in d) else {}
    return Canonical(messages, tools, extras)


def _openai_message(m: dict, raw_message: object) -> dict:
    out = {"role": m["role"], "content": m["content"]}
    if len(m) > 2:
        for k, v in m.items():
            if k != "role" and k != "content" and k != "sharegpt_from":
                out[k] = v
        if m.get("sharegpt_from") == "function_call" and "tool_calls" not in out:
            calls = _tool_calls_from_value(m["content"])
            if calls is not None:
                out["content"] = ""
                out["tool_calls"] = calls
    if out["content"] == "" and type(raw_message) is dict and raw_message.get("role") == out["role"]:
        if "content" not in raw_message:
            del out["content"]
        elif raw_message["content"] is None:
            out["content"] = None
    return out


def _openai_from(c: Canonical, raw: dict | None) -> dict:
    raw_messages = raw.get("messages") if raw is not None else None
    if type(raw_messages) is not list or len(raw_messages) != len(c.messages):
        raw_messages = [None] * len(c.messages)
    out: dict = {"messages": [_openai_message(m, r) for m, r in zip(c.messages, raw_messages)]}
    if c.tools is not None:
        out["tools"] = c.tools
    return out
