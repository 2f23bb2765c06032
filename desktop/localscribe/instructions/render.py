"""The summary as the patient gets it: plain text, or a self-contained printable HTML page
(no scripts, no external resources; every model-written character escaped)."""

from __future__ import annotations

import html

from localscribe.domain import Draft
from localscribe.instructions.prompts import Language

_TITLE = {Language.EN: "Your visit summary", Language.ES: "Resumen de su visita"}


def plain_sentences(summary: Draft) -> str:
    """The summary's sentences alone (what the reading level is measured on)."""
    return " ".join(st.text for st in summary.statements)


def render_text(summary: Draft, lang: Language | str = Language.EN) -> str:
    lang = Language(lang)
    out = [_TITLE[lang].upper(), ""]
    for sec in summary.sections:
        if not sec.statements:
            continue
        out += [sec.title, *[f"- {st.text}" for st in sec.statements], ""]
    return "\n".join(out).rstrip() + "\n"


def render_html(summary: Draft, lang: Language | str = Language.EN) -> str:
    lang = Language(lang)
    e = html.escape
    parts = [f'<!DOCTYPE html>\n<html lang="{lang.value}"><head><meta charset="utf-8">',
             f"<title>{e(_TITLE[lang])}</title>",
             "<style>body{font-family:sans-serif;font-size:14pt;max-width:40em;margin:2em auto}"
             "h2{font-size:15pt;margin-top:1.2em}</style></head><body>",
             f"<h1>{e(_TITLE[lang])}</h1>"]
    for sec in summary.sections:
        if not sec.statements:
            continue
        parts.append(f"<h2>{e(sec.title.capitalize())}</h2><ul>")
        parts += [f"<li>{e(st.text)}</li>" for st in sec.statements]
        parts.append("</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
