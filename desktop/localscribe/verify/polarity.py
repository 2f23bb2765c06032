"""Which findings a text asserts, negates, or only mentions: the negation rules of negation.py
applied to findings (lexicon concepts) only, clause by clause.

Only findings take part in negation conflicts: "No pain with supination of the forearm" negates
pain, never the forearm; "it did not seem to help" negates no finding at all. A question
mentions its findings without asserting them, until a short answer from the other speaker gives
them its polarity ("any fever?" / "no").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from localscribe.domain import Segment
from localscribe.verify.findings import FILLERS, FindingLexicon, Mention
from localscribe.verify.negation import (
    _QUESTION_STARTS,
    STOPWORDS,
    _answer,
    is_answer,
    is_question,
    negation_mask,
    question_tail,
)
from localscribe.verify.text import root, words

_CLAUSE_END = {".", ";", "?", "!", ":"}
_POST_NEGATORS = {"negative", "absent", "denied", "none"}     # "strep test negative"
# What follows these only mentions a finding: a question asked without its question mark (ASR),
# a hypothesis, a test or a precaution ("to rule out a fracture", "if the swelling gets worse").
_ASKING = {("do", "you"), ("did", "you"), ("have", "you"), ("are", "you"), ("were", "you"),
           ("is", "there"), ("was", "there"), ("does", "it"), ("does", "that"), ("did", "it"),
           ("how", "about"), ("what", "about"), ("rule", "out"), ("make", "sure"),
           ("check", "for"), ("look", "for"), ("see", "if"), ("test", "for"), ("watch", "for"),
           ("signs", "of"), ("risk", "of"), ("evaluate", "for"), ("worried", "about"),
           ("concerned", "about"), ("in", "case"), ("could", "be"), ("might", "be"), ("may", "be"),
           ("can", "you"), ("would", "you"), ("do", "we"), ("any", "history")}
_SPOKEN_ASKING = {("any", "other"), ("anything", "like")}
_ASK_END = {"reports", "reported", "endorses", "endorsed", "complains", "but", "however", "has", "had"}
_ASKING_ONE = {"if", "whether", "risk", "risks", "complications", "prevent", "avoid", "possible", "possibly",
               "suspect", "screen",
               "screening", "ruled", "unless", "hopefully", "question"}
_ASK_SCOPE = 20
_PAST = {"former", "ex", "ex-", "previous", "previously", "prior", "quit", "past", "remote"}
_QUALIFIERS = {"with", "when", "during", "upon", "on", "while", "after", "to", "at", "if", "from"}
# Findings so broad that a qualified denial of them says nothing about the finding as a whole.
GENERIC = _GENERIC = {"pain", "tenderness", "edema", "weakness", "numbness", "tingling", "stiffness", "redness",
            "bleeding", "drainage", "instability", "decreased range of motion", "crepitus", "deformity"}
# Generic findings whose body site is a fact of its own ("calf pain" in a visit about the knee).
_SITED = {"pain", "edema", "tenderness", "redness", "numbness", "tingling", "weakness", "stiffness",
          "cramps", "bruising", "bleeding", "lump", "rash", "itching", "burning sensation", "deformity"}
# Body sites (stems) a generic finding can be placed at; other words before "pain" are not sites.
_BODY_SITES = ("head", "neck", "back", "chest", "abdom", "stomach", "belly", "arm", "elbow", "wrist", "hand",
               "finger", "thumb", "shoulder", "hip", "leg", "knee", "ankle", "foot", "feet", "toe", "heel",
               "calf", "calv", "thigh", "shin", "groin", "pelvi", "flank", "rib", "jaw", "face", "facial", "eye",
               "ear", "nose", "nasal", "throat", "mouth", "tooth", "teeth", "tongue", "lip", "scalp", "breast",
               "nipple", "testic", "scrot", "penil", "vagin", "rectal", "anal", "bladder", "kidney", "joint",
               "muscle", "bone", "spine", "spinal", "lumbar", "cervical", "thoracic", "sacr", "tailbone", "buttock",
               "forearm", "bicep", "tricep", "tendon", "extremit", "epigastr", "periumbilic", "suprapubic", "gum",
               "sinus", "temple", "forehead", "armpit", "axilla", "palm", "sole", "arch", "achilles", "hamstring",
               "quad", "lower back", "midfoot", "forefoot", "metatars", "collarbone", "clavic", "sternum")
_NOT_SITES = {"mild", "moderate", "severe", "some", "sharp", "dull", "chronic", "acute", "new", "intermittent",
              "constant", "occasional", "significant", "slight", "minimal", "increased", "decreased", "worsening",
              "persistent", "residual", "associated", "any", "more", "less", "trace", "pitting", "no", "the",
              "bony", "point", "focal", "diffuse", "generalized", "radiating", "shooting", "throbbing",
              "burning", "stabbing", "aching", "achy", "sore", "tender", "positive", "negative", "lateral",
              "medial", "anterior", "posterior", "upper", "lower", "mid", "left", "right", "bilateral",
              "both", "much", "little", "bit", "lot", "great", "worst", "similar", "same", "other", "palpation",
              "and", "or", "has", "have", "with", "without", "his", "her", "their", "my", "your", "a", "an"}


def _asking_mask(toks: list[str], spoken: bool) -> list[bool]:
    mask = [False] * len(toks)
    pairs = _ASKING | _SPOKEN_ASKING if spoken else _ASKING
    for i, t in enumerate(toks):
        if t in _ASKING_ONE or (i + 1 < len(toks) and (t, toks[i + 1]) in pairs):
            for j in range(i, min(len(toks), i + _ASK_SCOPE)):
                if j > i + 1 and toks[j] in _ASK_END:
                    break
                mask[j] = True
    return mask


def _qualified(toks: list[str], m: Mention) -> str | None:
    """"pain|pronation" for "pain with pronation": a generic finding under a condition."""
    if m.end < len(toks) and toks[m.end] in _QUALIFIERS:
        for t in toks[m.end + 1:m.end + 4]:
            if t in FILLERS or t in STOPWORDS:
                continue
            return f"{m.concept}|{root(t)}" if t.isalpha() else None
    return None


def _site(toks: list[str], m: Mention) -> str | None:
    """The body site a generic finding names: "calf pain", "pain in the calf", "swelling of the knee"."""
    b = m.start - 1
    while b > 0 and toks[b] in _AUX:
        b -= 1                      # "my knee has been hurting"
    before = toks[b] if b >= 0 else ""
    if is_site(before):
        return root(before)
    k = m.end
    if k < len(toks) and toks[k] in ("in", "of", "on", "over", "at", "around", "to"):
        for t in toks[k + 1:k + 4]:
            if t in FILLERS or t in _NOT_SITES or t in ("left", "right", "both", "bilateral"):
                continue
            return root(t) if is_site(t) else None
    return None


_AUX = {"has", "have", "had", "been", "is", "was", "are", "were", "be", "keeps", "kept", "started", "starts",
        "really", "still", "always", "just", "also", "kinda", "kind", "of"}


def is_site(word: str) -> bool:
    return word.isalpha() and any(word.startswith(b) for b in _BODY_SITES)


@dataclass
class FindingPolarity:
    asserted: set[str] = field(default_factory=set)
    negated: set[str] = field(default_factory=set)
    mentioned: set[str] = field(default_factory=set)      # asserted, negated, or only asked about
    sites: set[tuple[str, str]] = field(default_factory=set)   # (generic finding, body-site stem) asserted

    def update(self, other: FindingPolarity) -> None:
        self.asserted |= other.asserted
        self.negated |= other.negated
        self.mentioned |= other.mentioned
        self.sites |= other.sites


_TAGS = {"okay", "ok", "right", "alright", "yeah", "correct", "huh", "yes", "fair", "good", "see"}


def _clauses(text: str) -> list[tuple[list[str], bool]]:
    """(tokens, is a question) per clause. "..., okay?" is a statement with a tag, not a question."""
    out: list[tuple[list[str], bool]] = []
    cur: list[str] = []
    for t in words(text) + ["."]:
        if t in _CLAUSE_END:
            if cur:
                tagged = cur[-1] in _TAGS and len(cur) > 3
                out.append((cur, t == "?" and not tagged))
            cur = []
        else:
            cur.append(t)
    return out


def finding_polarity(text: str, findings: FindingLexicon, *, question: bool = False,
                     spoken: bool = False) -> FindingPolarity:
    """Polarity of each finding a text names. question=True: the whole text only asks.
    spoken=True: a visit's words, where "any nausea vomiting or diarrhea" with no question mark
    is still a question; in a note "any" follows a denial."""
    pol = FindingPolarity()
    clauses = _clauses(text)
    for n, (toks, asks) in enumerate(clauses):
        # "Illicit drug use: never." / "Satellitosis: not identified.": a denial after the colon.
        nxt = clauses[n + 1][0] if n + 1 < len(clauses) else []
        denied_after = bool(nxt) and len(nxt) <= 3 and (nxt[0] in _POST_NEGATORS or nxt[0] in
                                                          ("never", "no", "not", "none", "absent")
                                                          or nxt[0].startswith("non-"))
        mentions = findings.find(toks)
        free = {i for m in mentions for i in range(m.start, m.end)}
        mask = negation_mask(toks, free)
        asking = _asking_mask(toks, spoken)
        for m in mentions:
            pol.mentioned.add(m.concept)
            if asks or question or any(asking[m.start:m.end]):
                continue
            after = toks[m.end:m.end + 2]
            qualified = _qualified(toks, m) if m.concept in _GENERIC else None
            if m.concept in _GENERIC and not qualified and (any(mask[m.start:m.end]) or denied_after):
                site = _site(toks, m)     # "no pain in the calf" denies calf pain, not all pain
                qualified = f"{m.concept}|{site}" if site else None
            if qualified:
                pol.mentioned.add(qualified)
            if any(mask[m.start:m.end]) or any(a in _POST_NEGATORS for a in after) or denied_after:
                # "No pain with pronation" denies pain only under that condition: it neither
                # denies the pain reported elsewhere nor asserts it; it conflicts with "pain with
                # pronation" only.
                if qualified:
                    pol.negated.add(qualified)
                else:
                    pol.negated.add(m.concept)
            elif any(t in _PAST for t in toks[max(0, m.start - 2):m.start]):
                continue        # "a former smoker": said of the past, which "I quit years ago" is not against
            elif spoken and _after_any(toks, m.start, free):
                continue        # "any nausea vomiting or diarrhea" without a negation: a question
            else:
                pol.asserted.add(m.concept)
                if qualified:
                    pol.asserted.add(qualified)
                if m.concept in _SITED:
                    site = _site(toks, m)
                    if site:
                        pol.sites.add((m.concept, site))
                        if m.concept in _GENERIC:
                            pol.asserted.add(f"{m.concept}|{site}")
                            pol.mentioned.add(f"{m.concept}|{site}")
    return pol


# "... a little congestion. but everything else has been okay": the answer denies the rest of
# the list, however long its first part.
_REST_DENIED = re.compile(r"\b(?:everything|all) else\b[^.?!]{0,25}\b(?:okay|ok|fine|good|normal|alright)\b"
                          r"|\bnothing else\b|\b(?:otherwise|other than that)\s*,?\s*(?:no|nothing|fine|okay)\b", re.I)

def _after_any(toks: list[str], start: int, covered: set[int]) -> bool:
    """Spoken "any blood in your stool or dark dark tarry stool": the finding is an item of a
    list that "any" opens, reached back over other items, list words and repeated words only."""
    j = start - 1
    while j >= 0 and start - j <= 12:
        t = toks[j]
        if t == "any":
            return True
        if not (j in covered or t in _LIST_FILLER or t in FILLERS or t in STOPWORDS
                or t in toks[max(0, j - 1):j] or t in toks[j + 1:j + 2]):
            return False
        j -= 1
    return False


_LIST_FILLER = {",", "and", "or", "any", "like", "no", "okay", "ok", "um", "uh", "so", "how", "about",
                "what", "other", "the", "a", "an", "of", "with", "."}


def _bare_list(text: str, findings: FindingLexicon) -> bool:
    """A short turn that only names findings ("shortness of breath", "fever chills"): in a visit,
    said by one speaker to another, it is a review-of-systems question, not a report."""
    toks = [t for t in words(text) if t != "?"]
    if not toks or len(toks) > 10:
        return False
    mentions = findings.find(toks)
    covered = {i for m in mentions for i in range(m.start, m.end)}
    return bool(mentions) and all(i in covered or t in _LIST_FILLER or t in FILLERS for i, t in enumerate(toks))


def _asks(seg: Segment, nxt: Segment | None, findings: FindingLexicon) -> bool:
    if "?" not in seg.text and seg.text.strip().lower().startswith(_QUESTION_STARTS):
        return True             # ASR often drops the question mark: it still asserts nothing
    return nxt is not None and (nxt.speaker != seg.speaker or nxt.speaker == "unknown") and \
        words(seg.text)[:1] != ["no"] and _bare_list(seg.text, findings)


def segment_polarities(segments: list[Segment], findings: FindingLexicon) -> list[FindingPolarity]:
    """Each segment's finding polarity; a short yes/no answer takes the findings of the question
    before it (asked by someone else) with its own polarity. An answer that names some of the
    findings asked in a list ("any chest pain, shortness of breath or belly pain?" / "shortness of
    breath. no belly pain though.") leaves the ones it passes over denied, as a clinician reads it."""
    out: list[FindingPolarity] = []
    asking = [_asks(seg, segments[k + 1] if k + 1 < len(segments) else None, findings)
              for k, seg in enumerate(segments)]
    for k, seg in enumerate(segments):
        pol = finding_polarity(seg.text, findings, spoken=True, question=asking[k])
        if k > 0:
            q = segments[k - 1]
            other = q.speaker != seg.speaker or seg.speaker == "unknown"
            ans = _answer(seg.text) if is_answer(seg.text) else None
            tail = question_tail(q.text) if is_question(q.text) else (q.text if asking[k - 1] else "")
            if other and tail:
                asked = finding_polarity(tail.replace("?", ","), findings, spoken=True).mentioned
                asked = {a for a in asked if "|" not in a}
                named = (pol.asserted | pol.negated) & asked
                if ans and named and len(asked) >= 2:
                    ans = None      # "no fever some chills": the "no" denies the fever, not the list
                if ans:
                    pol.mentioned |= asked
                    if ans == "no":
                        pol.negated |= asked
                    elif len(asked) == 1:        # "yes" to "fever, chills or sweats?" says which? none
                        pol.asserted |= asked
                elif len(asked) >= 2 and named and (len(words(seg.text)) <= 15 or _REST_DENIED.search(seg.text)):
                    pol.mentioned |= asked
                    pol.negated |= asked - pol.asserted - pol.negated
        out.append(pol)
    return out
