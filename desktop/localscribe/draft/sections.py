"""Drafting as prose, one section at a time, over one cached transcript.

The model reads the transcript once (its KV state is kept) and then writes each section of
the template in its own turn, under a light grammar: complete sentences of bounded length,
at most the section's sentence cap, or the single word "None." when nothing was said. Code
then splits the prose into one-sentence statements and links each to the transcript lines
that state it (``verify.align``), so the model spends no tokens on ids and writes the
sentences a clinician expects.

Why one turn per section: each section gets its own token budget that no earlier section can
drain (a looping history can no longer starve the assessment and plan), the request right
before the turn keeps a small model on the section's topic, and the transcript's KV state is
shared by every turn. With ``chained`` the turns follow each other in one conversation, so a
section sees what the earlier ones said (fewer repeats across sections); otherwise every
section starts again from the transcript alone (and can be regenerated on its own).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from localscribe.domain import Section, Segment, Statement, Transcript
from localscribe.draft.clauses import one_fact_sentences
from localscribe.draft.decoding import DecodeControls
from localscribe.draft.templates import PHRASE_CHARS, SectionSpec, Template

MAX_SENTENCE_CHARS = 200
NONE_WORD = "None."
# Tokens a sentence costs at most (200 characters of English is about 45 tokens for Qwen):
# the gate stops opening sentences when less than this is left of a section's share.
SENTENCE_TOKENS = 30
# Loop control inside one section: a 10-token run is never written twice. Not across
# sections: there the same ban made the model misspell words it restated ("Tyenol" after
# "Tylenol", on ACI-Bench train), so across sections only whole sentences are kept unique
# (``SentenceRules.seen``). No repetition penalty: it pushed restated drug names off their
# spelling ("lasik" for "Lasix").
DEFAULT_CONTROLS = DecodeControls(no_repeat_ngram=10, repeat_penalty=1.0)

_SPEAKERS = {"clinician": "Doctor", "patient": "Patient", "other": "Other", "unknown": "Speaker"}


def segment_line(seg: Segment) -> str:
    return f"{_SPEAKERS.get(seg.speaker, 'Speaker')}: {' '.join(seg.text.split())}\n"


def instructions(template: Template) -> str:
    names = ", ".join(s.title for s in template.sections)
    return (
        "You are a careful medical scribe. The user gives you the transcript of a visit; you write "
        f"the clinician's {template.name.lower()} one section at a time (sections: {names}).\n"
        "Write complete sentences in the third person (for example 'The patient reports ...', "
        "'She denies ...'), one fact per sentence, as a clinician writes a note. No lists, no "
        "headings, no markdown.\n"
        "Use only what was said in the transcript. Copy numbers, units, doses, how often a "
        "medicine is taken, drug names and left or right exactly as said. Keep negatives "
        "negative. Never invent vital signs, ages, durations, test results or examination "
        "findings that were not said aloud. If nothing in the transcript belongs in the "
        f"section, write only: {NONE_WORD}"
        + (("\nHere is a note for a different visit, to show the style only. Its facts do not "
            "belong to this visit: never copy them.\n<example>\n" + template.example + "\n</example>")
           if template.example else "")
    )


def head_text(template: Template) -> str:
    return (f"<|im_start|>system\n{instructions(template)}<|im_end|>\n"
            "<|im_start|>user\nTranscript of the visit:\n")


def request_text(spec: SectionSpec, *, first: bool) -> str:
    """The turn that asks for one section (after the transcript, or after the last section)."""
    count = (f"{spec.min_statements} to {spec.max_statements} sentences" if spec.min_statements
             else f"at most {spec.max_statements} sentences, or {NONE_WORD}")
    if spec.phrase:
        ask = (f"Write the {spec.title} section of the note: {spec.guidance} Write one short phrase "
               "of a few words, not a sentence, ending with a full stop.")
    else:
        ask = (f"Write the {spec.title} section of the note: {spec.guidance} Write {count}, in the third "
               "person, in a clinician's words: do not quote the transcript.")
    if first:
        return f"\n{ask}<|im_end|>\n<|im_start|>assistant\n"
    return f"<|im_end|>\n<|im_start|>user\n{ask}<|im_end|>\n<|im_start|>assistant\n"


# No full stop inside a sentence except as a decimal point, between two digits ("38.5"): a
# point after a letter followed by a digit let the model glue sentences together ("None.1 week
# follow-up.1 week follow-up", "Dr.3 assesses", seen on the demo visit). No CJK or other script a
# note in English never holds (Qwen slips into Chinese mid-word: "heart疾病", ACI-Bench train).
# No control character either: "\r" and tabs are invisible in the review pane and broke the
# "None." test ("None\r\r."). ``_NOT`` is that exclusion, for the rules' own negated classes.
_NOT = r"\x00-\x1F\x7F"
_CHAR_RULE = rf'ch ::= [^{_NOT}.0-9\u2E80-\U0010FFFF] | [0-9] ("." [0-9])?'


# Clinicians' notes grow with the visit, but slowly: on ACI-Bench train (67 visits) a note has
# about 180 words plus 0.2 per word of dialogue (median dialogue 1,190 words, note 412). The
# template's sentence caps are sized for such a typical visit; a shorter one gets caps cut in
# that proportion, so a small model does not pad a five-minute visit to a full-length note.
NOTE_WORDS_BASE, NOTE_WORDS_PER_VISIT_WORD, TYPICAL_VISIT_WORDS = 180, 0.2, 1200


def fit_to_visit(spec: SectionSpec, visit_words: int) -> SectionSpec:
    """The section's sentence cap for a visit of ``visit_words`` words (never above the
    template's, never below its minimum)."""
    share = min(1.0, (NOTE_WORDS_BASE + NOTE_WORDS_PER_VISIT_WORD * visit_words)
                / (NOTE_WORDS_BASE + NOTE_WORDS_PER_VISIT_WORD * TYPICAL_VISIT_WORDS))
    hi = max(spec.min_statements, 1, round(spec.max_statements * share))
    return spec if hi == spec.max_statements else dataclasses.replace(spec, max_statements=hi)


