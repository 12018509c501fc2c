"""The mapped format and field mappings: any record, read through ``{"prompt": FIELD, "response": FIELD,
"system"?: FIELD, "history"?: FIELD}``.

A mapping comes from the CLI's text form (:func:`parse_mapping`) or the Import page's boxes, which start from the
fields :func:`guess_field` recognizes.
"""

from __future__ import annotations

from core.errors import FormatError, MappingError
from core.formats.messages import (
    _MISSING,
    Canonical,
    _control_error,
    _controls_in,
    _history_messages,
    _missing,
    _optional_text,
    _split_system,
    _turn_pairs,
    _type_error,
)

MAPPING_KEYS = ("prompt", "response", "system", "history")
# Field names that usually hold each part, first match wins: what the Import page's mapping boxes start from.
FIELD_GUESSES = {
    "prompt": ("prompt", "question", "query", "instruction", "input"),
    "response": ("response", "answer", "output", "completion", "reply"),
    "system": ("system", "system_prompt"),
}


def guess_field(fields: list[str], key: str) -> int | None:
    """Return the position in ``fields`` of the field that likely holds ``key`` (a :data:`FIELD_GUESSES` key), matched
    without regard to case, or None when none looks like it."""
    lowered = [f.lower() for f in fields]
    return next((lowered.index(g) for g in FIELD_GUESSES[key] if g in lowered), None)


def parse_mapping(text: str) -> dict:
    """Parse the CLI form ``"prompt=question,response=answer"`` into ``{"prompt": "question", "response": "answer"}``.

    Keys are ``prompt`` and ``response`` (required) and ``system`` and ``history`` (optional); values are the record's
    field names (they cannot contain commas).

    Raises:
        MappingError: malformed text, an unknown or repeated key, an empty field name, a missing required key.
    """
    mapping: dict[str, str] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        key, value = key.strip().lower(), value.strip()
        if not sep:
            raise MappingError(f"malformed mapping '{part}': expected KEY=FIELD, e.g. prompt=question,response=answer")
        if key in mapping:
            raise MappingError(f"the mapping names '{key}' twice")
        if not value:
            raise MappingError(f"the mapping gives no field name for '{key}'")
        mapping[key] = value
    return _require_mapping(mapping)


def _require_mapping(mapping: dict | None) -> dict:
    if not mapping:
        raise MappingError("the mapped format needs a mapping, e.g. --map prompt=question,response=answer")
    unknown = [k for k in mapping if k not in MAPPING_KEYS]
    if unknown:
        raise MappingError(f"unknown mapping key '{unknown[0]}': expected {', '.join(MAPPING_KEYS)}")
    missing = [k for k in ("prompt", "response") if k not in mapping]
    if missing:
        raise MappingError(f"the mapping needs '{missing[0]}' (e.g. prompt=question,response=answer)")
    for k, v in mapping.items():
        if type(v) is not str or not v:
            raise MappingError(f"the mapping gives no field name for '{k}'")
    fields = list(mapping.values())
    if len(set(fields)) < len(fields):
        twice = next(f for f in fields if fields.count(f) > 1)
        raise MappingError(f"the mapping uses field '{twice}' for more than one key")
    return mapping


def _mapped_to(d: dict, mapping: dict | None) -> Canonical:
    if type(mapping) is not dict or "prompt" not in mapping or "response" not in mapping:
        _require_mapping(mapping)  # raises; full validation is check_mapping's job, once per file
    messages = []
    system_field = mapping.get("system")
    if system_field is not None and system_field in d:
        system = _optional_text(d, system_field)
        if system:
            messages.append({"role": "system", "content": system})
    history_field = mapping.get("history")
    if history_field is not None and d.get(history_field) is not None:
        messages.extend(_history_messages(d[history_field], history_field))
    for role, key in (("user", mapping["prompt"]), ("assistant", mapping["response"])):
        value = d.get(key, _MISSING)
        if value is _MISSING:
            raise _missing(key, f"the mapping reads it for {'prompt' if role == 'user' else 'response'}", d)
        if type(value) is not str:
            raise _type_error(value, key)
        if _controls_in(value):
            raise _control_error(value, key)
        messages.append({"role": role, "content": value})
    mapped = set(mapping.values())
    return Canonical(messages, None, {k: v for k, v in d.items() if k not in mapped})


def _mapped_from(c: Canonical, raw: dict | None, mapping: dict) -> dict:
    system, body = _split_system(c, "mapped")
    *history, (prompt, response) = _turn_pairs(body, len(c.messages) - len(body), "mapped")
    out: dict = {mapping["prompt"]: prompt, mapping["response"]: response}
    if system is not None:
        if "system" not in mapping:
            raise FormatError("the sample has a system prompt but the mapping has no system field (add system=FIELD)")
        out[mapping["system"]] = system
    if history:
        if "history" not in mapping:
            raise FormatError(
                f"the sample has {len(history) + 1} exchanges but the mapping has no history field (add history=FIELD)"
            )
        out[mapping["history"]] = [[q, a] for q, a in history]
    if c.tools is not None and "tools" not in out and "tools" not in c.extras:
        out["tools"] = c.tools
    return out
