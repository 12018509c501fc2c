"""Write the bad-input corpus: small files that are broken the ways real SFT files break.

Run ``python tests/data/bad/make_bad.py`` to (re)write the files beside this script; tests/test_bad_input.py checks
that the committed files are exactly what this script writes, and holds what Winnow must do with each one. Files too
big to commit (a 50 MB line, a long message) are written at test time by :func:`write_big`.

Every text here is made up for the corpus.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _line(record: dict) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n"


def _alpaca(i: int) -> dict:
    return {"instruction": f"Question {i}?", "input": "", "output": f"Answer {i}."}


def _chat(*pairs: tuple[str, str]) -> dict:
    return {"messages": [{"role": role, "content": content} for role, content in pairs]}


GOOD = _line(_alpaca(0)) + _line(_alpaca(1))
HI = ("user", "Hi"), ("assistant", "Hello!")


def _parquet(columns: dict) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue()


def _parquet_bomb() -> bytes:
    """200,000 rows that all point into a dictionary of one 8 MB text: 3 TB of text once decoded."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    text = pa.DictionaryArray.from_arrays(pa.array([0] * 200_000, pa.int32()), pa.array(["x" * (8 << 20)]))
    sink = io.BytesIO()
    pq.write_table(pa.table({"instruction": text, "output": text}), sink, compression="zstd")
    return sink.getvalue()