def visit_words(transcript: Transcript) -> int:
    return sum(len(s.text.split()) for s in transcript.segments)


def section_rules(spec: SectionSpec, name: str) -> list[str]:
    """GBNF rules for one section's body, named ``name``: "None." or 1..max sentences, each
    ending in a full stop, then a newline. A full stop inside a sentence is allowed only
    before a digit ("38.5"), so every sentence the parser finds is one the grammar closed.
    Uses the shared ``ch`` rule (``_CHAR_RULE``)."""
    hi = max(1, spec.max_statements)
    lo = max(1, spec.min_statements)
    none = "" if spec.min_statements else f'"{NONE_WORD}\\n" | '
    n = PHRASE_CHARS if spec.phrase else MAX_SENTENCE_CHARS
    return [f'{name} ::= {none}{name}f (" " {name}s){{{lo - 1},{hi - 1}}} "\\n"',
            f'{name}s ::= [A-Z0-9] ch{{2,{n}}} "."',
            # The first sentence may not be "None." itself (that answer ends the section), nor
            # start with the word "None" ("None, as the transcript does not mention ...", and
            # 'None" The patient ...' once that was ruled out, both on the demo visit where the
            # section had to be written): after "None" only a letter may follow ("Nonetheless").
            f'{name}f ::= ([A-MO-Z0-9] ch{{2,{n}}} | "N" ([^o{_NOT}.] ch{{1,{n - 1}}}'
            f' | "o" ([^n{_NOT}.] ch{{0,{n - 2}}} | "n" ([^e{_NOT}.] ch{{0,{n - 3}}}'
            f' | "e" [a-z] ch{{0,{n - 5}}})))) "."']


def build_grammar(spec: SectionSpec) -> str:
    """GBNF of one section written in its own turn."""
    return "\n".join(["root ::= body", *section_rules(spec, "body"), _CHAR_RULE]) + "\n"


def build_note_grammar(template: Template) -> str:
    """GBNF of a whole prose note in one turn: each heading on its own line, then its body."""
    rules = ["root ::= " + " ".join(f"sec{i}" for i in range(len(template.sections)))]
    for i, spec in enumerate(template.sections):
        rules.append(f'sec{i} ::= "{spec.title}\\n" body{i}')
        rules += section_rules(spec, f"body{i}")
    return "\n".join(rules + [_CHAR_RULE]) + "\n"


