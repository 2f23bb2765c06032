"""What the model may write, as a GBNF grammar, and how that text becomes sections and statements.

The model fills a compact line format rather than JSON:

    ## HISTORY OF PRESENT ILLNESS
    - Cough for 3 days. [S4,S6]

JSON would spend a third more generated tokens on keys, quotes and escapes, and generation is
the slowest part of drafting on a CPU. The grammar still pins down the structure: the template's
headings in the template's order, at most ``max_statements`` lines each, and evidence ids that
can only be ids of the transcript lines in the prompt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from localscribe.domain import Section, Statement
from localscribe.draft.templates import Template

# Four ids are enough to point a reader at the evidence; each costs the model ~4 tokens
# ("S12," is 4 tokens for Qwen), and longer lists mostly repeat neighbouring lines.
MAX_EVIDENCE_IDS = 4
MAX_STATEMENT_CHARS = 220
# An estimate of what one statement line costs (about 15 words, "- ", up to four ids): the
# section budget stops offering a new line when less than this is left in a section's share.
STATEMENT_TOKENS = 28


def _literal(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def build_grammar(template: Template, labels: list[str]) -> str:
    """GBNF for one note over the transcript lines called ``labels`` (e.g. S1..S40)."""
    if not labels:
        raise ValueError("cannot build a note grammar for an empty transcript")
    rules = ["root ::= " + " ".join(f"sec{i}" for i in range(len(template.sections)))]
    for i, s in enumerate(template.sections):
        # The first section (the reason for the visit, in every template we ship) needs at
        # least one statement: a transcript always says why the patient came, and an empty
        # note is the small models' favourite way out.
        lo = 1 if i == 0 else 0
        rules.append(f"sec{i} ::= {_literal(f'## {s.title}' + chr(10))} stmt{{{lo},{max(lo, s.max_statements)}}}")
    rules += [
        f'stmt ::= "- " text " [" id ("," id){{0,{MAX_EVIDENCE_IDS - 1}}} "]\\n"',
        # A statement starts with two letters (so never with a line id such as "S12"); no
        # brackets or newlines inside, so the evidence list is always the bracket at the end.
        # Bounded length keeps statements short (the note's reader and the token budget both
        # prefer it) and stops a looping model from filling the budget with one line.
        r"text ::= [A-Za-z] [A-Za-z'] [^\n\[\]]{0," + str(MAX_STATEMENT_CHARS - 2) + "}",
        # Longest first, so no id is a prefix match trap for the parser's readers.
        "id ::= " + " | ".join(_literal(x) for x in sorted(labels, key=lambda x: (-len(x), x))),
    ]
    return "\n".join(rules) + "\n"


@dataclass(frozen=True)
class SectionBudget:
    """Each section's share of the note's token budget, so that a long history cannot use up
    the tokens the assessment and plan need (a note cut off before its plan is the worst
    note). Shares follow the template's statement caps; what a section leaves unused flows to
    the sections after it. ``allows_statement`` is asked at the start of every line: when it
    says no, the model must open the next heading (or end the note) instead of another line.
    """

    limits: tuple[int, ...]              # generated-token allowance at the end of each section
    statement_tokens: int = STATEMENT_TOKENS

    @classmethod
    def for_template(cls, template: Template, max_tokens: int) -> SectionBudget:
        weights = [max(1, s.max_statements) for s in template.sections]
        total, acc, limits = sum(weights), 0, []
        for w in weights:
            acc += w
            limits.append(max_tokens * acc // total)
        return cls(tuple(limits))

    def allows_statement(self, text: str, generated: int) -> bool:
        section = sum(1 for line in text.split("\n") if line.startswith("## ")) - 1
        if section < 0:
            return True
        section = min(section, len(self.limits) - 1)
        return generated + self.statement_tokens <= self.limits[section]


def _whole_sentences(text: str) -> str:
    """A statement that ran into the grammar's length cap ends mid-word; keep its whole
    sentences (or whole words, marked with an ellipsis) so the note never shows a torn word."""
    if len(text) < MAX_STATEMENT_CHARS - 2:
        return text
    end = text.rfind(". ")
    if end >= 40:
        return text[:end + 1]
    return text[:text.rfind(" ")].rstrip(",;:") + "…"


_HEADER = re.compile(r"^##\s*(.+?)\s*$")
_STMT = re.compile(r"^-\s*(.+?)\s*\[([^\[\]]*)\]\s*$")


@dataclass
class ParsedNote:
    sections: list[Section]
    complete: bool                    # False when the text stopped mid-note (token limit)
    dropped_lines: list[str] = field(default_factory=list)


def parse_note(text: str, template: Template, labels: dict[str, str],
               id_prefix: str = "st") -> ParsedNote:
    """Read the model's text back into the template's sections.

    ``labels`` maps prompt labels to segment ids. Unknown labels are kept verbatim (prefixed
    ``?``) so the verifier can flag them rather than silently losing the claim. A trailing
    line cut off by the token limit is dropped: half a statement must not reach the note.
    """
    by_title = {s.title.lower(): s for s in template.sections}
    sections = {s.key: Section(key=s.key, title=s.title) for s in template.sections}
    current: Section | None = None
    dropped: list[str] = []
    n = 0
    lines = text.split("\n")
    complete = text.endswith("\n") or not lines[-1].strip()
    for i, raw in enumerate(lines):
        line = raw.strip()
        if not line:
            continue
        if i == len(lines) - 1 and not complete:
            dropped.append(line)
            break
        m = _HEADER.match(line)
        if m:
            spec = by_title.get(m.group(1).lower())
            current = sections[spec.key] if spec else None
            if spec is None:
                dropped.append(line)
            continue
        m = _STMT.match(line)
        if m and current is not None:
            n += 1
            ev = []
            for lab in (x.strip() for x in m.group(2).split(",")):
                if lab:
                    ev.append(labels.get(lab, "?" + lab))
            current.statements.append(Statement(id=f"{id_prefix}{n}", text=_whole_sentences(m.group(1).strip()),
                                                evidence=list(dict.fromkeys(ev))))
        else:
            dropped.append(line)
    return ParsedNote(sections=[sections[s.key] for s in template.sections],
                      complete=complete, dropped_lines=dropped)
