"""Dates typed by a person: ISO 8601 (1968-04-23) or this computer's locale format
(23/04/1968 in en_GB, 4/23/1968 in en_US), always stored as ISO.

Two-digit years are refused rather than guessed: for a date of birth, "05" could be 1905 or
2005, and a wrong century files the note under the wrong patient.
"""

from __future__ import annotations

import datetime as dt
import re

from PySide6.QtCore import QDate, QLocale


class DateError(ValueError):
    """The text is not a date in a form we accept; the message says which forms are."""


def example(locale: QLocale | None = None) -> str:
    """23/04/1968 written the way this locale writes it (for hints and error messages)."""
    locale = locale or QLocale()
    return locale.toString(QDate(1968, 4, 23), _four_digit_year(locale.dateFormat(QLocale.FormatType.ShortFormat)))


def parse_date(text: str, locale: QLocale | None = None) -> dt.date:
    text = text.strip()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    locale = locale or QLocale()
    for kind in (QLocale.FormatType.ShortFormat, QLocale.FormatType.LongFormat):
        fmt = _four_digit_year(locale.dateFormat(kind))
        if not re.search(r"\d{4}", text) and "yyyy" in fmt:
            continue                                  # a two-digit year: refuse, do not guess
        d = locale.toDate(text, fmt)
        if d.isValid():
            return dt.date(d.year(), d.month(), d.day())
    raise DateError(f"write the date as {example(locale)} or 1968-04-23")


def _four_digit_year(fmt: str) -> str:
    return re.sub(r"(?<!y)yy(?!y)", "yyyy", fmt)
