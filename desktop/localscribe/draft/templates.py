"""Note templates: TOML (or JSON) files naming the note's sections and what goes in each.

Built-in templates ship in ``assets/templates``; a practice adds its own by dropping a file
in ``<data_dir>/templates`` (a user file with the same name replaces the built-in one).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localscribe.resources import asset

DEFAULT_TEMPLATE = "soap"
STYLES = ("prose", "bullets")
# Generated tokens a note may use. Generation is the slowest step after Stop on a CPU
# (~11 tok/s for the standard model on 2 idle cores), so this is the time-to-draft budget:
# 450 tokens is ~40 s. Templates with more sections declare more (``note_tokens``).
DEFAULT_NOTE_TOKENS = 450


class TemplateError(ValueError):
    """A template is missing or malformed; the message names the file and the problem."""


@dataclass(frozen=True)
class SectionSpec:
    key: str
    title: str
    guidance: str = ""
    max_statements: int = 12
    # At least this many sentences; 0 lets the model answer "None." for a section the visit
    # did not speak to. Sections every visit has (why the patient came, the plan) set it.
    min_statements: int = 0
    # Words whose presence in a transcript shows the visit spoke to this section (e.g. "x-ray"
    # for results). When drafting leaves such a section empty, the draft says so visibly.
    cues: tuple[str, ...] = ()
    # Words that show the visit touched a section it is the clinician's call to write (review of
    # systems): an empty one carries the same notice, but the model may still answer "None.".
    notice_cues: tuple[str, ...] = ()
    # A section written as one short phrase ("Right knee pain."), as clinicians write a chief
    # complaint, rather than as sentences.
    phrase: bool = False


# The longest phrase a ``phrase`` section may be, in characters.
PHRASE_CHARS = 60


@dataclass(frozen=True)
class Template:
    key: str                  # file stem, what --template takes (a file's absolute path)
    name: str
    loinc: str                # LOINC document type code for FHIR DocumentReference.type
    loinc_display: str
    sections: tuple[SectionSpec, ...]
    style: str = "prose"      # how render.py lays statements out
    note_tokens: int = DEFAULT_NOTE_TOKENS
    # A note for another visit, shown to the model for the style (never its facts).
    example: str = ""
    source: Path | None = field(default=None, compare=False)

    def section(self, key: str) -> SectionSpec:
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)


def builtin_dir() -> Path:
    return asset("templates")


def user_dir(data_dir: Path | None) -> Path | None:
    return Path(data_dir) / "templates" if data_dir else None


def _read(path: Path) -> dict[str, Any]:
    try:
        if path.suffix == ".json":
            raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return raw
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:   # tomllib/json decode errors are ValueErrors
        raise TemplateError(f"template {path}: cannot be read: {exc}") from exc


def parse_template(key: str, raw: dict[str, Any], source: Path | None = None) -> Template:
    where = f"template {source or key}"
    sections_raw = raw.get("sections")
    if not isinstance(sections_raw, list) or not sections_raw:
        raise TemplateError(f"{where}: needs at least one [[sections]] entry")
    sections: list[SectionSpec] = []
    seen: set[str] = set()
    for i, s in enumerate(sections_raw, 1):
        if not isinstance(s, dict) or not s.get("key") or not s.get("title"):
            raise TemplateError(f"{where}: section {i} needs a 'key' and a 'title'")
        skey = str(s["key"])
        if not skey.replace("_", "").isalnum() or skey in seen:
            raise TemplateError(f"{where}: section key {skey!r} must be unique letters/digits/_")
        seen.add(skey)
        title = str(s["title"]).strip()
        if "\n" in title or "#" in title:
            raise TemplateError(f"{where}: section title {title!r} must be one line without '#'")
        cues, notice_cues = s.get("cues", []), s.get("notice_cues", [])
        for name, words in (("cues", cues), ("notice_cues", notice_cues)):
            if not isinstance(words, list) or not all(isinstance(c, str) and c.strip() for c in words):
                raise TemplateError(f"{where}: section {skey!r}: {name} must be a list of words")
        try:
            hi, lo = int(s.get("max_statements", 12)), int(s.get("min_statements", 0))
        except (TypeError, ValueError):
            hi, lo = 0, 0
        if not 0 <= lo <= hi or hi < 1:
            raise TemplateError(f"{where}: section {skey!r}: need 0 <= min_statements <= max_statements, max >= 1")
        phrase = s.get("phrase", False)
        if not isinstance(phrase, bool):
            raise TemplateError(f"{where}: section {skey!r}: phrase must be true or false")
        sections.append(SectionSpec(key=skey, title=title, guidance=str(s.get("guidance", "")),
                                    max_statements=1 if phrase else hi, min_statements=min(lo, 1) if phrase else lo,
                                    cues=tuple(c.strip().lower() for c in cues), phrase=phrase,
                                    notice_cues=tuple(c.strip().lower() for c in notice_cues)))
    style = str(raw.get("style", "prose"))
    if style not in STYLES:
        raise TemplateError(f"{where}: style must be one of {', '.join(STYLES)}")
    try:
        note_tokens = int(raw.get("note_tokens", DEFAULT_NOTE_TOKENS))
    except (TypeError, ValueError):
        note_tokens = 0
    if not 50 <= note_tokens <= 4000:
        raise TemplateError(f"{where}: note_tokens must be a whole number from 50 to 4000")
    return Template(key=key, name=str(raw.get("name", key)), loinc=str(raw.get("loinc", "11506-3")),
                    loinc_display=str(raw.get("loinc_display", "Progress note")),
                    sections=tuple(sections), style=style, note_tokens=note_tokens,
                    example=_example(raw.get("example"), source, where), source=source)


def _example(name: object, source: Path | None, where: str) -> str:
    """The example note's text: a file beside the template (lines starting with '#' are
    comments for people: provenance, licence)."""
    if not name:
        return ""
    base = source.parent if source else builtin_dir()
    path = (base / str(name)).resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"{where}: example {name}: cannot be read: {exc}") from exc
    return "\n".join(line for line in text.splitlines() if not line.startswith("#")).strip()


def _files(data_dir: Path | None) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for d in (builtin_dir(), user_dir(data_dir)):   # user files come last so they win
        if d and d.is_dir():
            for p in sorted(d.iterdir()):
                if p.suffix in (".toml", ".json") and p.is_file():
                    found[p.stem] = p
    return found


def available_templates(data_dir: Path | None = None) -> list[str]:
    return sorted(_files(data_dir))


def load_template(name: str = DEFAULT_TEMPLATE, data_dir: Path | None = None) -> Template:
    """Load by key (``soap``), or from an explicit ``.toml``/``.json`` path."""
    p = Path(name)
    if p.suffix in (".toml", ".json") and p.is_file():
        # The key is the absolute path: it is stored with the encounter and its draft, and
        # every later load (rendering, redrafting, the connectors' LOINC) must find the same file.
        p = p.resolve()
        return parse_template(str(p), _read(p), p)
    files = _files(data_dir)
    if name not in files:
        raise TemplateError(f"no template named {name!r}; available: {', '.join(sorted(files))}")
    return parse_template(name, _read(files[name]), files[name])
