"""Findings (symptoms, signs, diagnoses) named in a text, under one canonical name per concept.

The vocabulary is assets/lexicon/findings.txt: "dyspnea | shortness of breath | sob ...". Variants
are matched word by word on light stems (text.root), skipping a few filler words, so "pain in my
chest" and "chest pains" both name "chest pain". A word with a finding suffix (-itis, -emia, ...)
that the list lacks still counts as a finding of its own, so that the check is not limited to
what someone thought of listing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from localscribe.resources import asset
from localscribe.verify.text import root

# Skipped while matching: "pain in the chest" == "pain in chest".
FILLERS = frozenset({"the", "my", "a", "an", "any", "some", "your", "his", "her", "their", "its",
                     "this", "that", "those", "these", "little", "bit", "of-the"})
_SUFFIX = re.compile(r"[a-z]{3,}(itis|osis|emia|algia|uria|opathy|megaly|rrhea|rrhoea|penia|"
                     r"cytosis|plegia|paresis|oma|ectasia|plasia|trophy|iasis)$")
_NOT_FINDINGS = frozenset({"diploma", "aroma", "sarcoma-free", "hypertrophy-free", "diagnosis",
                           "prognosis", "osmosis", "hypnosis", "emphasis", "analysis"})


@dataclass(frozen=True)
class Mention:
    concept: str       # canonical name, e.g. "dyspnea"
    start: int         # token span [start, end) in the token list given to find()
    end: int


@dataclass(frozen=True)
class FindingLexicon:
    by_first: dict[str, list[tuple[tuple[str, ...], str]]]    # first stem -> (stems, concept), longest first
    names: frozenset[str]
    related: dict[str, tuple[str, ...]]     # concept -> parents and "~stem" words that count as a mention

    def mentioned(self, concept: str, concepts: set[str], stems: set[str]) -> bool:
        """Did a text naming these concepts and word stems speak of this finding at all?"""
        if concept in concepts:
            return True
        for r in self.related.get(concept, ()):
            if (r[0] == "~" and any(s.startswith(root(r[1:])) for s in stems)) or r in concepts:
                return True
        return False

    def find(self, tokens: list[str]) -> list[Mention]:
        """Findings named in lower-case word tokens (text.words), longest match first."""
        kept = [(i, root(t.removeprefix("non-"))) for i, t in enumerate(tokens) if t not in FILLERS]
        out: list[Mention] = []
        k = 0
        while k < len(kept):
            i, r = kept[k]
            hit = None
            for stems, concept in self.by_first.get(r, ()):
                n = len(stems)
                if tuple(s for _, s in kept[k:k + n]) == stems:
                    hit = (concept, n)
                    break
            if hit:
                concept, n = hit
                out.append(Mention(concept, i, kept[k + n - 1][0] + 1))
                k += n
                continue
            tok = tokens[i]
            if _SUFFIX.fullmatch(tok) and tok not in _NOT_FINDINGS:
                out.append(Mention(root(tok), i, i + 1))
            k += 1
        return out


def parse_findings(text: str) -> FindingLexicon:
    by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    names = set()
    related: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines():
        line = line.strip().lower()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            child, _, parents = line[1:].partition(">")
            related[child.strip()] = tuple(p.strip() for p in parents.split(",") if p.strip())
            continue
        variants = [v.strip() for v in line.split("|") if v.strip()]
        concept = variants[0]
        names.add(concept)
        for v in variants:
            stems = tuple(root(w) for w in re.findall(r"[a-z0-9]+(?:[-'][a-z0-9]+)*", v) if w not in FILLERS)
            if stems:
                by_first.setdefault(stems[0], []).append((stems, concept))
    for lst in by_first.values():
        lst.sort(key=lambda e: -len(e[0]))
    return FindingLexicon(by_first=by_first, names=frozenset(names), related=related)


@lru_cache(maxsize=4)
def load_findings(path: Path | None = None) -> FindingLexicon:
    return parse_findings((path or asset("lexicon", "findings.txt")).read_text(encoding="utf-8"))
