"""Detection: which format a file's first records are in, and whether a field mapping fits them."""

from __future__ import annotations

from core.errors import FormatError, MappingError
from core.formats.mapped import _require_mapping
from core.formats.messages import FORMATS

DETECT_SAMPLE = 50  # records detect_format looks at


def detect_format(
    records: list[dict], *, path: str | None = None, mapping: dict | None = None, lines: list[int | None] | None = None
) -> str:
    """Return the one format that fits the first :data:`DETECT_SAMPLE` records.

    Records that fit no format are left for ``to_canonical`` to report; the others must agree on exactly one format.

    Args:
        records: the first records of a file (more than DETECT_SAMPLE is fine; the rest are ignored).
        path: the file, for messages.
        mapping: a field mapping; when given, it is checked against the records and "mapped" is returned.
        lines: the 1-based line where each record starts (None where unknown), to name records in messages; without
            it records are named by their 1-based number.

    Raises:
        FormatError: several formats fit (it lists them and says how to choose), records disagree, or none fits (it
            lists the keys found and suggests a mapping).
        MappingError: the mapping is malformed or names fields the records lack.
    """
    if mapping is not None:
        check_mapping(mapping, records, path=path)
        return "mapped"
    sample = records[:DETECT_SAMPLE]
    if not sample:
        raise FormatError("no records to detect the format from", path=path)
    fits = [(i, _formats_of(r)) for i, r in enumerate(sample)]
    matched = [(i, f) for i, f in fits if f]
    if not matched:
        keys = _keys_of(sample)
        raise FormatError(
            f"no known format fits these records (keys found: {', '.join(keys)}). Alpaca needs instruction and "
            "output, ShareGPT conversations, OpenAI messages, prompt-completion prompt and completion. To import "
            "other fields, map them: --map prompt=FIELD,response=FIELD on the command line, or the Mapping box on "
            "the Import page",
            path=path,
        )
    common = set.intersection(*(f for _, f in matched))
    if len(common) == 1:
        return common.pop()
    if common:
        names = ", ".join(f for f in FORMATS if f in common)
        raise FormatError(
            f"the records fit several formats: {names}. Choose one with --format NAME on the command line, or the "
            "Format box on the Import page",
            path=path,
        )
    (i, first), (j, other) = matched[0], next((j, f) for j, f in matched if not f & matched[0][1])

    def place(k: int) -> str:
        line = lines[k] if lines is not None and k < len(lines) else None
        return f"line {line}" if line is not None else f"record {k + 1}"

    raise FormatError(
        f"records look like different formats: {place(i)} fits {_names(first)}, {place(j)} fits {_names(other)}. A "
        "file must hold one format: split it, or choose one with --format NAME (the Format box on the Import page)",
        path=path,
    )


def _formats_of(record: dict) -> set[str]:
    fits = set()
    if "instruction" in record and "output" in record:
        fits.add("alpaca")
    if type(record.get("conversations")) is list:
        fits.add("sharegpt")
    messages = record.get("messages")
    if type(messages) is list and messages and type(messages[0]) is dict:
        if "from" in messages[0] or "value" in messages[0]:
            fits.add("sharegpt")
        elif "role" in messages[0]:
            fits.add("openai")
    if "prompt" in record and "completion" in record:
        fits.add("prompt-completion")
    return fits


def _keys_of(records: list[dict]) -> list[str]:
    keys: dict[str, None] = {}
    for record in records:
        keys.update(dict.fromkeys(record))
    return list(keys)


def _names(formats: set[str]) -> str:
    return " and ".join(f for f in FORMATS if f in formats)


def check_mapping(mapping: dict, records: list[dict], *, path: str | None = None) -> dict:
    """Check a mapping against the first :data:`DETECT_SAMPLE` records and return it.

    A field is absent when none of those records has it (a few records lacking it are reported by ``to_canonical``).

    Raises:
        MappingError: a malformed mapping, or one naming a field absent from the records (the message names the
            field, the fields that exist and the file).
    """
    mapping = _require_mapping(mapping)
    sample = records[:DETECT_SAMPLE]
    keys = _keys_of(sample)
    present = set(keys)
    for k, name in mapping.items():
        if name not in present:
            where = f" of {path}" if path else ""
            raise MappingError(
                f"the mapping reads field '{name}' for {k}, but the records{where} have no such field; "
                f"fields found: {', '.join(map(str, keys)) or 'none'}"
            )
    return mapping
