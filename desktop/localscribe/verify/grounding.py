"""Check every statement of a draft against the visit, and point its evidence at where it was said.

Two tiers of flags. BLOCKING: a fact the visit never states or contradicts: a number, unit, dose,
frequency, drug, side of the body, a finding asserted that was never mentioned, or a finding
whose presence the note flips. INFO: worth a glance, never blocks signing (nothing in the visit
clearly supports the statement; a finding denied in the note that the visit never discussed; a
finding asked about whose answer is unclear; "bilateral" where the visit named one side).

A fact said elsewhere than the cited lines is not a problem: the statement's evidence is re-linked
to the lines that say it (align() plus the lines holding each fact). Each fact is judged near the
statement's evidence first (the cited and aligned lines, with a neighbour each side), and a
number, side or frequency that differs from the one the visit gives for the same thing (the same
drug, body part, or topic) is a contradiction even if the note's value is said elsewhere. Reasons
are plain sentences for the clinician, one per distinct problem.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from localscribe.domain import Draft, Flag, FlagTier, Statement, Transcript
from localscribe.verify.align import aligner
from localscribe.verify.body import COMPARATORS, self_comparison, site_variants
from localscribe.verify.facts import (
    Facts,
    affirmed_drugs,
    clause_terms,
    find_drug,
    negated_drugs,
    side_positions,
)
from localscribe.verify.findings import FindingLexicon, load_findings
from localscribe.verify.frequency import implied
from localscribe.verify.lexicon import DrugLexicon, load_lexicon
from localscribe.verify.negation import STOPWORDS
from localscribe.verify.phrases import PhraseIndex
from localscribe.verify.polarity import (
    GENERIC,
    FindingPolarity,
    finding_polarity,
    is_site,
    segment_polarities,
)
from localscribe.verify.text import (
    DATE,
    DOSE_UNITS,
    MONTHS,
    canon_number,
    is_number,
    normalize_numbers,
    quantities,
    words,
)

# Flags that mean "this fact is not in the visit": what the unsupported rate counts.
UNSUPPORTED_KINDS = frozenset({"number", "unit", "dose", "frequency", "drug", "laterality", "negation",
                               "finding"})
EVIDENCE_WINDOW = 1     # evidence lines +- this many neighbours count as near the statement
MAX_EVIDENCE = 6
_TOPICAL = 2.0          # aligner weight a line must share with a statement to speak of its topic
INFO = FlagTier.INFO.value

# Words before a number that do not name what it counts ("about 3", "at 10", "and 2").
_NOT_HEADS = {"about", "around", "approximately", "than", "over", "under", "least", "most", "only", "maybe",
              "like", "just", "nearly", "almost", "roughly", "another", "last", "past", "next", "every",
              "those", "these", "all", "out", "between", "through", "within", "take", "takes", "taking",
              "rated", "rates", "rate", "was", "were", "now", "then", "says", "said", "number", "one"}
_PLURAL_UNITS = {"day", "week", "month", "year", "hour", "minute", "tablet", "puff", "unit", "degree"}


def _said(num: str, unit: str | None) -> str:
    if not unit:
        return num
    return f"{num} {unit}" + ("s" if num != "1" and unit in _PLURAL_UNITS else "")


def _listing(items: Iterable[str]) -> str:
    items = sorted(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


@dataclass
class _Check:
    """One statement's verdicts while it is being checked."""
    flags: list[Flag]
    support: set[int]        # segments holding a fact of the statement
    local_ok: bool = True    # every fact found on the lines the statement cites

    def flag(self, kind: str, reason: str, span: str = "", tier: str = FlagTier.BLOCKING.value) -> None:
        if not any(f.kind == kind and f.span == span for f in self.flags):
            self.flags.append(Flag(kind, reason, span, tier))


