"""Which findings a text asserts and which it negates (a small NegEx-style rule set).

A negation trigger ("no", "denies", "without", "doesn't have", ...) negates the words after
it up to the end of the clause (punctuation or "but", "however", ...). A question is neither
an assertion nor a negation, but a short "no" or "yes" answer from the other speaker makes the
question's words negated or asserted: "[doctor] any chest pain? [patient] no."
Findings are compared as content words and adjacent word pairs ("chest pain").
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field

import re

from localscribe.domain import Segment
from localscribe.verify.text import words

_TRIGGERS = {
    "no", "not", "denies", "denied", "deny", "denying", "without", "never", "negative", "nor",
    "none", "free", "absent", "absence", "don't", "doesn't", "didn't", "haven't", "hasn't",
    "hadn't", "isn't", "wasn't", "aren't", "weren't", "won't", "cannot", "neither", "nothing",
    "non", "n't", "cant", "dont", "didnt", "doesnt", "havent", "hasnt", "isnt", "wasnt",
}
# Commas do not end a scope ("no fever, chills, or sweats"); words that start a new claim do.
_SCOPE_END = {".", ";", ":", "?", "!", "but", "however", "although", "though", "except",
              "which", "who", "because", "since", "so", "then", "now", "yet", "reports", "reported",
              "endorses", "endorsed", "complains", "admits", "notes", "states", "says", "has",
              "positive", "aside", "otherwise", "apart", "besides", "while", "whereas", "some", "little",
              # unpunctuated speech: a tag starts the next clause ("you did not okay okay what
              # are you doing for the pain today" does not deny the pain). Not wh-words: "there's
              # no evidence of what we call hydronephrosis" (valid D2N085) denies it.
              "okay", "ok", "alright"}
_SCOPE_MAX = 16
_SCOPE_WORDS = 8
_LIST_WORDS = {",", "or", "and", "nor", "any", "other", "the", "a", "an", "of", "signs", "symptoms",
               "history", "associated", "recent", "new"}
_PSEUDO_NEXT = {"sure", "certain", "only", "necessarily", "doubt", "change", "changes", "further",
                "know", "recall", "remember", "limited", "limited to", "think", "too sure", "just", "clear",
                "worse", "better",
                "bad", "as", "longer than", "more than", "less than", "matter", "much", "until"}
# "no issues with her heart failure" does not deny the heart failure.
_PSEUDO_HEADS = {"issue", "issues", "problem", "problems", "trouble", "troubles", "concern",
                 "concerns", "change", "changes", "complaint", "complaints", "difficulty", "worries"}
_PSEUDO_LINKS = {"with", "in", "about", "from", "to", "regarding"}
# "no numbness or tingling associated with her pain" does not deny the pain: what follows a
# link to a cause or a companion is the thing it is compared with, not a denied finding.
_REFERENCE_LINKS = {("associated", "with"), ("related", "to"), ("due", "to"), ("secondary", "to"),
                    ("caused", "by"), ("attributed", "to")}
# Whole words at the start of a reply (after fillers): "now" is not "no", "i have not" is not "i have".
_NO_ANSWERS = ("no", "nope", "nah", "not really", "none", "never", "negative", "i don't", "i do not",
               "i do n't", "i have not", "i haven't", "i have n't", "i've not", "i did not", "i didn't",
               "i did n't", "not that i", "no i", "not at all", "nothing", "neither", "i am not", "i'm not")
_YES_ANSWERS = ("yes", "yeah", "yep", "mm-hmm", "uh-huh", "i do", "i have", "a little", "sometimes",
                "correct", "right")
_REPLY_FILLERS = {"uh", "um", "oh", "ah", "hmm", "mm", "er", "well", "so", "umm", "uhm"}
_QUESTION_STARTS = ("any ", "do you", "have you", "are you", "did you", "is there", "does it",
                    "is it", "has it", "how about", "what about", "and any", "anything")

# Words that say nothing about a finding; a note can use them freely.
STOPWORDS = frozenset("""a an the and or of to in on at for with by from as is are was were be been being it its it's
this that these those he she they them his her their him i you we me my your our us patient
patients pt reports reported report states stated says said notes noted has have had having
do does did done also very some any other more less much many about over under up down out
if then than there here when while what which who whom whose how why will would can could
should may might must shall just only still again ago since per daily day days week weeks
month months year years time times today currently current recent recently history past
symptoms symptom problem problems issue issues changes change well good bad okay ok feel
feels feeling felt like get gets got go going went take takes taking took new old year-old
male female man woman mr mrs ms dr doctor's follow followup follow-up visit visits due""".split())


