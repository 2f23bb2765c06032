"""The checkable facts of one stretch of text, computed once: numbers with units, drugs, sides of
the body (with the body part they qualify) and frequencies."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass, field

from localscribe.verify.findings import load_findings
from localscribe.verify.frequency import frequencies
from localscribe.verify.lexicon import DrugLexicon
from localscribe.verify.negation import STOPWORDS, negation_mask
from localscribe.verify.polarity import finding_polarity
from localscribe.verify.text import normalize_numbers, quantities, root, words

_SIDES = {"left": "left", "right": "right", "bilateral": "bilateral", "bilaterally": "bilateral"}
_PAIRED = {"both": "bilateral"}
# Words between a side and the part it qualifies: "right lower extremity", "left index finger".
_SIDE_FILLERS = {"lower", "upper", "side", "sided", "-sided", "anterior", "posterior", "medial",
                 "lateral", "distal", "proximal", "middle", "index", "ring", "small", "little", "big",
                 "great", "inner", "outer", "front", "back", "of", "the", "my", "your", "his", "her",
                 "a", "and", "mid", "total", "hand", "greater"}
_DRUG_NEGATORS = {"no", "not", "denies", "denied", "never", "without", "n't", "stopped", "off", "nor"}
_NOT_SIDE_BEFORE = {"all", "that's", "thats", "yeah", "yes", "okay", "ok", "is", "right", "alright", "so",
                    "exactly", "you're", "it's", "that"}
_NOT_SIDE_AFTER = {"?", "now", "here", "there", "away", "after", "before", "then", "so", "okay", "yeah", "um", "uh"}
_NOT_PARTS = {"now", "here", "there", "away", "after", "before", "when", "okay", "so", "yes",
              "and", "but", "or", "with", "to", "is", "was", "it", "that", "this", "thing", "one"}


@dataclass
class Facts:
    raw: str = ""
    tokens: list[str] = field(default_factory=list)
    numbers: set[str] = field(default_factory=set)
    quantities: set[tuple[str, str | None]] = field(default_factory=set)
    drug_names: dict[str, str] = field(default_factory=dict)     # generic -> name as written
    sides: set[str] = field(default_factory=set)
    pairs: set[tuple[str, str]] = field(default_factory=set)     # (side, body part stem)
    freqs: set[str] = field(default_factory=set)
    has_content: bool = False
    stems: set[str] = field(default_factory=set)
    # Per clause: (content stems, (side, part) pairs, sides), to tell "swelling of the right knee"
    # from "the left knee looks fine" within one turn.
    clauses: list[tuple[set[str], set[tuple[str, str | None]]]] = field(default_factory=list)
    # The same, a long clause cut into one window per side named: what a body part's side binds to.
    windows: list[tuple[set[str], set[tuple[str, str | None]]]] = field(default_factory=list)
    # Doses and frequencies bound to the drug named before them ("lisinopril 20 mg once a day and
    # carvedilol 25 mg twice a day"): generic -> (quantities, frequencies).
    drug_slots: dict[str, tuple[set[tuple[str, str | None]], set[str]]] = field(default_factory=dict)
    pair_counts: Counter[tuple[str, str | None]] = field(default_factory=Counter)

    @classmethod
    def of(cls, text: str, lexicon: DrugLexicon) -> Facts:
        toks = normalize_numbers(words(text))
        q = set(quantities(text))
        claims = side_claims(text, both=True)
        sides = {s for s, _ in claims}
        pairs = {(s, p) for s, p in claims if p}
        for s, p in list(pairs):      # "left and right knee" / "both knees": the part on both sides
            if s == "bilateral":
                pairs |= {("left", p), ("right", p)}
        for p in {p for _, p in pairs}:
            if {("left", p), ("right", p)} <= pairs:
                pairs.add(("bilateral", p))
        if {"left", "right"} <= sides:
            sides.add("bilateral")
        drugs: dict[str, str] = {}
        for name in lexicon.find(text):
            drugs.setdefault(lexicon.generic_of.get(name, name), name)
        slots: dict[str, tuple[set[tuple[str, str | None]], set[str]]] = {}
        low = text.lower()
        hits = [(m.start(), lexicon.generic_of.get(m.group(1), m.group(1))) for m in lexicon.pattern.finditer(low)]
        # A dose said just before a name ("five hundred of metformin", "81 mg aspirin") is that
        # drug's, not the one named before it; the rest of a stretch belongs to the name it follows.
        starts = [_dose_before(low, start, hits[i - 1][0] if i else max(0, start - 40)) for i, (start, _) in
                  enumerate(hits)]
        for i, (_, generic) in enumerate(hits):
            end = starts[i + 1] if i + 1 < len(hits) else len(low)
            chunk = low[starts[i]:end]
            doses, freqs = slots.setdefault(generic, (set(), set()))
            doses.update(quantities(chunk))
            freqs.update(frequencies(chunk))
        content = [t for t in toks if t[0].isalpha() and len(t) > 2 and t not in STOPWORDS]
        return cls(raw=text.lower(), tokens=toks, numbers={n for n, _ in q}, quantities=q,
                   drug_names=drugs, sides=sides, pairs=pairs, freqs=frequencies(text),
                   has_content=len(content) >= 2, stems={root(t) for t in toks if t[0].isalpha()},
                   clauses=_side_clauses(text), windows=_side_clauses(text, windows=True), drug_slots=slots,
                   pair_counts=Counter(p for p in claims if p[1]))

    @staticmethod
    def union(all_facts: list[Facts]) -> Facts:
        u = Facts()
        for f in all_facts:
            u.numbers |= f.numbers
            u.quantities |= f.quantities
            u.sides |= f.sides
            u.pairs |= f.pairs
            u.freqs |= f.freqs
            u.stems |= f.stems
            u.pair_counts.update(f.pair_counts)
            for g, (q, fr) in f.drug_slots.items():
                uq, ufr = u.drug_slots.setdefault(g, (set(), set()))
                uq |= q
                ufr |= fr
            for g, n in f.drug_names.items():
                u.drug_names.setdefault(g, n)
        return u


_NUM_WORD = (r"(?:\d+(?:\.\d+)?|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|"
             r"twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|point|and a half|half)")
_DOSE_TAIL = re.compile(r"(?:\b" + _NUM_WORD + r"\b[\s.,]*)+"
                        r"(?:(?:mg|mcg|milligrams?|micrograms?|units?|grams?|ml|cc)\b\s*)?(?:of\s+)?(?:the\s+|your\s+|his\s+|her\s+)?$")


def _dose_before(low: str, start: int, floor: int) -> int:
    """Where a dose said just before the drug name at ``start`` begins (``start`` if none);
    never before ``floor`` (the previous name) nor across a list's comma or "and"."""
    before = low[floor:start]
    cut = max((m.end() for m in re.finditer(r"[;:]|\band\b|,\s(?=\D)", before)), default=0)
    m = _DOSE_TAIL.search(before, cut)
    return floor + m.start() if m and m.group().strip() else start


