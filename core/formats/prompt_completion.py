"""The prompt-completion format: ``{"prompt", "completion"}``, two strings or two message lists (TRL's
conversational form)."""

from __future__ import annotations

from core.errors import FormatError
from core.formats.messages import (
    Canonical,
    _check_order,
    _controls_in,
    _raise_control,
    _required_pair,
    _type_error,
    _type_name,
)
from core.formats.openai import _openai_message, _parse_messages

_PC_KEYS = frozenset(("prompt", "completion", "tools"))
_PC_NEEDS = "a prompt-completion record needs 'prompt' and 'completion'"


def _prompt_completion_to(d: dict) -> Canonical:
    prompt, completion = _required_pair(d, "prompt", "completion", _PC_NEEDS)
    if type(prompt) is str and type(completion) is str:
        if _controls_in(prompt + completion):
            _raise_control([prompt, completion], ["prompt", "completion"])
        messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": completion}]
    elif type(prompt) is list and type(completion) is list:
        head = _parse_messages(prompt, "prompt")
        n = len(head)
        messages = head + _parse_messages(completion, "completion")
        _check_order(messages, lambda j: f"prompt[{j}].role" if j < n else f"completion[{j - n}].role")
    elif type(prompt) not in (str, list):
        raise _type_error(prompt, "prompt", "a string or a list of messages")
    elif type(completion) not in (str, list):
        expected = "a string" if type(prompt) is str else "a list of messages"
        raise _type_error(completion, "completion", expected)
    else:
        raise FormatError(
            f"'prompt' and 'completion' must both be strings or both be message lists; got {_type_name(prompt)} "
            f"and {_type_name(completion)}",
            field="completion",
        )
    tools = d.get("tools") or None
    extras = {k: v for k, v in d.items() if k not in _PC_KEYS} if len(d) > 2 + ("tools" in d) else {}
    return Canonical(messages, tools, extras)


def _prompt_completion_from(c: Canonical, raw: dict | None) -> dict:
    messages = c.messages
    raw_prompt = raw.get("prompt") if raw is not None else None
    raw_completion = raw.get("completion") if raw is not None else None
    raw_lists = type(raw_prompt) is list and type(raw_completion) is list
    if raw_lists and 0 < len(raw_completion) < len(messages):
        k = len(raw_completion)
    else:
        last_user = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=-1)
        k = len(messages) - last_user - 1
        if last_user < 0 or not k:
            raise FormatError("prompt-completion needs a user prompt followed by the assistant's completion")
    head, tail = messages[:-k], messages[-k:]
    plain = len(head) == 1 and len(tail) == 1 and len(head[0]) == 2 and len(tail[0]) == 2
    if plain and head[0]["role"] == "user" and tail[0]["role"] == "assistant" and not raw_lists:
        out: dict = {"prompt": head[0]["content"], "completion": tail[0]["content"]}
    else:
        raws = (
            raw_prompt + raw_completion
            if raw_lists and len(raw_prompt) + len(raw_completion) == len(messages)
            else None
        )
        converted = [_openai_message(m, raws[i] if raws else None) for i, m in enumerate(messages)]
        out = {"prompt": converted[:-k], "completion": converted[-k:]}
    if c.tools is not None:
        out["tools"] = c.tools
    return out