def stem(w: str) -> str:
    if len(w) > 4 and w.endswith("es") and w[-3] in "sxz":
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


def _content(tokens: list[str]) -> list[str | None]:
    """Stemmed content words; None marks a gap (stopword or punctuation) that breaks pairs."""
    out: list[str | None] = []
    for t in tokens:
        if t in STOPWORDS or t in _TRIGGERS or not t[0].isalpha():
            out.append(None)
        else:
            out.append(stem(t))
    return out


def _terms(content: list[str | None]) -> set[str]:
    terms = {c for c in content if c}
    terms |= {f"{a} {b}" for a, b in itertools.pairwise(content) if a and b}
    return terms


@dataclass
class Polarity:
    asserted: Counter[str] = field(default_factory=Counter)
    negated: Counter[str] = field(default_factory=Counter)
    where_asserted: dict[str, list[str]] = field(default_factory=dict)
    where_negated: dict[str, list[str]] = field(default_factory=dict)

    def add(self, terms: set[str], negated: bool, where: str = "") -> None:
        counter, places = (self.negated, self.where_negated) if negated else (self.asserted, self.where_asserted)
        for t in terms:
            counter[t] += 1
            if where:
                places.setdefault(t, []).append(where)


def split_polarity(text: str) -> tuple[set[str], set[str]]:
    """(asserted terms, negated terms) of one text, questions excluded."""
    toks = words(text)
    asserted: set[str] = set()
    negated: set[str] = set()
    clause: list[str] = []
    for tok in toks + ["."]:
        if tok in (".", "?", "!", ";"):
            if tok != "?":
                a, n = _clause_polarity(clause)
                asserted |= a
                negated |= n
            clause = []
        else:
            clause.append(tok)
    return asserted, negated


def negation_mask(toks: list[str], free: set[int] | None = None) -> list[bool]:
    """Which tokens of one clause lie in the scope of a negation trigger. The scope runs to the
    end of the clause but over at most _SCOPE_WORDS other words: tokens in `free` (the words of
    findings), commas and list words cost nothing, so "denies fever, chills, nausea, vomiting or
    diarrhea" is negated whole while an unpunctuated ASR turn ("no fever some chills and i ...
    feel tired") is not negated to its end."""
    free = free or set()
    neg_mask = [False] * len(toks)
    i = 0
    while i < len(toks):
        t = toks[i]
        if t in _TRIGGERS and (_pseudo(toks, i) or i in free or _interjection(toks, i)):
            i += 1          # "ca n't eat" is a finding of its own, never its own denial
            continue
        if t.startswith("non-"):
            neg_mask[i] = True      # "non-smoker" negates itself; "non-healing ulcer" not the ulcer
            i += 1
            continue
        if t in _TRIGGERS:
            j = i + 1
            budget = _SCOPE_WORDS
            while j < len(toks) and j - i <= 3 * _SCOPE_MAX and toks[j] not in _SCOPE_END:
                if toks[j] in _PSEUDO_LINKS and j > i + 1 and toks[j - 1] in _PSEUDO_HEADS:
                    break
                if j > i + 1 and (toks[j - 1], toks[j]) in _REFERENCE_LINKS:
                    break
                if j not in free and toks[j] not in _LIST_WORDS:
                    budget -= 1
                    if budget < 0:
                        break
                neg_mask[j] = True
                j += 1
            i = j
            continue
        i += 1
    return neg_mask


