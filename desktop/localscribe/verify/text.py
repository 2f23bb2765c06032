"""Shared text normalization for the verifier: words, spelled-out numbers, units."""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[a-z0-9]+(?:[.'/-][a-z0-9]+)*|[%?.,;:!]")

_UNITS = {
    "mg": "mg", "milligram": "mg", "milligrams": "mg", "mgs": "mg",
    "mcg": "mcg", "microgram": "mcg", "micrograms": "mcg", "ug": "mcg",
    "g": "g", "gram": "g", "grams": "g", "gm": "g",
    "kg": "kg", "kilogram": "kg", "kilograms": "kg", "kilo": "kg", "kilos": "kg",
    "lb": "lb", "lbs": "lb", "pound": "lb", "pounds": "lb",
    "ml": "ml", "milliliter": "ml", "milliliters": "ml", "millilitre": "ml", "cc": "ml", "ccs": "ml",
    "unit": "unit", "units": "unit", "iu": "unit",
    "cm": "cm", "centimeter": "cm", "centimeters": "cm", "mm": "mm", "millimeter": "mm",
    "millimeters": "mm", "inch": "inch", "inches": "inch",
    "%": "%", "percent": "%",
    "mmhg": "mmhg", "bpm": "bpm",
    "degree": "degree", "degrees": "degree",
    "day": "day", "days": "day", "week": "week", "weeks": "week", "month": "month",
    "months": "month", "year": "year", "years": "year", "yr": "year", "yrs": "year",
    "hour": "hour", "hours": "hour", "hr": "hour", "hrs": "hour",
    "minute": "minute", "minutes": "minute", "min": "minute", "mins": "minute",
    "times": "times", "tablet": "tablet", "tablets": "tablet", "pill": "tablet", "pills": "tablet",
    "puff": "puff", "puffs": "puff",
}
DOSE_UNITS = frozenset({"mg", "mcg", "g", "ml", "unit", "tablet", "puff"})

_ONES = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
         "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
         "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
         "nineteen": 19}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}
_SCALES = {"hundred": 100, "thousand": 1000}
# "twice a day", "20 milligrams a day": a rate, not a duration of one day.
_RATE_BEFORE = {"times", "time", "once", "twice", "thrice", "mg", "milligrams", "milligram", "mcg", "units",
                "pills", "pill", "tablets", "tablet", "puffs", "puff", "drinks", "beers", "cigarettes",
                "packs", "pack", "miles", "meals", "cups", "glasses", "servings"}
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
             "eighth": 8, "ninth": 9, "tenth": 10}
_NUMBER_WORDS = set(_ONES) | set(_TENS) | set(_SCALES)
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december")
# "02/2020", "10/12/2021": a date. Its month is said as a name ("since february 2020"), so it is
# kept as one, never as the number 2.
DATE = re.compile(r"(0?[1-9]|1[0-2])/(?:(\d{1,2})/)?((?:19|20)\d\d)")


def words(text: str) -> list[str]:
    """Lower-case word tokens; keeps punctuation that ends a clause as its own token."""
    return list(_words(text))


