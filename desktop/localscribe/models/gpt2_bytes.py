"""Undo GPT-2's byte-to-unicode mapping, which CTranslate2 vocabularies are written in."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def unicode_to_byte() -> dict[str, int]:
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    codes = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, codes)}


def token_bytes(token: str) -> bytes:
    table = unicode_to_byte()
    try:
        return bytes(table[ch] for ch in token)
    except KeyError as exc:
        raise ValueError(f"token {token!r} holds {exc.args[0]!r}, not a GPT-2 byte character") from None