_CLAUSE_BREAK = {".", ";", "?", "!", ",", ":", "but", "however", "whereas", "while"}


def clause_terms(toks: list[str]) -> set[str]:
    """Content stems and finding names of a clause: "swollen" and "swelling" meet as edema. A
    finding counts with its polarity in the clause ("f:" asserted, "f-:" denied, "f?:" only asked),
    so that "my right knee aches" answers "left knee pain" better than "when i move your left knee
    do you get any pain"; the words of a finding count only through it."""
    lex = load_findings()
    inside = {i for m in lex.find(toks) for i in range(m.start, m.end)}
    terms = {root(w) for i, w in enumerate(toks) if i not in inside and w[0].isalpha() and w not in STOPWORDS
             and len(w) > 2 and w.split("-")[0] not in _SIDES and w != "both"}
    if not inside:
        return terms
    pol = finding_polarity(" ".join(toks), lex, spoken=True)
    asserted = {c.split("|")[0] for c in pol.asserted}
    negated = {c.split("|")[0] for c in pol.negated} - asserted
    asked = {c.split("|")[0] for c in pol.mentioned} - asserted - negated
    return terms | {"f:" + c for c in asserted} | {"f-:" + c for c in negated} | {"f?:" + c for c in asked}


_BIND_WINDOW = 8     # words either side of a side's mention that it binds to ("right knee ... aches")


def _side_clauses(text: str, windows: bool = False) -> list[tuple[set[str], set[tuple[str, str | None]]]]:
    """Per clause (windows=True: within a long clause, per side mentioned): the words near the
    side (its nearest heads) and the claims it makes. An unpunctuated ASR turn that speaks of the left knee
    and, twenty words on, of the right knee's pain binds the pain to the right knee only."""
    out = []
    cur: list[str] = []
    for t in words(text) + ["."]:
        if t in _CLAUSE_BREAK:
            claims = side_positions(cur, both=True) if cur else []
            if claims and (not windows or len(cur) <= 2 * _BIND_WINDOW):
                out.append((clause_terms(cur), {(s, p) for _, s, p in claims}))
            elif claims:
                for i, side, part in claims:
                    # The window ends where another side is named: "left knee is fine, the right aches".
                    lo = max([j + 1 for j, _, _ in claims if j < i] + [i - _BIND_WINDOW, 0])
                    hi = min([j for j, _, _ in claims if j > i + 1] + [i + _BIND_WINDOW, len(cur)])
                    out.append((clause_terms(cur[lo:hi]), {(side, part)}))
            cur = []
        else:
            cur.append(t)
    return out