def norm_sentence(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


_NUMBER_RUN = re.compile(r"\d[\d,]*(?:\.\d+)?")


def spoken_numbers(transcript: Transcript) -> frozenset[str]:
    """Every number said in the visit, as digits ("twenty five" -> "25", "1,000" -> "1000")."""
    from localscribe.verify.text import normalize_numbers, words

    found: set[str] = set()
    for seg in transcript.segments:
        found.update(n.replace(",", "") for n in _NUMBER_RUN.findall(seg.text))
        spelled = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", seg.text.lower())     # "thirty-eight"
        found.update(t for t in normalize_numbers(words(spelled)) if re.fullmatch(r"\d+(?:\.\d+)?", t))
    return frozenset(found)


_FILLER = frozenset("""a an the and or of to in on at for with by from as is are was were be been
has have had he she they his her their him them it its this that these those patient patients
reports reported states stated notes noted denies denied any other no not also""".split())


def _content_words(sentence: str) -> set[str]:
    return {w for w in norm_sentence(sentence).split() if w not in _FILLER}


def near_duplicate(sentence: str, earlier: list[set[str]], share: float = 0.75) -> bool:
    """Most of the sentence's content words are already in one earlier sentence: the model
    is going round in circles ("The patient denies any other symptoms, except ...")."""
    mine = _content_words(sentence)
    if not mine:
        return bool(earlier)          # nothing but filler, after something was said
    return any(len(mine & e) >= share * len(mine) for e in earlier)


@dataclass
class SentenceRules:
    """What the token choice enforces while a section is written (``gate`` below):

    - ``budget``: at a sentence end, once the section's token share is nearly spent, only the
      section's end may follow (never a sentence it could not finish);
    - ``seen``: a sentence may not end where it would repeat, word for word, one the note
      already has (the model must say something else, or stop);
    - a sentence that mostly restates an earlier one of the same section ends the section: the
      model has run out of things to say and is looping on paraphrases;
    - ``numbers``: every number written must be one said in the visit, so a vital sign, age,
      dose or duration that nobody said cannot be typed at all;
    - ``must_write``: a section the visit spoke to cannot open with "None".
    The gate is asked before every token with the section's text so far.
    """

    budget: int
    seen: set[str]
    numbers: frozenset[str] | None = None
    must_write: bool = False      # the section being written may not answer "None."
    earlier: list[set[str]] = field(default_factory=list)   # this section's finished sentences
    _done: int = 0                                          # sentences of this section checked
    _looping: bool = False

    def _number_ok(self, run: str, closed: bool) -> bool:
        if self.numbers is None:
            return True
        # Thousands separators only in threes ("1,000"): "8,,3,0" is no number at all.
        head, *groups = run.split(".")[0].split(",")
        if not head or any(len(g) > 3 or (closed or i < len(groups) - 1) and len(g) != 3
                           for i, g in enumerate(groups)):
            return False
        digits = run.replace(",", "")
        if closed:
            return digits in self.numbers
        return any(n.startswith(digits) for n in self.numbers)

    def _track(self, text: str) -> None:
        """Take in the sentences finished since the last call (exact and near repeats)."""
        body = text.rsplit("\n", 1)[-1]
        ended = body.endswith(". ") or (body.endswith(".") and len(body) > 1 and not body[-2].isdigit())
        if not ended:
            return
        finished = split_sentences(body)
        for sentence in finished[self._done:]:
            if near_duplicate(sentence, self.earlier):
                self._looping = True
            self.seen.add(norm_sentence(sentence))
            self.earlier.append(_content_words(sentence))
        self._done = max(self._done, len(finished))

    def new_section(self) -> None:
        # Paraphrase loops are looked for within a section: a plan restating the history's
        # facts is what plans do.
        self._done, self._looping, self.earlier = 0, False, []

    def restart(self, base_seen: set[str], kept: list[str], rejected: set[str]) -> None:
        """The state at the start of a sentence that is being written again: the note's
        sentences before this section, this section's ``kept`` ones, and the ``rejected``
        attempts (normalized) that may not come back word for word."""
        self.seen = set(base_seen) | {norm_sentence(k) for k in kept} | rejected
        self.earlier = [_content_words(k) for k in kept]
        self._done, self._looping = len(kept), False

    def gate(self, text: str, generated: int) -> Callable[[bytes], bool] | None:
        self._track(text)
        # A section that must be written may not open with "None" in any spelling: the grammar
        # rules out "None." there, and a greedy model set on it slipped past through "None\"",
        # "None<|im_start|>" and "NoneappId=1" on the demo visit. The token is the place to stop it.
        opening = self.must_write and not text.strip()
        sentence = text[text.rfind(". ") + 2:] if ". " in text else text
        sentence = sentence.rsplit("\n", 1)[-1]
        repeat = bool(sentence) and not sentence.endswith(".") and norm_sentence(sentence) in self.seen
        at_end = text.endswith(".") and not (len(text) > 1 and text[-2].isdigit())
        closing = at_end and (self._looping or generated + SENTENCE_TOKENS > self.budget)
        end = re.search(r"[\d,.]*$", text)
        tail = end.group(0) if end else ""          # "*$" matches every text (at worst, empty)
        digit = re.search(r"\d", tail)
        tail = tail[digit.start():] if digit else ""

        def avoid(piece: bytes) -> bool:
            p = piece.decode("utf-8", "ignore")
            if opening:
                q = p.lstrip()
                if q and ("None".startswith(q) or q.startswith("Non")):
                    return True
            if closing and not p.startswith("\n"):
                return True
            if repeat and p.startswith("."):
                return True
            if could_repeat and "." in p and not p.startswith("."):
                # a token that carries the last word and the full stop (" in.") ends a repeat
                # as surely as "." after it; "3.5" is a number, not an end
                head = p[:p.index(".")]
                after = p[p.index(".") + 1:]
                if not (head[-1:].isdigit() and after[:1].isdigit()) and \
                        norm_sentence(sentence + head) in self.seen:
                    return True
            if self.numbers is not None and (tail or any(c.isdigit() for c in p)):
                combined = tail + p
                for m in _NUMBER_RUN.finditer(combined):
                    if m.end() < len(tail):
                        continue              # closed before this token: accepted then
                    run = m.group(0)
                    # "38." may still become "38.5": a run is closed by anything but a point.
                    closed = m.end() < len(combined) and combined[m.end()] != "."
                    if closed and run[-1] in ",.":
                        run = run[:-1]        # the clause's comma or the sentence's stop
                    if not self._number_ok(run, closed):
                        return True
            return False

        started = norm_sentence(sentence) if sentence and not at_end else ""
        could_repeat = bool(started) and any(s.startswith(started) for s in self.seen)
        if not (opening or closing or repeat or could_repeat or self.numbers is not None):
            return None
        return avoid


def sentence_gate(budget: int) -> Callable[[str, int], Callable[[bytes], bool] | None]:
    """The budget rule alone (see ``SentenceRules``)."""
    return SentenceRules(budget=budget, seen=set()).gate


_SPLIT = re.compile(r"(?<=[a-z0-9)%'\"])\.\s+(?=[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """The section's prose as sentences (the grammar ends each one with a full stop)."""
    text = " ".join(text.split())
    if not text or text == NONE_WORD:
        return []
    out = []
    for part in _SPLIT.split(text):
        part = part.strip()
        if not part or part.rstrip(".") == NONE_WORD.rstrip("."):
            continue
        out.append(part if part.endswith(".") else part + ".")
    return out


def discussed(spec: SectionSpec, transcript: Transcript) -> str | None:
    """The first cue of the section found in the transcript, or None: the visit spoke to a
    section that must then be written."""
    return _heard(spec.cues, transcript)


def _heard(cues: tuple[str, ...], transcript: Transcript) -> str | None:
    if not cues:
        return None
    text = " ".join(s.text.lower() for s in transcript.segments)
    for cue in cues:
        if re.search(r"(?<![a-z])" + re.escape(cue), text):
            return cue
    return None


def empty_notice(spec: SectionSpec, transcript: Transcript) -> str:
    """What an empty section the visit spoke to tells the clinician ("" when it did not)."""
    cue = discussed(spec, transcript) or _heard(spec.notice_cues, transcript)
    if cue is None:
        return ""
    return (f"Nothing was drafted for {spec.title}, although the visit seems to speak to it "
            f"(it mentions “{cue}”). Write this section or confirm it is not needed.")


@dataclass(frozen=True)
class SectionText:
    key: str
    text: str            # what the model wrote, "None." included
    finished: bool       # the grammar closed the section within its hard cap


def to_sections(template: Template, written: list[SectionText], transcript: Transcript,
                align: Callable[[str, Transcript], list[str]], id_prefix: str = "st",
                *, clauses: bool = True) -> list[Section]:
    """Statements from the prose: one per sentence, evidence linked by code. An unfinished
    section keeps its whole sentences (a torn last one is dropped: half a fact must not
    reach the note), and an empty section the visit spoke to carries a notice. ``clauses``:
    a sentence joining two main clauses becomes two statements (``draft.clauses``; for the
    model's prose, never for what a clinician typed)."""
    by_key = {w.key: w for w in written}
    sections: list[Section] = []
    n = 0
    for spec in template.sections:
        w = by_key.get(spec.key)
        sentences = split_sentences(w.text) if w else []
        if w and not w.finished and sentences and not w.text.rstrip().endswith("."):
            sentences = sentences[:-1]
        if clauses:
            sentences = [part for s in sentences for part in one_fact_sentences(s)]
        statements = []
        for sentence in sentences:
            n += 1
            statements.append(Statement(id=f"{id_prefix}{n}", text=sentence,
                                        evidence=align(sentence, transcript)))
        notice = "" if statements else empty_notice(spec, transcript)
        sections.append(Section(key=spec.key, title=spec.title, statements=statements, notice=notice))
    return sections


def prompt_sha256(template: Template, mode: str) -> str:
    """Hash of the prompt recipe (instructions, requests, grammar; no transcript), for the
    audit trail: it names the prompt that produced a draft without recording any PHI."""
    import hashlib

    h = hashlib.sha256(mode.encode() + b"\x00" + head_text(template).encode() + b"\x00<transcript>\x00")
    for spec in template.sections:
        h.update(request_text(spec, first=True).encode() + build_grammar(spec).encode())
    return h.hexdigest()