def _parquet_nested_bomb() -> bytes:
    """4,000 chats of two 1 MB messages, in a nested column (which cannot be read as a dictionary): 8 GB decoded."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    kind = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
    chat = [{"role": "user", "content": "y" * (1 << 20)}, {"role": "assistant", "content": "z" * (1 << 20)}]
    table = pa.table({"messages": pa.array([chat] * 200, kind)})
    sink = io.BytesIO()
    with pq.ParquetWriter(sink, table.schema, compression="zstd") as writer:
        for _ in range(20):
            writer.write_table(table)
    return sink.getvalue()


def _zip(name: str, data: bytes) -> bytes:
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))  # fixed date: the same bytes on every run
        z.writestr(info, data, zipfile.ZIP_DEFLATED)
    return sink.getvalue()


def build() -> dict[str, bytes]:
    """Every committed case: file name -> bytes."""
    pretty = json.dumps([_alpaca(0), _alpaca(1), _alpaca(2)], indent=2).encode()
    good_parquet = _parquet({"instruction": ["q0", "q1", "q2"], "output": ["a0", "a1", "a2"]})
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    return {
        # ---- broken JSON
        "broken_json.jsonl": GOOD + b'{"instruction": "Question 2?", "output": \n' + _line(_alpaca(3)),
        "missing_comma.json": pretty.replace(b"},\n  {", b"}\n  {", 1),
        "trailing_comma.json": pretty[: pretty.rindex(b"}") + 1] + b",\n]\n",
        "nan_literal.jsonl": GOOD + b'{"instruction": "q", "output": "a", "score": NaN}\n',
        "top_level_scalar.json": b"42\n",
        "array_line.jsonl": GOOD + b'["Question 2?", "Answer 2."]\n',
        "array_of_non_objects.json": json.dumps([_alpaca(0), "oops", _alpaca(2)], indent=2).encode(),
        "deep_nesting.jsonl": GOOD
        + b'{"instruction": "q", "output": "a", "meta": '
        + b"[" * 5000
        + b"]" * 5000
        + b"}\n",
        # ---- encodings
        "invalid_utf8.jsonl": GOOD + b'{"instruction": "caf\xe9", "input": "", "output": "ok"}\n',
        "invalid_utf8.csv": b"question,answer\nq0,a0\nq1,caf\xc3\x28\n",
        "lone_surrogate.jsonl": GOOD + b'{"instruction": "\\ud800", "input": "", "output": "ok"}\n',
        "utf16.jsonl": "\ufeff".encode("utf-16-le") + GOOD.decode().encode("utf-16-le"),
        "bom.jsonl": b"\xef\xbb\xbf" + GOOD,
        "bom.json": b"\xef\xbb\xbf" + pretty,
        "bom.csv": b"\xef\xbb\xbfquestion,answer\nq0,a0\nq1,a1\n",
        "crlf.jsonl": GOOD.replace(b"\n", b"\r\n"),
        "unicode_text.jsonl": _line(
            {"instruction": "Line\u2028separator and paragraph\u2029separator", "input": "", "output": "مرحبا 👋🏽 Ω"}
        )
        + _line({"instruction": "tab\there, cr\rthere", "input": "", "output": "zero\u200bwidth"}),
        # ---- empty files
        "empty.jsonl": b"",
        "empty.csv": b"",
        "whitespace.jsonl": b"  \n\t\n   \r\n",
        "whitespace_long.json": b" \n" * 6000,  # more than the 8 KiB the reader sniffs
        "bom_only.jsonl": b"\xef\xbb\xbf\n",
        "csv_header_only.csv": b"question,answer\n",
        # ---- fields: types, missing, nested junk
        "wrong_type.jsonl": GOOD + _line({"instruction": "Question 2?", "input": "", "output": 42}),
        "null_field.jsonl": _line({"instruction": None, "input": "", "output": "a"}) + GOOD,
        "content_parts.jsonl": _line(_chat(*HI))
        + _line({"messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}, HI[1]]}),
        "missing_field.jsonl": GOOD + _line({"instruction": "Question 2?", "input": ""}),
        "missing_role.jsonl": _line(_chat(*HI)) + _line({"messages": [{"content": "Hi"}, {"role": "assistant"}]}),
        "nested_junk.jsonl": GOOD + _line({"instruction": "q", "output": {"a": {"b": [1, {"c": None}], "d": []}}}),
        "unknown_keys.jsonl": _line({"foo": 1, "bar": "x"}) + _line({"foo": 2, "bar": "y"}),
        "mixed_formats.jsonl": GOOD + _line(_chat(*HI)),
        # four Alpaca lines, then an OpenAI one on line 5: the message names both lines
        "mixed_formats_line5.jsonl": GOOD + _line(_alpaca(2)) + _line(_alpaca(3)) + _line(_chat(*HI)),
        # ---- conversations
        "roles_out_of_order.jsonl": _line(_chat(*HI)) + _line(_chat(("assistant", "Hello!"), ("user", "Hi"))),
        "sharegpt_out_of_order.json": json.dumps(
            [
                {"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello!"}]},
                {"conversations": [{"from": "human", "value": "Hi"}, {"from": "human", "value": "Hi again"}]},
            ],
            indent=2,
        ).encode(),
        "system_in_middle.jsonl": _line(_chat(*HI)) + _line(_chat(HI[0], ("system", "Be brief."), HI[1])),
        "no_assistant_turn.jsonl": _line(_chat(*HI)) + _line(_chat(("system", "Be brief."), ("user", "Hi"))),
        "empty_conversation.jsonl": _line(_chat(*HI)) + _line({"messages": []}),
        "empty_conversation.json": json.dumps([{"conversations": []}], indent=2).encode(),
        # ---- control characters
        "control_char.jsonl": GOOD + _line({"instruction": "bell\u0007", "input": "", "output": "ok"}),
        "nul_escape.jsonl": GOOD + _line({"instruction": "q", "input": "", "output": "nul\u0000here"}),
        "control_char.csv": b"question,answer\nq0,a0\nq1,esc\x1b[31m red\n",
        # ---- CSV
        "csv_embedded_newlines.csv": (
            b'question,answer\n"Two\nlines?","Yes,\r\nthree\nlines."\nq2,a2\n"Last ""quoted""",fine\n'
        ),
        "csv_wrong_field_count.csv": b'question,answer\n"q0\nspans",a0\nq1,a1,extra\n',
        "csv_unclosed_quote.csv": b'question,answer\nq0,a0\nq1,"never closed\nq2,a2\nq3,a3\n',
        "csv_duplicate_header.csv": b"question,question\nq0,a0\n",
        "csv_stray_quote.csv": b'question,answer\nq0,a0\nq1,"a1" and more\n',
        # ---- Parquet
        "parquet_wrong_types.parquet": _parquet({"instruction": ["q0", "q1"], "output": [1, 2]}),
        "parquet_wrong_schema.parquet": _parquet({"id": [1, 2], "score": [0.5, 0.7]}),
        "parquet_corrupt.parquet": b"PAR1" + bytes(range(256)) * 8 + b"PAR1",
        "parquet_truncated.parquet": good_parquet[: len(good_parquet) // 2],
        # ---- decompression bombs: kilobytes on disk, gigabytes of text once decoded
        "parquet_bomb.parquet": _parquet_bomb(),
        "parquet_nested_bomb.parquet": _parquet_nested_bomb(),
        # ---- not text at all
        "image.jsonl": png,
        "archive.csv": _zip("data.csv", b"question,answer\nq,a\n"),
        # Compressed input is not accepted: refused from its magic bytes, never inflated (16 MB of zeros here).
        "bomb.jsonl.gz": gzip.compress(b"\0" * (16 << 20), compresslevel=9, mtime=0),
        # ---- skip mode: good records import, bad ones are listed with their lines
        "some_bad_records.jsonl": GOOD
        + _line({"instruction": "q", "output": 7})
        + _line(_alpaca(3))
        + _line({"instruction": "bell\u0007", "output": "a"}),
        "some_bad_records.csv": b'question,answer\n"multi\nline",a0\nq1,\x01\n"q2\n\nq2",a2\nq3,a3\n',
    }