def side_claims(text: str, *, both: bool = False) -> list[tuple[str, str | None]]:
    """(side, body part or None) for each side the text names: "right knee" -> ("right", "knee").
    both=True also reads "both knees" as bilateral (said in a visit, never claimed by a note)."""
    return [(s, p) for _, s, p in side_positions(words(text), both=both)]


def side_positions(toks: list[str], *, both: bool = False) -> list[tuple[int, str, str | None]]:
    out: list[tuple[int, str, str | None]] = []
    for i, t in enumerate(toks):
        head = t.split("-")[0] if "-" in t and "dominant" not in t else t
        side = _SIDES.get(head) or (_PAIRED.get(t) if both else None)
        if not side:
            continue
        if head == "right" and ((i > 0 and toks[i - 1] in _NOT_SIDE_BEFORE) or
                                (i + 1 < len(toks) and toks[i + 1] in _NOT_SIDE_AFTER)):
            continue                      # "all right", "that's right", "right now", "right?"
        part = None
        for u in toks[i + 1:i + 4]:
            if u in _SIDE_FILLERS or u.endswith("-sided"):
                continue
            if u[0].isalpha() and u not in _NOT_PARTS and u not in _SIDES:
                part = root(u)
            break
        if t == "both" and part is None:
            continue                      # "both" alone names no side
        out.append((i, side, part))
    return out


def find_drug(aliases: set[str], facts: Facts) -> bool:
    """Is the drug (any of its names) said in this text? Tolerates ASR misspellings ("metforman")."""
    for n in aliases:
        if n in facts.raw and (f" {n}" in f" {facts.raw}"):
            return True
        if " " not in n and len(n) > 5 and difflib.get_close_matches(n, facts.tokens, n=1, cutoff=0.85):
            return True
    return False


def _drug_polarity(text: str, lexicon: DrugLexicon) -> tuple[set[str], set[str]]:
    """(drugs named outside any negation, drugs named inside one), by generic name."""
    low = text.lower()
    toks_at = [(m.start(), m.group()) for m in re.finditer(r"[a-z0-9]+(?:[.'/-][a-z0-9]+)*|[%?.,;:!]", low)]
    toks = [t for _, t in toks_at]
    names = []
    for m in lexicon.pattern.finditer(low):
        idx = next((i for i, (p, _) in enumerate(toks_at) if p >= m.start()), None)
        if idx is not None:
            names.append((idx, lexicon.generic_of.get(m.group(1), m.group(1))))
    free = {i for i, _ in names}
    mask = negation_mask(toks, free)
    # Only a close negation denies the drug itself ("denies taking ibuprofen", "not on metformin");
    # "did not want any steroid due to a reaction to dexamethasone" does not.
    close = {i for i, _ in names if any(t in _DRUG_NEGATORS for t in toks[max(0, i - 3):i])}
    pos = {g for i, g in names if not mask[i]}
    neg = {g for i, g in names if mask[i] and i in close}
    return pos, neg


def negated_drugs(text: str, lexicon: DrugLexicon) -> set[str]:
    """Drugs a note says are not taken ("denies taking ibuprofen")."""
    pos, neg = _drug_polarity(text, lexicon)
    return neg - pos


def affirmed_drugs(text: str, lexicon: DrugLexicon, speaker: str = "") -> set[str]:
    """Drugs a line of the visit says are taken: named outside a negation or a question, by the
    patient or as "taking"/"on" the drug (a clinician's suggestion is not a drug taken)."""
    if "?" in text:
        text = " ".join(p for p in re.split(r"(?<=[.?!])\s+", text) if not p.rstrip().endswith("?"))
    pos = _drug_polarity(text, lexicon)[0]
    if speaker == "patient" or not pos:
        return pos
    low = text.lower()
    taking = r"\b(?:taking|take|takes|on|using|continue)\s+(?:\w+\s+){0,2}"
    return {g for g in pos if any(re.search(taking + re.escape(a), low)
                                  for a in lexicon.aliases(g))}
