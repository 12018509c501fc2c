"""Sample formats: Alpaca / ShareGPT / OpenAI / prompt-completion records <-> canonical messages.

A sample in Winnow is a list of messages, each ``{"role": ..., "content": str}`` with role one of ``system``, ``user``,
``assistant`` or ``tool``, plus the tool definitions it was given and the record's unknown top-level keys
(:class:`~core.formats.messages.Canonical`). Every file format converts to that form and back:

    format              a record looks like
    alpaca              {"instruction", "input"?, "output", "system"?, "history"?: [[q, a], ...]}
    sharegpt            {"conversations" (or "messages"): [{"from", "value"}, ...], "system"?, "tools"?}
    openai              {"messages": [{"role", "content", ...}, ...], "tools"?}
    prompt-completion   {"prompt", "completion"}: two strings, or two message lists (TRL's conversational form)
    mapped              any other record, through a mapping {"prompt": FIELD, "response": FIELD, "system"?, "history"?}

The path through this package for one file is ``readers.iter_records`` -> ``detect.detect_format`` on the first
records -> ``convert.to_canonical`` per record; the export path is ``convert.from_canonical``. The rooms:

    messages.py           the canonical form, the validation every format shares, content hashes and text views
    readers.py            JSON, JSON Lines, CSV/TSV and Parquet files -> records with their line and position
    json_array.py         a JSON array's records streamed one at a time (readers.py uses it)
    detect.py             which format a file's first records are in; checking a field mapping against them
    convert.py            to_canonical and from_canonical, dispatching to one module per format:
    alpaca.py, sharegpt.py, openai.py, prompt_completion.py, mapped.py (the mapped format and field mappings)

Everything here is pure: no database, no UI. Every problem raises :class:`~core.errors.FormatError` naming the field;
file readers add path, line and record. ``to_canonical`` errors carry only the field: the caller adds the rest with
``err.located(...)``.
"""
