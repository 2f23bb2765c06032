"""What the patient's summary holds, and how the model is asked for it, per language.

The summary is a ``Template`` like a note's (sections with sentence caps, cues for sections
the visit spoke to), so the note's grammar, sentence rules and verifier apply unchanged; only
the voice differs: the patient is addressed as "you", in plain words, and doses and
frequencies are copied exactly as said (the verifier's number, drug and frequency checks
then hold the summary to the same rules as the note).
"""

from __future__ import annotations

import hashlib
from enum import Enum

from localscribe.draft import sections as SX
from localscribe.draft.templates import SectionSpec, Template


class Language(str, Enum):
    EN = "en"
    ES = "es"


# Section keys start with "pi_" and statement ids with "pi": the summary's flags are
# acknowledged at signing beside the note's ("pi3#0", "section:pi_warning") and never
# collide with a note's ("st3#0", "section:plan").
ID_PREFIX = "pi"

# Cues are looked for in the transcript (English whatever the summary's language): a part the
# visit spoke to must be written (it cannot answer "None.").
_MED_CUES = ("prescri", "milligram", "mg", "tablet", "pill", "refill", "dose")
_RETURN_CUES = ("follow up", "follow-up", "come back", "see you back", "see you in", "return visit")
_WARNING_CUES = ("emergency", "call us", "call me", "call the office", "right away", "if it gets worse")

# Each part of the summary: key, fewest and most sentences, transcript cues. The same in every
# language; only the words below differ.
_PARTS = (("pi_found", 1, 3, ()), ("pi_todo", 1, 4, ()), ("pi_meds", 0, 4, _MED_CUES),
          ("pi_return", 0, 2, _RETURN_CUES), ("pi_warning", 0, 3, _WARNING_CUES))

# Each part's title and guidance, in the order of _PARTS.
_WORDS = {
    Language.EN: (
        ("WHAT WE FOUND", "What the clinician found or thinks is going on."),
        ("WHAT TO DO", "What you should do at home, as the clinician said."),
        ("YOUR MEDICINES", "Each medicine to take or stop, with the dose and how often exactly as said."),
        ("WHEN TO COME BACK", "When to come back or follow up, as said."),
        ("WARNING SIGNS", "Warning signs the clinician told you to watch for and what to do if they "
                          "happen."),
    ),
    Language.ES: (
        ("LO QUE ENCONTRAMOS", "Lo que el médico encontró o cree que pasa."),
        ("QUÉ HACER", "Lo que usted debe hacer en casa, como lo dijo el médico."),
        ("SUS MEDICAMENTOS", "Cada medicamento que debe tomar o dejar, con la dosis y la frecuencia "
                             "exactamente como se dijeron."),
        ("CUÁNDO VOLVER", "Cuándo volver o hacer seguimiento, como se dijo."),
        ("SEÑALES DE ALARMA", "Señales de alarma que el médico mencionó y qué hacer si aparecen."),
    ),
}

# Tokens for the whole summary: five short sections (~40 s on 2 idle cores, like a note).
SUMMARY_TOKENS = 400


def summary_template(lang: Language) -> Template:
    sections = tuple(SectionSpec(key=k, title=t, guidance=g, min_statements=lo, max_statements=hi,
                                 cues=cues)
                     for (k, lo, hi, cues), (t, g) in zip(_PARTS, _WORDS[lang], strict=True))
    return Template(key=f"patient-instructions-{lang.value}", name="After-visit summary",
                    loinc="69730-0", loinc_display="Instructions",
                    sections=sections, note_tokens=SUMMARY_TOKENS)


_SYSTEM = {
    Language.EN: (
        "You write the after-visit summary a patient takes home. The user gives you the "
        "transcript of the visit{note}. Write to the patient as 'you', in plain everyday words a "
        "twelve-year-old understands, in short sentences, one fact per sentence. No lists, no "
        "headings, no markdown. Use only what was said in the visit. Copy medicine names, doses, "
        "how often to take them, numbers and left or right exactly as said. Keep negatives "
        "negative. Never add advice, tests, medicines or warning signs that were not said. If "
        "nothing in the visit belongs in a part, write only: " + SX.NONE_WORD),
    Language.ES: (
        "Usted escribe el resumen de la visita que el paciente se lleva a casa. El usuario le da "
        "la transcripción de la visita, en inglés{note}. Escriba en español, al paciente de "
        "'usted', con palabras sencillas de todos los días, en frases cortas, un dato por frase. "
        "Sin listas, sin títulos, sin markdown. Use solo lo que se dijo en la visita. Copie los "
        "nombres de medicamentos, las dosis, cada cuánto tomarlos, los números y el lado "
        "izquierdo o derecho exactamente como se dijeron. Nunca agregue consejos, pruebas, "
        "medicamentos ni señales de alarma que no se dijeron. Si nada de la visita corresponde "
        "a una parte, escriba solo: " + SX.NONE_WORD),
}
_WITH_NOTE = {Language.EN: " and the clinician's note", Language.ES: " y la nota del médico"}
_TRANSCRIPT = {Language.EN: "Transcript of the visit:\n", Language.ES: "Transcripción de la visita:\n"}
_NOTE = {Language.EN: "\nThe clinician's note for this visit:\n",
         Language.ES: "\nLa nota del médico para esta visita:\n"}


def head_text(lang: Language, with_note: bool) -> str:
    """The fixed prefix (no patient data): its KV state can be cached like the note's."""
    system = _SYSTEM[lang].format(note=_WITH_NOTE[lang] if with_note else "")
    return f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{_TRANSCRIPT[lang]}"


def note_block(lang: Language, note_text: str) -> str:
    return f"{_NOTE[lang]}{note_text.strip()}\n" if note_text.strip() else ""


def request_text(spec: SectionSpec, lang: Language) -> str:
    """The turn that asks for one part of the summary (after the transcript and note)."""
    if lang is Language.ES:
        count = (f"de {spec.min_statements} a {spec.max_statements} frases" if spec.min_statements
                 else f"como máximo {spec.max_statements} frases, o {SX.NONE_WORD}")
        ask = (f"Escriba la parte {spec.title} del resumen para el paciente: {spec.guidance} "
               f"Escriba {count}, en español sencillo, dirigidas al paciente.")
    else:
        count = (f"{spec.min_statements} to {spec.max_statements} short sentences" if spec.min_statements
                 else f"at most {spec.max_statements} short sentences, or {SX.NONE_WORD}")
        ask = (f"Write the {spec.title} part of the patient's summary: {spec.guidance} Write "
               f"{count}, in plain words, speaking to the patient as 'you'.")
    return f"\n{ask}<|im_end|>\n<|im_start|>assistant\n"


def prompt_sha256(template: Template, lang: Language, with_note: bool) -> str:
    """The prompt recipe's hash (instructions, requests, grammars; no patient data), audited."""
    h = hashlib.sha256(b"patient-instructions\x00" + head_text(lang, with_note).encode())
    for spec in template.sections:
        h.update(request_text(spec, lang).encode() + SX.build_grammar(spec).encode())
    return h.hexdigest()