BIG_LINE_MB = 50
LONG_MESSAGE_MB = 8
OVER_LIMIT_MB = 65


def write_big(folder: Path) -> dict[str, Path]:
    """Write the cases too big to commit into ``folder``; return name -> path.

    - ``line_50mb.jsonl``: one 50 MB line, a record cut off before its end (no newline, no closing brace).
    - ``line_50mb.csv``: a header, then one 50 MB line whose quoted field never closes.
    - ``long_message.jsonl``: a valid record whose answer is 8 MB of text.
    - ``line_over_limit.jsonl``, ``array_record_over_limit.json``: a valid record of 65 MB, over the limit of one.
    """
    folder.mkdir(parents=True, exist_ok=True)
    filler = b"lorem ipsum dolor sit amet " * ((BIG_LINE_MB << 20) // 27)
    paths = {}
    paths["line_50mb.jsonl"] = folder / "line_50mb.jsonl"
    paths["line_50mb.jsonl"].write_bytes(b'{"instruction": "q", "output": "' + filler)
    paths["line_50mb.csv"] = folder / "line_50mb.csv"
    paths["line_50mb.csv"].write_bytes(b'question,answer\nq,"' + filler)
    long = "word " * ((LONG_MESSAGE_MB << 20) // 5)
    paths["long_message.jsonl"] = folder / "long_message.jsonl"
    paths["long_message.jsonl"].write_bytes(GOOD + _line({"instruction": "Write at length.", "output": long}))
    huge = "many words " * ((OVER_LIMIT_MB << 20) // 11)
    paths["line_over_limit.jsonl"] = folder / "line_over_limit.jsonl"
    paths["line_over_limit.jsonl"].write_bytes(GOOD + _line({"instruction": "q", "output": huge}))
    paths["array_record_over_limit.json"] = folder / "array_record_over_limit.json"
    paths["array_record_over_limit.json"].write_text(
        json.dumps([_alpaca(0), {"instruction": "q", "output": huge}], indent=1), encoding="utf-8"
    )
    return paths


def main() -> None:
    for name, data in build().items():
        (HERE / name).write_bytes(data)
    print(f"wrote {len(build())} files to {HERE}")


if __name__ == "__main__":
    main()
