"""The drug-name lexicon (assets/lexicon/drugs.txt): names, brand names and their generic."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from localscribe.resources import asset


@dataclass(frozen=True)
class DrugLexicon:
    generic_of: dict[str, str]          # every known name -> its generic name
    pattern: re.Pattern[str]

    def find(self, text: str) -> list[str]:
        """Drug names mentioned in text (as written, lower case), longest names first."""
        return [m.group(1) for m in self.pattern.finditer(text.lower())]

    def aliases(self, name: str) -> set[str]:
        g = self.generic_of.get(name, name)
        return {n for n, gen in self.generic_of.items() if gen == g} | {g}


def parse_lexicon(text: str) -> DrugLexicon:
    generic_of: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip().lower()
        if not line or line.startswith("#"):
            continue
        name, _, generic = line.partition("=")
        generic_of[name.strip()] = (generic or name).strip()
    names = sorted(generic_of, key=len, reverse=True)
    pattern = re.compile(r"(?<![a-z])(" + "|".join(re.escape(n) for n in names) + r")(?![a-z])")
    return DrugLexicon(generic_of=generic_of, pattern=pattern)


@lru_cache(maxsize=4)
def load_lexicon(path: Path | None = None) -> DrugLexicon:
    return parse_lexicon((path or asset("lexicon", "drugs.txt")).read_text(encoding="utf-8"))