class Verifier:
    def __init__(self, transcript: Transcript, lexicon: DrugLexicon | None = None,
                 findings: FindingLexicon | None = None):
        self.transcript = transcript
        self.lexicon = lexicon or load_lexicon()
        self.findings = findings or load_findings()
        self.segments = list(transcript.segments)
        self.index = {s.id: i for i, s in enumerate(self.segments)}
        self.aligner = aligner(transcript, self.lexicon, self.findings)
        self.facts = [Facts.of(s.text, self.lexicon) for s in self.segments]
        self.polarity = segment_polarities(self.segments, self.findings)
        self.whole = Facts.union(self.facts)
        self.taken = [affirmed_drugs(s.text, self.lexicon, s.speaker) for s in self.segments]
        self.phrases = PhraseIndex(self.segments, self.findings)
        self.whole_polarity = FindingPolarity()
        for p in self.polarity:
            self.whole_polarity.update(p)

    # -- where things are -------------------------------------------------------------------
    def _window(self, idx: set[int]) -> list[int]:
        out: set[int] = set()
        for i in idx:
            out.update(range(max(0, i - EVIDENCE_WINDOW), min(len(self.segments), i + EVIDENCE_WINDOW + 1)))
        return sorted(out)

    def _best(self, candidates: list[int], text: str) -> int:
        """Of the lines holding a fact, the one that shares most with the statement."""
        scores = self.aligner.scores(text)
        return max(candidates, key=lambda k: (scores.get(k, 0.0), -k))

    def _locate(self, c: _Check, holds: Callable[[int], bool], region: list[int], cited: list[int], text: str,
                topical: bool = False) -> bool:
        """Is the fact (holds(k) -> bool) near the statement, else anywhere? Records support.
        topical: said elsewhere counts only where the visit speaks of the statement's topic (a
        line, or its neighbour, sharing some of its other words): "2 months" said of the
        smoking history does not support "follow up in 2 months"."""
        near = [k for k in region if holds(k)]
        # The cited lines themselves (and the question or answer paired with one) must hold the
        # fact for the citation to stand; a neighbour is not enough.
        exact = set(cited) | {p for k in cited if (p := self.aligner.pair[k]) is not None}
        if not any(holds(k) for k in exact):
            c.local_ok = False
        if near:
            c.support.add(self._best(near, text))
            return True
        anywhere = [k for k in range(len(self.segments)) if holds(k)]
        if anywhere and topical:
            scores = self.aligner.scores(text, skip=("n", "s"))
            if scores or self.aligner.features(text) - {x for x in self.aligner.features(text) if x[0] in "ns"}:
                anywhere = [k for k in anywhere if max(scores.get(j, 0.0) for j in self._window({k})) >= _TOPICAL]
        if anywhere:
            c.support.add(self._best(anywhere, text))     # said elsewhere: re-link, no flag
            return True
        return False

    # -- the check --------------------------------------------------------------------------
    def check(self, st: Statement) -> list[Flag]:
        """Flags for one statement; also re-links st.evidence to the lines that support it."""
        cited = [self.index[e] for e in st.evidence if e in self.index]
        aligned = [self.index[i] for i in self.aligner.align(st.text)]
        # The lines on the statement's topic whatever numbers and sides they state: a number or
        # side that differs from theirs is contradicted, even if said elsewhere in the visit.
        topic = self._window({self.index[i] for i in self.aligner.align(st.text, skip=("n", "s"))})
        region = sorted(set(self._window(set(cited) | set(aligned))) | set(topic))
        c = _Check([], set())
        mine = Facts.of(st.text, self.lexicon)
        self._numbers(c, mine, st.text, region, topic, cited)
        self._drugs(c, mine, region, cited, st.text)
        self._sides(c, st.text, region, topic, cited)
        self._frequencies(c, mine, region, topic, cited, st.text)
        self._findings(c, st.text, region, cited)
        self._phrases(c, st.text)
        # Nothing in the visit behind it, not even a fact to check ("The patient is Dr."):
        # never silent, but not blocking either (no fact is contradicted or absent).
        if not aligned and not c.support and not any(f.blocking for f in c.flags):
            c.flag("weak-evidence", "Nothing said in the visit clearly supports this statement.", tier=INFO)
        self._relink(st, c, cited, aligned)
        return c.flags

    def _relink(self, st: Statement, c: _Check, cited: list[int], aligned: list[int]) -> None:
        cited_ok = bool(cited) and c.local_ok and len(cited) == len(st.evidence) and (
            not aligned or set(self._window(set(cited))) & set(aligned))
        if cited_ok:
            return
        new = sorted(set(aligned) | c.support)[:MAX_EVIDENCE]
        if new or any(e not in self.index for e in st.evidence):
            st.evidence = [self.segments[k].id for k in new]

    # -- numbers, units and doses -----------------------------------------------------------
    def _numbers(self, c: _Check, mine: Facts, text: str, region: list[int], topic: list[int],
                 cited: list[int]) -> None:
        for tok in words(text):         # "02/2020": its month is checked as the name the visit says
            date = DATE.fullmatch(tok)
            month = MONTHS[int(date.group(1)) - 1] if date else ""
            if month and month not in self.whole.stems:
                c.flag("number", f"The note says {month.capitalize()} ({tok}), but the visit never says "
                                 f"{month.capitalize()}.", tok)
        for num, unit in dict.fromkeys(quantities(text)):
            said = _said(num, unit)
            kind = "dose" if unit in DOSE_UNITS else "number"
            if num not in self.whole.numbers:
                c.flag(kind, f"The note says '{said}', but {num} was never said in the visit.", said)
                continue
            bound = [g for g, (q, _) in mine.drug_slots.items() if (num, unit) in q]
            wrong = None        # every drug the note gives this dose ("A 500 mg and B 500 mg")
            for g in bound if unit in DOSE_UNITS else []:
                doses = {q for q in self.whole.drug_slots.get(g, (set(), set()))[0] if q[1] == unit}
                if doses and (num, unit) not in doses:
                    wrong = (g, doses)
                    break
            if wrong:
                g, doses = wrong
                c.flag("dose", f"The note gives {mine.drug_names[g]} as {said}, but the visit "
                               f"gives {_listing(_said(n, u) for n, u in doses)}.", said)
                continue
            same = {q for k in topic for q in self.facts[k].quantities if q[1] == unit}
            if unit in DOSE_UNITS and mine.drug_names:
                same = set()        # a drug's dose is judged against that drug only (above)
            if unit and same and (num, unit) not in same:
                other = {q for k in topic for q in self.facts[k].quantities if q[0] == num and q[1] and q[1] != unit}
                kind = "unit" if other else kind
                c.flag(kind, f"The note says '{said}', but where the visit speaks of this it says "
                             f"{_listing(_said(n, u) for n, u in (other or same))}.", said)
                continue
            if not unit:
                heads = self._head_numbers(text, num)
                if heads:
                    head, said_there = heads
                    c.flag(kind, f"The note says {head} {num}, but the visit says {head} "
                                 f"{_listing(said_there)}.", said)
                    continue
                if not self._locate(c, lambda k: num in self.facts[k].numbers, region, cited, text, topical=True):
                    c.flag(kind, f"The note says '{said}', but the visit says {num} only about something else.", said)
                continue
            if self._locate(c, lambda k: (num, unit) in self.facts[k].quantities, region, cited, text,
                            topical=unit not in DOSE_UNITS):
                continue
            # The number was said, never with this unit; said bare near the statement is enough.
            if any((num, None) in self.facts[k].quantities for k in region):
                continue
            heard = sorted({u for n, u in self.whole.quantities if n == num and u})
            detail = f": the visit says {_listing(_said(num, u) for u in heard)}" if heard else ""
            c.flag("unit" if heard else kind, f"The note says '{said}', but the visit never says "
                                              f"{num} with that unit{detail}.", said)

    def _head_numbers(self, text: str, num: str) -> tuple[str, set[str]] | None:
        """A bare number bound to the word before it ("type 2", "stage 0", "grade 1"): if the visit
        says that word with numbers and never with this one, the note's number is contradicted."""
        toks = normalize_numbers(words(text))
        for i, t in enumerate(toks[1:], 1):
            if t != num or not is_number(t):
                continue
            head = toks[i - 1]
            if not head.isalpha() or len(head) < 3 or head in STOPWORDS or head in _NOT_HEADS:
                continue
            # After a month only a day is bound to it: "january 2020" names the year, which is
            # no contradiction of "1/23/2020".
            month = head in MONTHS

            def day(n: str, month: bool = month) -> bool:
                return not month or float(n) <= 31
            if not day(num):
                continue
            said: set[str] = set()
            for f in self.facts:
                ft = f.tokens
                for j, w in enumerate(ft[:-1]):
                    if w == head and is_number(ft[j + 1]) and day(ft[j + 1]):
                        said.add(canon_number(ft[j + 1]))
            if said and num not in said:
                return head, said
        return None

    # -- drugs ------------------------------------------------------------------------------
    def _drugs(self, c: _Check, mine: Facts, region: list[int], cited: list[int], text: str) -> None:
        denied = negated_drugs(text, self.lexicon)
        for generic, name in mine.drug_names.items():
            aliases = self.lexicon.aliases(generic)
            if not self._locate(c, lambda k: find_drug(aliases, self.facts[k]), region, cited, text):
                c.flag("drug", f"The note names {name}, which was not mentioned in the visit.", name)
            elif generic in denied and any(generic in self.taken[k] for k in range(len(self.segments))):
                c.flag("negation", f"The note says the patient does not take {name}, but the visit says "
                                   "they do.", name)

    # -- sides of the body ------------------------------------------------------------------
    def _sides(self, c: _Check, text: str, region: list[int], topic: list[int], cited: list[int]) -> None:
        same = self_comparison(text)
        if same:
            c.flag("laterality", f"The note compares the {same} side with itself; one of the two sides is "
                                 "wrong.", same)
        toks = words(text)
        for i, side, part in side_positions(toks):
            if part is None and any(t in COMPARATORS for t in toks[max(0, i - 4):i]):
                continue        # "right worse than left": the left is the baseline, not a claim
            if side == "bilateral":
                # Clinicians write "bilaterally" for exams never sided aloud ("lungs clear"): only
                # a visit that speaks of one side alone of the same part is worth a glance.
                only = {s for s, p in self.whole.pairs if p == part} if part else set()
                if part and only and "bilateral" not in only:
                    c.flag("laterality", f"The note says bilateral {part}, but the visit speaks only of "
                                         f"the {_listing(only)} {part}.", side, tier=INFO)
                continue
            near = self._side_clause(text, part, range(len(self.segments)))
            if near and side not in near and "bilateral" not in near:
                what = f"the {_listing(near)} {part}" if part else _listing(near)
                c.flag("laterality", f"The note says {side + ' ' + part if part else repr(side)}, but where "
                                     f"the visit speaks of it, it says {what}.", side)
            elif part and not near and self.whole.pair_counts[(side, part)] <= 1 and max(
                    (n for (s2, p), n in self.whole.pair_counts.items() if p == part and s2 != side), default=0) >= 3:
                other = _listing({s for s, p in self.whole.pairs if p == part} - {side, "bilateral"})
                c.flag("laterality", f"The note says {side} {part}, but the visit speaks of the "
                                     f"{other} {part}.", side)
            elif part and any(p == part for _, p in self.whole.pairs):
                if not self._locate(c, lambda k: (side, part) in self.facts[k].pairs, region, cited, text):
                    other = _listing({s for s, p in self.whole.pairs if p == part} - {"bilateral"})
                    c.flag("laterality", f"The note says {side} {part}, but the visit speaks of the "
                                         f"{other} {part}.", side)
            elif not self._locate(c, lambda k: side in self.facts[k].sides, region, cited, text):
                c.flag("laterality", f"The note says '{side}', but that side was never mentioned in "
                                     "the visit.", side)

    def _side_clause(self, text: str, part: str | None, topic: Sequence[int]) -> set[str]:
        """Sides said in the clause of the visit that best matches the statement and names the
        same body part (or any side, for a statement without one): "swelling of the left knee"
        answers "right knee swelling", "the right knee is fine" does not."""
        want = clause_terms(words(text))
        best, best_score = set(), 1 if part else 0     # the part alone says nothing of which side
        for k in topic:
            for stems, claims in (self.facts[k].windows if part else self.facts[k].clauses):
                sides = {s for s, p in claims if p == part} if part else {s for s, _ in claims}
                if not sides:
                    continue
                score = len(want & stems)
                if score > best_score:
                    best, best_score = sides, score
                elif score == best_score and score:
                    best = best | sides
        return best

    # -- frequencies ------------------------------------------------------------------------
    def _frequencies(self, c: _Check, mine: Facts, region: list[int], topic: list[int],
                     cited: list[int], text: str) -> None:
        """A frequency bound to a drug must be one the visit gives that drug; otherwise one the
        visit gives where it speaks of the statement's topic; otherwise one said at all."""
        for f in sorted(mine.freqs):
            if f == "as needed" or (f == "1/day" and mine.freqs & {"at night", "in the morning"}):
                continue        # "as needed" is how clinicians write an unscheduled medicine
            bound = [g for g, (_, fr) in mine.drug_slots.items() if f in fr]
            given = implied(self.whole.drug_slots.get(bound[0], (set(), set()))[1]) - {"as needed"} if bound else set()
            where = f"for {mine.drug_names[bound[0]]}" if bound else ""
            if not given:
                given = set().union(*(implied(self.facts[k].freqs) for k in topic)) - {"as needed"} if topic else set()
                where = "where it speaks of this"
            if given and f not in given:
                c.flag("frequency", f"The note says '{f}', but the visit says "
                                    f"{_listing(given - {'1/day'} or given)} {where}.", f)
            elif not self._locate(c, lambda k: f in implied(self.facts[k].freqs), region, cited, text):
                c.flag("frequency", f"The note says '{f}', but the visit never gives that frequency.", f)

    # -- what the findings lexicon does not name: polarity of the clause's own words -------
    def _phrases(self, c: _Check, text: str) -> None:
        if any(f.kind == "negation" for f in c.flags):
            return
        for said, negated in self.phrases.contradicted(text):
            if negated:
                c.flag("negation", f"The note says no '{said}', but where the visit speaks of it, it is "
                                   "present.", said)
            else:
                c.flag("negation", f"The note says '{said}', but where the visit speaks of it, it is "
                                   "denied or absent.", said)

    # -- findings: never mentioned, or flipped ---------------------------------------------
    def _findings(self, c: _Check, text: str, region: list[int], cited: list[int]) -> None:
        pol = finding_polarity(text, self.findings)
        near = FindingPolarity()
        for k in region:
            near.update(self.polarity[k])
        whole = self.whole_polarity
        for f in sorted(pol.asserted - pol.negated):
            if "|" in f and f not in whole.mentioned:
                continue            # "pain with pronation": judged as "pain" unless the visit says it so
            if not self.findings.mentioned(f, whole.mentioned, self.whole.stems):
                c.flag("finding", f"The note reports {f}, which was not mentioned in the visit.", f)
            elif ((f in near.negated and f not in near.asserted) or (
                    f not in near.asserted and f in whole.negated and f not in whole.asserted)) and not (
                    f in GENERIC and f in whole.asserted):
                # A broad finding ("pain") the visit both reports and denies was denied under some
                # condition ("when I push here, does that hurt?" "no"): not a contradiction.
                c.flag("negation", f"The note reports {_name(f)}, but in the visit it was denied or "
                                   "ruled out.", _name(f))
            elif "|" not in f and not self.findings.mentioned(f, whole.asserted, self.whole.stems):
                # Asked about and never clearly answered: weak, not absent, so worth a glance only.
                c.flag("asked-only", f"The note reports {f}; in the visit it was asked about but the "
                                     "answer is not clear.", f, tier=INFO)
            else:
                self._locate(c, lambda k: f in self.polarity[k].asserted, region, cited, text)
        for f, site in sorted(pol.sites):
            # A stem that begins the site word counts only if it is a word of its own ("abdom" for
            # "abdominal"), never a fragment ("c" from "c-section" is not the calf).
            if not any(s.startswith(v) or (len(s) >= 4 and v.startswith(s))
                       for v in site_variants(site) for s in self.whole.stems):
                c.flag("finding", f"The note reports {f} of the {site}, but the {site} was never "
                                  "mentioned in the visit.", f"{site} {f}")
        near_stems = set().union(*(self.facts[k].stems for k in region)) if region else set()
        sided = bool({"left", "right", "bilateral", "bilaterally"} & set(words(text)))
        for f in sorted(pol.negated - pol.asserted):
            if "|" in f and f not in whole.mentioned:
                generic, _, site = f.partition("|")
                # "Denies tingling in the left leg" where the lines it stands on report tingling
                # and speak of the leg: the visit never put it that way, but it reports it.
                # A statement naming a side is left to the side rules ("denies right hand pain"
                # beside left hand pain reported); a condition ("pain with moving") is no site.
                if is_site(site) and not sided and generic in near.asserted and generic not in near.negated and any(
                        s.startswith(v) for v in site_variants(site) for s in near_stems):
                    c.flag("negation", f"The note says there is no {generic} of the {site}, but the visit "
                                       f"reports {generic} where it speaks of the {site}.", _name(f))
                continue
            kin = {r for r in self.findings.related.get(f, ()) if r[0] != "~" and r != "pain"}
            # "Denies dyspnea on exertion" against a visit that reports shortness of breath and
            # never speaks of it on exertion as such: the parent finding reported is a conflict.
            said = near if f in near.mentioned or kin & near.mentioned else whole
            if f not in said.mentioned and kin & said.asserted and not kin & said.negated:
                c.flag("negation", f"The note says there is no {f}, but the visit reports "
                                   f"{_listing(kin & said.asserted)}.", f)
                continue
            if f not in whole.mentioned:
                c.flag("not-discussed", f"The note says there is no {f}; the visit did not discuss it.",
                       f, tier=INFO)
            elif (f in near.asserted and f not in near.negated) or (
                    f not in near.mentioned and f in whole.asserted and f not in whole.negated):
                c.flag("negation", f"The note says there is no {_name(f)}, but the visit reports it.", _name(f))
            else:
                self._locate(c, lambda k: f in self.polarity[k].negated or f in self.polarity[k].mentioned,
                             region, cited, text)


def _name(finding: str) -> str:
    """ "pain|pronat" -> "pain with pronat..." as a clinician reads it."""
    concept, _, cond = finding.partition("|")
    return f"{concept} with {cond}" if cond else concept


def verify_draft(draft: Draft, transcript: Transcript, lexicon: DrugLexicon | None = None) -> Draft:
    """Set each statement's flags (replacing earlier ones), re-link evidence, return the draft."""
    v = Verifier(transcript, lexicon)
    for st in draft.statements:
        st.flags = v.check(st)
    return draft


def unsupported_rate(draft: Draft) -> float:
    """Share of statements with a blocking flag for a fact the visit never states (0.0 if empty)."""
    sts = draft.statements
    if not sts:
        return 0.0
    return sum(1 for st in sts if any(f.blocking and f.kind in UNSUPPORTED_KINDS for f in st.flags)) / len(sts)
