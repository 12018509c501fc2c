"""The Alpaca format: ``{"instruction", "input"?, "output", "system"?, "history"?: [[q, a], ...], "tools"?}``.

Alpaca's user turn is ``instruction + "\\n" + input`` (``input`` alone when the instruction is empty), as
LLaMA-Factory builds it. Splitting it back needs the original record (``raw``), see
:func:`core.formats.convert.from_canonical`.
"""

from __future__ import annotations

from core.formats.messages import (
    Canonical,
    _controls_in,
    _history_messages,
    _raise_control,
    _required_pair,
    _split_system,
    _system_and_tools,
    _turn_pairs,
    _type_error,
)

_ALPACA_KEYS = frozenset(("instruction", "input", "output", "system", "history", "tools"))
_ALPACA_NEEDS = "an Alpaca record needs 'instruction' and 'output'"


def _alpaca_to(d: dict) -> Canonical:
    # The hot path of a big import: plain checks, no regex unless needed, extras built only when there are any.
    instruction, output = _required_pair(d, "instruction", "output", _ALPACA_NEEDS)
    if type(instruction) is not str:
        raise _type_error(instruction, "instruction")
    if type(output) is not str:
        raise _type_error(output, "output")
    known = 2
    user = instruction
    if "input" in d:
        known += 1
        inp = d["input"]
        if inp:
            if type(inp) is not str:
                raise _type_error(inp, "input")
            user = instruction + "\n" + inp if instruction else inp
        elif inp is not None and inp != "":
            raise _type_error(inp, "input")
    if _controls_in(user + output):
        _raise_control([instruction, d.get("input") or "", output], ["instruction", "input", "output"])
    messages, tools = [], None
    if len(d) > known:
        messages, tools, present = _system_and_tools(d)
        known += present
        if "history" in d:
            known += 1
            history = d["history"]
            if history is not None:
                messages.extend(_history_messages(history, "history"))
    messages.append({"role": "user", "content": user})
    messages.append({"role": "assistant", "content": output})
    extras = {k: v for k, v in d.items() if k not in _ALPACA_KEYS} if len(d) > known else {}
    return Canonical(messages, tools, extras)


def _alpaca_from(c: Canonical, raw: dict | None) -> dict:
    system, body = _split_system(c, "alpaca")
    *history, (text, output) = _turn_pairs(body, len(c.messages) - len(body), "alpaca")
    instruction, inp = text, ""
    has_input = True
    if raw is not None and type(raw.get("instruction")) is str:
        raw_instruction = raw["instruction"]
        raw_input = raw.get("input")
        has_input = "input" in raw
        if type(raw_input) not in (str, type(None)):
            raw_input = ""
        joined = raw_instruction + "\n" + raw_input if raw_instruction and raw_input else raw_instruction or raw_input
        if text == (joined or ""):
            instruction, inp = raw_instruction, raw_input
        elif raw_instruction and text.startswith(raw_instruction + "\n"):
            instruction, inp = raw_instruction, text[len(raw_instruction) + 1 :]
            has_input = True
    out: dict = {"instruction": instruction}
    if has_input or inp:
        out["input"] = inp
    out["output"] = output
    if system is not None:
        out["system"] = system
    if history:
        out["history"] = [[q, a] for q, a in history]
    if c.tools is not None:
        out["tools"] = c.tools
    return out
