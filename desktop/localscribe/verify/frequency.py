"""How often something is taken or done, as one canonical value: "twice a day", "BID", "2 times
daily" and "every 12 hours" are all "2/day". A note that changes a frequency changes a fact.

Values: "N/day", "N/week", "N/month", "every N hours", "every other day", "at night",
"in the morning", "as needed". A dose at night or in the morning is also a once-a-day dose, so a
note may call it "daily".
"""

from __future__ import annotations

import re

from localscribe.verify.text import normalize_numbers, words

_N = {"once": 1, "twice": 2, "thrice": 3}
_HOURS_PER_DAY = {24: 1, 12: 2, 8: 3, 6: 4}
_ABBR = {"qd": "1/day", "q.d": "1/day", "od": "1/day", "bid": "2/day", "b.i.d": "2/day",
         "tid": "3/day", "t.i.d": "3/day", "qid": "4/day", "q.i.d": "4/day", "qhs": "at night",
         "q.h.s": "at night", "qam": "in the morning", "prn": "as needed", "p.r.n": "as needed",
         "qod": "every other day", "daily": "1/day", "everyday": "1/day", "nightly": "at night", "weekly": "1/week",
         "monthly": "1/month", "bedtime": "at night"}
_PER = {"day": "day", "daily": "day", "week": "week", "weekly": "week", "month": "month",
        "monthly": "month", "night": "day", "evening": "day"}

# Over the normalized token string (spelled-out numbers already digits).
_PATTERNS: list[tuple[re.Pattern[str], object]] = [
    (re.compile(r"\bevery other day\b"), "every other day"),
    (re.compile(r"\b(?:as|when|if) (?:needed|necessary|required)\b"), "as needed"),
    (re.compile(r"\b(?:every|each|q) (\d+) (?:to \d+ )?(?:hour|hr|h)s?\b"), "hours"),
    (re.compile(r"\b(once|twice|thrice|(\d+) times?) (?:a|per|each|every|in a|/) ?(day|week|month|night)\b"), "times"),
    (re.compile(r"\b(once|twice|thrice|(\d+) times?) (daily|weekly|monthly)\b"), "times"),
    (re.compile(r"\b(?:at|before|around) (?:bed ?time|night|bed)\b|\bevery (?:night|evening)\b"
                r"|\bin the evening\b"), "at night"),
    (re.compile(r"\b(?:in the|every|each) morning\b"), "in the morning"),
    (re.compile(r"(?<!for )(?<!in )(?<!within )\b(?:every|each|per|a) day\b(?! or)"), "1/day"),
    (re.compile(r"\b(?:every|each|once a|per) week\b"), "1/week"),
    (re.compile(r"\b(?:every|each|once a|per) month\b"), "1/month"),
]
_WORD_ABBR = re.compile(r"\b(" + "|".join(re.escape(a) for a in sorted(_ABBR, key=len, reverse=True)) + r")\b")


def frequencies(text: str) -> set[str]:
    """Canonical frequencies a text states (see the module doc), "at night" etc. also as 1/day."""
    # "a day" stays words here: normalize_numbers would read it as the duration "1 day".
    toks = ["a_" if t == "a" else t for t in words(text)]
    s = " ".join("a" if t == "a_" else t for t in normalize_numbers(toks))
    found: list[str] = []
    for pat, kind in _PATTERNS:
        for m in pat.finditer(s):
            if kind == "hours":
                h = int(float(m.group(1)))
                found.append(f"{_HOURS_PER_DAY[h]}/day" if h in _HOURS_PER_DAY else f"every {h} hours")
            elif kind == "times":
                n = _N.get(m.group(1)) or int(float(m.group(2)))
                found.append(f"{n}/{_PER[m.group(3)]}")
            else:
                found.append(str(kind))
        s = pat.sub(" # ", s)        # a span counts once: "twice a day" is not also "a day"
    found += [_ABBR[m.group(1)] for m in _WORD_ABBR.finditer(s)]
    out = set(found)
    if out & {"at night", "in the morning"}:
        out.add("1/day")
    return out


def implied(freqs: set[str]) -> set[str]:
    """What a set of stated frequencies also supports ("at night" and "in the morning" = 2/day)."""
    out = set(freqs)
    if {"at night", "in the morning"} <= out:
        out.add("2/day")
    return out