# "no i wish , i've gained some weight": a reply's "no" before a subject answers the question;
# it denies nothing of what the reply goes on to say.
_SUBJECTS = {"i", "i'm", "i've", "i'd", "i'll", "im", "ive", "it", "it's", "its", "we", "we're", "that", "that's",
             "he", "she", "they", "there", "there's", "you", "but", "just", "actually", "well", "unfortunately",
             "sadly"}


def _interjection(toks: list[str], i: int) -> bool:
    return toks[i] == "no" and i + 1 < len(toks) and toks[i + 1] in _SUBJECTS


def _pseudo(toks: list[str], i: int) -> bool:
    """Triggers that do not negate what follows: "not sure", "no change in", "not only"."""
    nxt = toks[i + 1] if i + 1 < len(toks) else ""
    nxt2 = " ".join(toks[i + 1:i + 3])
    return nxt in _PSEUDO_NEXT or nxt2 in _PSEUDO_NEXT


def _clause_polarity(toks: list[str]) -> tuple[set[str], set[str]]:
    neg_mask = negation_mask(toks)
    content = _content([t.removeprefix("non-") for t in toks])
    pos = [c if not m else None for c, m in zip(content, neg_mask)]
    neg = [c if m else None for c, m in zip(content, neg_mask)]
    return _terms(pos), _terms(neg)


def is_answer(text: str) -> bool:
    """A reply that starts yes or no: it carries the polarity of the question before it (what
    follows in the same turn counts on its own: "no. none of those. i do get swollen ankles")."""
    return _answer(text) is not None


_ASKED = re.compile(r"\b(?:do|did|have|has|are|were|is|was|does|can|could)\s+(?:you|there|it|that|your)\b|"
                    r"\b(?:any|anything|how about|what about)\b")


def question_tail(text: str) -> str:
    """The question a turn ends with, or "" if it ends with none. ASR drops question marks, so a
    question phrase among the last words counts too ("well have you had any numbness")."""
    t = text.strip().lower()
    if t.endswith("?"):
        parts = re.split(r"(?<=[.!])\s+", t)
        return parts[-1]            # trailing question sentences ("night sweats ? coughs ?") together
    if t.startswith(_QUESTION_STARTS):
        return t
    toks = t.split()
    tail = " ".join(toks[-25:])
    m = _ASKED.search(tail)            # the first question in the tail
    return tail[m.start():] if m else ""


def is_question(text: str) -> bool:
    return bool(question_tail(text))


def _is_question(text: str) -> bool:
    t = text.strip().lower()
    return t.endswith("?") or t.startswith(_QUESTION_STARTS)


def _answer(text: str) -> str | None:
    toks = [w for w in words(text) if w not in (",", ".")]
    while toks and toks[0] in _REPLY_FILLERS:
        toks = toks[1:]         # "uh , i have not ."
    t = " ".join(toks) + " "
    if any(t.startswith(a + " ") for a in _NO_ANSWERS):
        return "no"
    if any(t.startswith(a + " ") for a in _YES_ANSWERS):
        return "yes"
    return None


def transcript_polarity(segments: list[Segment]) -> Polarity:
    pol = Polarity()
    for k, seg in enumerate(segments):
        asserted, negated = split_polarity(seg.text)
        if _is_question(seg.text) and "?" not in seg.text:
            asserted = set()      # ASR often drops the question mark: still not an assertion
        pol.add(asserted, False, seg.id)
        pol.add(negated, True, seg.id)
        if _is_question(seg.text) and k + 1 < len(segments):
            nxt = segments[k + 1]
            if nxt.speaker != seg.speaker or nxt.speaker == "unknown":
                ans = _answer(nxt.text)
                if ans:
                    # The question's words take the answer's polarity: "any fever?" "no."
                    q_terms = _terms(_content(words(seg.text.rsplit("?", 1)[0].split("?")[-1])))
                    pol.add(q_terms, ans == "no", nxt.id)
    return pol
