"""HL7 v2 ER7 encoding with the default encoding characters (``|^~\\&``), so that no field
content can change the structure of a message: a delimiter in a name cannot open a component,
a carriage return in a note cannot start a segment, and the MLLP framing bytes 0x0B/0x1C never
reach the wire inside a frame.

- the five delimiters become ``\\F\\ \\S\\ \\T\\ \\R\\ \\E\\`` (HL7 v2.5 section 2.7.1);
- every control character (C0, DEL, C1) and the Unicode line/paragraph separators become a
  hexadecimal escape ``\\Xhh..\\`` of their bytes in the message's character set (section 2.7.3;
  MSH-18 names it: UTF-8 unless configured otherwise). Hex escapes rather than dropping or
  replacing them: the receiver gets back exactly what was written (a CR stays a CR, a CRLF
  stays a CRLF).

The inverse, :func:`unescape`, also understands ``\\.br\\`` (the FT line break) so it reads what
:func:`escape_ft` writes.

hl7apy cannot write hex escapes (it re-escapes their backslash), so the message is written by
:func:`segment`, which escapes every leaf itself; a caller cannot forget to.
"""

from __future__ import annotations

import re
import unicodedata

DELIMITERS = {"|": "\\F\\", "^": "\\S\\", "&": "\\T\\", "~": "\\R\\", "\\": "\\E\\"}
_UNESCAPE = {"F": "|", "S": "^", "T": "&", "R": "~", "E": "\\"}
FT_BREAK = "\\.br\\"


def _needs_hex(ch: str) -> bool:
    # Cc covers C0 (0x00-0x1F, incl. CR, LF, 0x0B, 0x1C), DEL and C1 (0x80-0x9F, incl. NEL);
    # U+2028/U+2029 are line breaks to some parsers (Python's str.splitlines among them).
    return unicodedata.category(ch) == "Cc" or ch in "\u2028\u2029"


def _hex(ch: str, codec: str) -> str:
    # The bytes of the character in the message's character set (MSH-18); UnicodeEncodeError
    # when that set cannot carry it (the caller refuses to send rather than drop it).
    return "\\X" + ch.encode(codec).hex().upper() + "\\"


def escape(text: str, codec: str = "utf-8") -> str:
    """``text`` as the content of one HL7 field/component: nothing in it acts as structure."""
    out = []
    for ch in text:
        if ch in DELIMITERS:
            out.append(DELIMITERS[ch])
        elif _needs_hex(ch):
            out.append(_hex(ch, codec))
        else:
            out.append(ch)
    return "".join(out)


def escape_ft(text: str, codec: str = "utf-8") -> str:
    """Text for an FT (formatted text) value: each LF is the FT line break ``\\.br\\``; a CR
    (alone or before the LF of a CRLF) stays a hex escape, so the exact line endings survive."""
    return FT_BREAK.join(escape(line, codec) for line in text.split("\n"))


_SEQUENCE = re.compile(r"\\(?:([FSTRE])|X([0-9A-Fa-f]*)|(\.br))\\")


def unescape(value: str, codec: str = "utf-8") -> str:
    """The inverse of :func:`escape` / :func:`escape_ft` (``\\.br\\`` reads back as LF)."""
    out: list[str] = []
    pos = 0
    pending = b""      # consecutive hex escapes form one UTF-8 byte run
    for m in _SEQUENCE.finditer(value):
        if m.start() > pos:
            out.append(_flush(pending, codec) + value[pos:m.start()])
            pending = b""
        if m.group(2) is not None:
            pending += bytes.fromhex(m.group(2)) if len(m.group(2)) % 2 == 0 else b""
        else:
            out.append(_flush(pending, codec) + (_UNESCAPE[m.group(1)] if m.group(1) else "\n"))
            pending = b""
        pos = m.end()
    out.append(_flush(pending, codec) + value[pos:])
    return "".join(out)


def _flush(pending: bytes, codec: str) -> str:
    return pending.decode(codec, "replace") if pending else ""



class Escaped(str):
    """A value that is already escaped (e.g. FT text with ``\\.br\\``): written as it is."""


def _leaf(value: object, codec: str) -> str:
    return value if isinstance(value, Escaped) else escape(str(value), codec)


def _component(value: object, codec: str) -> str:
    if isinstance(value, (list, tuple)):                  # subcomponents
        return "&".join(_leaf(v, codec) for v in value)
    return _leaf(value, codec)


def _field(value: object, codec: str) -> str:
    if isinstance(value, Repeat):
        return "~".join(_field(v, codec) for v in value)
    if isinstance(value, (list, tuple)):                  # components
        return "^".join(_component(v, codec) for v in value).rstrip("^")
    return _leaf(value, codec)


class Repeat(tuple[object, ...]):
    """The repetitions of a field."""


def segment(name: str, fields: dict[int, object], codec: str = "utf-8") -> str:
    """One ER7 segment from ``{field number: value}``, every leaf escaped on the way out.

    A value is a string (one component), a list of components (a component may be a list of
    subcomponents), a :class:`Repeat` of such values, or :class:`Escaped` text. The MSH's own
    MSH-1/MSH-2 are written by :func:`msh_segment`."""
    last = max(fields, default=0)
    parts = [name] + ["" if fields.get(i) in (None, "") else _field(fields[i], codec)
                      for i in range(1, last + 1)]
    return "|".join(parts)


def msh_segment(fields: dict[int, object], codec: str = "utf-8") -> str:
    """MSH with the default encoding characters; ``fields`` numbered from MSH-3."""
    rest = segment("MSH", {i - 2: v for i, v in fields.items()}, codec)
    return "MSH|^~\\&" + rest[3:]
