"""Read the records of a JSON array file one at a time, with the line where each one starts.

A JSON file of records is one array. Parsing it whole needs the file and every object in memory together, about ten
times the file's size: a 1 GB upload would need 10 GB. This reads it a block at a time instead. Python's C JSON scanner
(``raw_decode``) finds where each element ends, and orjson parses that slice, so values and errors are orjson's, the
same as for JSON Lines. Memory is one block plus the largest record, and a record bigger than ``max_record`` bytes is
refused with its line instead of being read.

The array may also sit in a wrapper object of one key, ``{"data": [...]}``, as some datasets ship.

Lines count from 1; columns count characters from 1.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

import orjson

from core.errors import FormatError

BLOCK = 1 << 20  # bytes read at a time
_SPACE = re.compile(r"[ \t\n\r]*")
_WRAPPER = re.compile(r'\{[ \t\n\r]*"((?:[^"\\]|\\.)*)"[ \t\n\r]*:[ \t\n\r]*\[')
_scan = json.JSONDecoder().raw_decode


def wrapper_key(head: str) -> str | None:
    """The key of a ``{"KEY": [`` opening in ``head``, or None when the text does not open that way."""
    m = _WRAPPER.match(head)
    return json.loads(f'"{m.group(1)}"') if m else None


class _Text:
    """The file's text, decoded a block at a time, with the line and column of any position still held.

    ``buf`` holds the text from character ``start`` of the file on; positions passed in and out are indexes into
    ``buf``. What lies before the element being read is dropped now and then, keeping the line count.
    """

    def __init__(self, f: BinaryIO, name: str, offset: int, size: int, progress: Callable[[int, int], None] | None):
        self.f, self.name, self.size, self.progress = f, name, size, progress
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.offset = offset  # bytes of the file read so far
        self.buf = ""
        self.eof = False
        self.line = 1  # the line of buf[self.counted]
        self.counted = 0
        self.column_base = 0  # characters between the last newline dropped and buf[0]

    def more(self, at_least: int = BLOCK) -> bool:
        """Append at least ``at_least`` more bytes' worth of text; False at the end of the file."""
        if self.eof:
            return False
        data = self.f.read(max(at_least, BLOCK))
        pending = len(self.decoder.getstate()[0])
        try:
            text = self.decoder.decode(data, final=not data)
        except UnicodeDecodeError as u:
            raise self._utf8_error(self.offset - pending + u.start) from None
        self.offset += len(data)
        if not data:
            self.eof = True
        self.buf += text
        if self.progress is not None:
            self.progress(self.offset, self.size)
        return bool(data) or bool(text)

    def line_of(self, pos: int) -> int:
        if pos < self.counted:  # only ever asked forwards, but be exact if not
            return self.line - self.buf.count("\n", pos, self.counted)
        self.line += self.buf.count("\n", self.counted, pos)
        self.counted = pos
        return self.line

    def column_of(self, pos: int) -> int:
        newline = self.buf.rfind("\n", 0, pos)
        return pos - newline if newline >= 0 else self.column_base + pos + 1

    def drop_before(self, pos: int) -> int:
        """Forget the text before ``pos`` (once it is large); return the new index of ``pos``."""
        if pos < BLOCK:
            return pos
        self.line_of(pos)
        newline = self.buf.rfind("\n", 0, pos)
        self.column_base = pos - newline - 1 if newline >= 0 else self.column_base + pos
        self.buf = self.buf[pos:]
        self.counted = 0
        return 0

    def skip_space(self, pos: int) -> int:
        """The first non-space position at or after ``pos`` (len(buf) at the end of the file)."""
        while True:
            pos = _SPACE.match(self.buf, pos).end()
            if pos < len(self.buf) or not self.more():
                return pos

    def char(self, pos: int) -> str:
        return self.buf[pos] if pos < len(self.buf) else ""

    def error(self, pos: int, problem: str, record: int | None = None) -> FormatError:
        return FormatError(
            f"invalid JSON at column {self.column_of(pos)}: {problem}",
            path=self.name,
            line=self.line_of(pos),
            record=record,
        )

    def _utf8_error(self, byte_offset: int) -> FormatError:
        # Count lines in the bytes themselves: the text decoded so far stops short of the bad byte.
        self.f.seek(0)
        data = self.f.read(byte_offset + 1)
        line_start = data.rfind(b"\n", 0, byte_offset) + 1
        return FormatError(
            f"invalid UTF-8 at byte offset {byte_offset} (byte {byte_offset - line_start + 1} of the line, "
            f"{data[byte_offset : byte_offset + 1]!r}); save the file as UTF-8",
            path=self.name,
            line=data.count(b"\n", 0, byte_offset) + 1,
        )


def iter_array(
    f: BinaryIO,
    name: str,
    *,
    offset: int,
    size: int,
    max_record: int,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[tuple[int, object]]:
    """Yield ``(line, value)`` for each element of the JSON array (or one-key wrapper object) that starts at byte
    ``offset`` of ``f``.

    Args:
        name: the file's name, for messages.
        size: the file's size, for progress.
        max_record: the most bytes one element may take (counted as characters of text).
        progress: called as ``progress(bytes_read, size)`` after each block.

    Raises:
        FormatError: invalid JSON or UTF-8 (with line and column), an element over ``max_record``, or content after
            the array.
    """
    f.seek(offset)
    text = _Text(f, name, offset, size, progress)
    text.more()
    pos = text.skip_space(0)
    closing = "]"
    key = wrapper_key(text.buf[pos : pos + 4096])
    if key is not None:
        pos = _WRAPPER.match(text.buf, pos).end()
        closing = "]}"
    elif text.char(pos) != "[":
        raise text.error(pos, "expected a JSON array")
    else:
        pos += 1
    index = 0
    pos = text.skip_space(pos)
    if text.char(pos) == "]":  # an empty array
        pos += 1
    else:
        while True:
            if not text.char(pos):
                raise text.error(pos, "unexpected end of data: the array is not closed")
            pos = text.drop_before(pos)
            end = _element_end(text, pos, max_record)
            line = text.line_of(pos)
            try:
                value = orjson.loads(text.buf[pos:end])
            except orjson.JSONDecodeError as e:
                raise _located(e, text, pos) from None
            yield line, value
            index += 1
            pos = text.skip_space(end)
            c = text.char(pos)
            if c == "]":
                pos += 1
                break
            if c != ",":
                if not c:
                    raise text.error(pos, "unexpected end of data: the array is not closed")
                raise text.error(pos, "expected ',' or ']' after an element of the array")
            comma, pos = pos, text.skip_space(pos + 1)
            if text.char(pos) == "]":
                raise text.error(comma, "trailing comma is not allowed")
    if closing == "]}":
        pos = text.skip_space(pos)
        if text.char(pos) != "}":
            raise text.error(pos, f"expected '}}' after the array: a wrapper object holds only its key '{key}'")
        pos += 1
    pos = text.skip_space(pos)
    if pos < len(text.buf):
        raise text.error(pos, "unexpected content after document")


def _element_end(text: _Text, pos: int, max_record: int) -> int:
    """Where the element starting at ``pos`` ends, reading more of the file as needed."""
    while True:
        try:
            _value, end = _scan(text.buf, pos)
        except json.JSONDecodeError as e:
            # Cut off by the end of what is read so far (an open string or object, a value to come), or wrong?
            cut = e.pos >= len(text.buf) - 1 or e.msg.startswith("Unterminated string")
            if not cut or text.eof:
                raise _located_scan(e, text, pos) from None
        else:
            # A number or literal that ends exactly at the end of the text read may go on in the next block.
            if end - pos > max_record:
                raise _too_big(text, pos, max_record)
            if end < len(text.buf) or text.eof:
                return end
        if len(text.buf) - pos > max_record:
            raise _too_big(text, pos, max_record)
        text.more(at_least=len(text.buf) - pos)  # double what this element has, so rereading it stays linear


def _too_big(text: _Text, pos: int, max_record: int) -> FormatError:
    return FormatError(
        f"a record over {max_record >> 20} MB, the most one record may hold; split it, or check the file",
        path=text.name,
        line=text.line_of(pos),
    )


def _located(e: orjson.JSONDecodeError, text: _Text, pos: int) -> FormatError:
    """orjson's error on the element that starts at ``pos``, placed in the file (its line and column there)."""
    line = text.line_of(pos)
    if "UTF-8" in e.msg or "surrogate" in e.msg:
        return FormatError(
            "invalid UTF-8 (a lone surrogate escape?); save the file as UTF-8", path=text.name, line=line
        )
    column = e.colno if e.lineno > 1 else text.column_of(pos) + e.colno - 1
    return FormatError(f"invalid JSON at column {column}: {e.msg}", path=text.name, line=line + e.lineno - 1)


def _located_scan(e: json.JSONDecodeError, text: _Text, pos: int) -> FormatError:
    """A syntax error the scanner found: ask orjson for its words on the same text, so messages read the same."""
    try:
        orjson.loads(text.buf[pos : max(e.pos, pos) + 1])
    except orjson.JSONDecodeError as o:
        return _located(o, text, pos)
    return text.error(e.pos, e.msg)
