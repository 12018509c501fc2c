"""Records <-> canonical form: :func:`to_canonical` and its inverse :func:`from_canonical`, over the format modules.

Empty format fields (``"system": ""``, ``"history": []``, ``"tools": ""``) make no message. ``from_canonical`` puts
them back when it is given the original record, so round trips are exact.
"""

from __future__ import annotations

from core.errors import FormatError
from core.formats.alpaca import _ALPACA_KEYS, _alpaca_from, _alpaca_to
from core.formats.mapped import _mapped_from, _mapped_to, _require_mapping
from core.formats.messages import FORMATS, Canonical, _type_name
from core.formats.openai import _OPENAI_KEYS, _openai_from, _openai_to
from core.formats.prompt_completion import _PC_KEYS, _prompt_completion_from, _prompt_completion_to
from core.formats.sharegpt import _SHAREGPT_KEYS, _sharegpt_from, _sharegpt_to

_TO_CANONICAL = {
    "alpaca": _alpaca_to,
    "sharegpt": _sharegpt_to,
    "openai": _openai_to,
    "prompt-completion": _prompt_completion_to,
}

# Each format's writer and the top-level keys it owns (an empty one the source had is put back from raw).
_FROM_CANONICAL = {
    "alpaca": (_alpaca_from, _ALPACA_KEYS),
    "sharegpt": (_sharegpt_from, _SHAREGPT_KEYS),
    "openai": (_openai_from, _OPENAI_KEYS),
    "prompt-completion": (_prompt_completion_from, _PC_KEYS),
}


def to_canonical(data: dict, fmt: str, mapping: dict | None = None) -> Canonical:
    """Convert one record of format ``fmt`` to canonical form, validating it.

    Args:
        data: the record (a dict as parsed; it is not modified and the result shares no mutable message with it).
        fmt: one of :data:`FORMATS`.
        mapping: for "mapped", ``{"prompt": FIELD, "response": FIELD, "system"?: FIELD, "history"?: FIELD}``.

    Returns:
        A :class:`Canonical` whose messages passed validation.

    Raises:
        FormatError: carrying ``field`` and the problem but no path, line or record; add them with
            ``err.located(path=..., line=raw.line, record=raw.index)``.
    """
    if fmt == "alpaca" and type(data) is dict:  # by far the most common: skip the dispatch
        return _alpaca_to(data)
    if type(data) is not dict:
        raise FormatError(f"expected a record object, got {_type_name(data)}")
    if fmt == "mapped":
        return _mapped_to(data, mapping)
    convert = _TO_CANONICAL.get(fmt)
    if convert is None:
        raise FormatError(f"unknown format '{fmt}'; expected one of {', '.join(FORMATS)}")
    return convert(data)


def from_canonical(c: Canonical, fmt: str, *, raw: dict | None = None, mapping: dict | None = None) -> dict:
    """Write a canonical sample as a record of format ``fmt``; the inverse of :func:`to_canonical`.

    ``raw``, the original record when the sample came from a file of this same format, settles what the canonical
    form cannot: how Alpaca's user text splits into instruction and input (the same way as raw when the text is still
    raw's instruction + "\\n" + input; instruction = raw's instruction and input = the rest when the text still starts
    with raw's instruction and a newline; otherwise the whole text is the instruction), whether ShareGPT's system
    prompt was a top-level key, whether prompt-completion used strings or message lists, null contents of OpenAI
    tool calls, empty fields such as ``"system": ""``, and key order. With raw, ``from_canonical(to_canonical(r, f), f,
    raw=r) == r``; without it the same holds for OpenAI records with string contents, ShareGPT records without a
    top-level system, Alpaca records with ``"input": ""`` and no empty optional fields, and string prompt-completion
    records.

    Extras are written back after the format's own keys and never overwrite them.

    Args:
        c: the sample.
        fmt: one of :data:`EXPORT_FORMATS`, or "mapped" with ``mapping``.
        raw: the original record, as a hint (optional).
        mapping: the field mapping for "mapped".

    Returns:
        A new dict with new message dicts; extras' values and tools are shared with ``c``, not copied.

    Raises:
        FormatError: the sample cannot be expressed in ``fmt`` (e.g. tool turns in Alpaca, several system prompts);
            ``field`` names the message position.
    """
    if fmt == "mapped":
        mapping = _require_mapping(mapping)
        out = _mapped_from(c, raw, mapping)
        keys = frozenset(mapping.values())
    elif fmt in _FROM_CANONICAL:
        write, keys = _FROM_CANONICAL[fmt]
        out = write(c, raw)
    else:
        raise FormatError(f"unknown format '{fmt}'; expected one of {', '.join(FORMATS)}")
    if raw:
        # Empty format fields make no message; put them back as the source had them.
        for k in keys:
            if k not in out and k in raw and _is_empty(raw[k]):
                out[k] = raw[k]
    for k, v in c.extras.items():
        if k not in out:
            out[k] = v
    if raw:
        ordered = {k: out[k] for k in raw if k in out}
        if len(ordered) < len(out):
            ordered.update(out)
        out = ordered
    return out


def _is_empty(value: object) -> bool:
    return value is None or value == "" or value == [] or value == {}