@lru_cache(maxsize=4096)
def _words(text: str) -> tuple[str, ...]:
    text = text.lower().replace("’", "'")
    text = re.sub(r"(\d),(\d{3})", r"\1\2", text)     # 1,000 -> 1000
    text = re.sub(r"\b(\d{1,2}):00\b", r"\1", text)    # 2:00 am -> 2 am
    text = re.sub(r"(\d)\s*%", r"\1 %", text)
    text = re.sub(r"(\d)([a-z]+)\b", r"\1 \2", text)   # 20mg -> 20 mg
    return tuple(_WORD.findall(text))


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def normalize_numbers(tokens: list[str]) -> list[str]:
    """Spelled-out numbers to digits ('twenty five' -> '25', 'one point five' -> '1.5',
    'a week' -> '1 week', 'a year and a half' -> '1.5 year', 'a couple' -> '2', 'second' -> '2',
    '120 over 80' -> '120', '80'); other tokens unchanged. 'three out of six six' stays 3, 6, 6:
    a ones word after a ones word starts a new number."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t in _NUMBER_WORDS:
            total, current, last = 0, 0, ""
            j = i
            while j < len(tokens) and (tokens[j] in _NUMBER_WORDS or
                                       (tokens[j] == "and" and j + 1 < len(tokens)
                                        and tokens[j + 1] in _NUMBER_WORDS and current)):
                w = tokens[j]
                if last == "scale" and w not in _SCALES and tokens[j + 1:j + 2] == [tokens[j - 1]]:
                    break           # "five hundred five hundred": said twice, not 50,500
                if w in _ONES:
                    if last == "ones" and current < 10 and _ONES[w] >= 10:
                        current, last = current * 100 + _ONES[w], "teen"     # "one eighteen" = 118
                        j += 1
                        continue
                    if last in ("ones", "tens", "teen") and (last != "tens" or current % 10 or _ONES[w] >= 10):
                        break
                    current += _ONES[w]
                    last = "ones"
                elif w in _TENS:
                    if last == "ones" and current < 10:
                        current, last = current * 100 + _TENS[w], "tens"     # "one twenty" = 120
                        j += 1
                        continue
                    if last in ("ones", "tens", "teen"):
                        break
                    current += _TENS[w]
                    last = "tens"
                elif w in _SCALES:
                    current = max(current, 1) * _SCALES[w]
                    last = "scale"
                    if w == "thousand":
                        total, current = total + current, 0
                j += 1
            if j > i and tokens[j - 1] == "and":
                j -= 1
            value: float = total + current
            if (j + 1 < len(tokens) and tokens[j] == "." and tokens[j + 1] in _ONES and _ONES[tokens[j + 1]] < 10
                    and (j + 2 >= len(tokens) or tokens[j + 2] not in _NUMBER_WORDS)):
                tokens = list(tokens)
                tokens[j] = "point"          # ASR writes "ninety eight . two", "two . five of norvasc"
            if j + 1 < len(tokens) and tokens[j] == "point" and tokens[j + 1] in _ONES:
                value = float(f"{int(value)}.{_ONES[tokens[j + 1]]}")
                j += 2
            elif tokens[j:j + 3] == ["and", "a", "half"]:
                value += 0.5
                j += 3
            out.append(_fmt(value))
            i = j
            continue
        if t == "point" and i + 1 < len(tokens) and tokens[i + 1] in _ONES and tokens[i + 1] != "zero":
            out.append(f"0.{_ONES[tokens[i + 1]]}")       # "point five centimeters"
            i += 2
            continue
        if t in _ORDINALS and not (t == "second" and i > 0 and tokens[i - 1] in ("a", "one", "per")):
            out.append(str(_ORDINALS[t]))
            i += 1
            continue
        nxt = tokens[i + 1:i + 3]
        after = (nxt[1:] if nxt[:1] == ["of"] else nxt[:1]) or [""]
        if t == "couple" and (not out or out[-1] in ("a", "the") or _UNITS.get(after[0]) in (
                "day", "week", "month", "year", "hour", "minute")):      # "the past couple months"
            if out and out[-1] in ("a", "the"):
                out.pop()
            out.append("2")
            i += 2 if tokens[i + 1:i + 2] == ["of"] else 1
            continue
        if t in ("a", "an", "next", "last", "one") and i + 1 < len(tokens) and _UNITS.get(tokens[i + 1]) in (
                "day", "week", "month", "year", "hour", "minute") and tokens[i + 2:i + 5] == ["and", "a", "half"]:
            out.extend(["1.5", tokens[i + 1]])         # "a year and a half"
            i += 5
            continue
        if t in ("next", "last") and i + 1 < len(tokens) and _UNITS.get(tokens[i + 1]) in ("week", "month", "year"):
            out.append("1")
            i += 1
            continue
        if (tokens[i:i + 3] in (["half", "an", "hour"], ["a", "half", "hour"])
                or tokens[i:i + 4] == ["a", "half", "an", "hour"]):
            i += 4 if tokens[i:i + 4] == ["a", "half", "an", "hour"] else 3
            out.extend(["30", "minutes"])
            continue
        if t in ("a", "an") and tokens[i + 2:i + 5] == ["and", "a", "half"] and i + 1 < len(tokens):
            out.extend(["1.5", tokens[i + 1]])          # "a pack and a half"
            i += 5
            continue
        if tokens[i:i + 2] in (["a", "half"], ["half", "a"], ["half", "an"]):
            out.append("0.5")                            # "a half a cc", "half a tablet"
            i += 2
            continue
        if t in ("a", "an") and i + 1 < len(tokens) and _UNITS.get(tokens[i + 1]) in (
                "day", "week", "month", "year", "hour", "minute") and (
                not out or out[-1] not in _RATE_BEFORE) and not (out and is_number(out[-1])):
            out.append("1")
            i += 1
            continue
        date = DATE.fullmatch(t)
        if date:
            out.append(MONTHS[int(date.group(1)) - 1])
            out.extend(p for p in (date.group(2), date.group(3)) if p)
            i += 1
            continue
        if "/" in t and all(p.replace(".", "", 1).isdigit() for p in t.split("/") if p):
            out.extend(p for p in t.split("/") if p)     # 120/80 -> 120 80
            i += 1
            continue
        if "-" in t and t.split("-")[0].replace(".", "", 1).isdigit():
            parts = t.split("-")                          # 58-year-old -> 58 year old
            out.extend(parts)
            i += 1
            continue
        out.append(t)
        i += 1
    return out


def is_number(tok: str) -> bool:
    return bool(re.fullmatch(r"\d+(?:\.\d+)?", tok))


def canon_number(tok: str) -> str:
    return _fmt(float(tok))


def unit_of(tok: str) -> str | None:
    return _UNITS.get(tok)


def quantities(text: str) -> list[tuple[str, str | None]]:
    """(number, unit or None) pairs in the order they appear."""
    toks = normalize_numbers(words(text))
    found: list[tuple[str, str | None]] = []
    for i, t in enumerate(toks):
        if is_number(t):
            unit = unit_of(toks[i + 1]) if i + 1 < len(toks) else None
            found.append((canon_number(t), unit))
    return found


@lru_cache(maxsize=1 << 16)
def root(word: str) -> str:
    """A light stemmer for matching words across a note and a conversation ("swelling" ~ "swell",
    "allergies" ~ "allergy", "increased" ~ "increase"); leaves numbers and short words alone."""
    w = word
    if not w.isalpha() or len(w) <= 3:
        return w
    if w.endswith("ies") and len(w) > 4 or w.endswith("ied") and len(w) > 4:
        w = w[:-3] + "y"
    elif len(w) > 4 and w.endswith("es") and w[-3] in "sxz":
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suf in ("ing", "ed"):
        if w.endswith(suf) and len(w) - len(suf) >= 4:
            w = w[: -len(suf)]
            if w[-1] == w[-2] and w[-1] not in "lsz":
                w = w[:-1]          # stopped -> stop
            break
    if w.endswith("e") and len(w) > 4:
        w = w[:-1]
    return w
