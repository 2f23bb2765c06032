"""Patient instructions in Spanish: the verified English summary, translated one sentence at a
time, each translation checked against its English source.

Why this way: the note's verifier reads English, so a summary written in Spanish straight from
the visit could not be checked like the note. Here the chain stays checked at every link: the
English sentence is verified against the transcript (its flags are kept), and its translation
is checked against it for what a translation must not change: the numbers (digits or Spanish
number words), the medicine names, left and right, and whether it says no. A translation
that changes one of them is flagged (blocking, kind "translation"); the clinician who reads no
Spanish still sees, beside each sentence, the English it came from and what may differ.

What it cannot catch: a wrong word that is none of these ("stomach" for "chest"). That is
stated wherever the Spanish summary is offered.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from enum import Enum

from localscribe.domain import Draft, Flag, Section, Statement
from localscribe.draft.engine import LlamaEngine
from localscribe.instructions.prompts import Language, summary_template
from localscribe.verify.lexicon import DrugLexicon, load_lexicon
from localscribe.verify.text import quantities

KIND = "translation"

_SYSTEM = {
    Language.ES: ("You translate one sentence of a patient's after-visit summary from English into "
                  "plain, everyday Spanish, speaking to the patient as 'usted'. Keep medicine names "
                  "exactly as written. Write every number in digits. Keep left and right, and keep "
                  "every 'no' and 'not'. Add nothing and leave nothing out. Write only the Spanish "
                  "sentence."),
}
# One line of text, ended by the model's end of turn or a newline (no list, no second block).
# A grammar that demanded the newline kept the model writing past its sentence: it ends a turn
# with its end-of-turn token, which such a grammar never allows (bench_instructions.py: 11 of 11
# sentences ran to the token cap).
GRAMMAR = 'root ::= [^\\n]+ "\\n"?\n'
_MAX_TOKENS = 120

# Spanish number words, as the English side's verify.text reads English ones.
_ES_UNITS = {"cero": 0, "uno": 1, "una": 1, "un": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
             "seis": 6, "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12,
             "trece": 13, "catorce": 14, "quince": 15, "dieciséis": 16, "dieciseis": 16,
             "diecisiete": 17, "dieciocho": 18, "diecinueve": 19, "veinte": 20, "veintiuno": 21,
             "veintiún": 21, "veintiuna": 21, "veintidós": 22, "veintidos": 22, "veintitrés": 23,
             "veintitres": 23, "veinticuatro": 24, "veinticinco": 25, "veintiséis": 26,
             "veintiseis": 26, "veintisiete": 27, "veintiocho": 28, "veintinueve": 29,
             "treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60, "setenta": 70,
             "ochenta": 80, "noventa": 90, "cien": 100, "ciento": 100, "doscientos": 200,
             "doscientas": 200, "trescientos": 300, "trescientas": 300, "cuatrocientos": 400,
             "cuatrocientas": 400, "quinientos": 500, "quinientas": 500, "seiscientos": 600,
             "seiscientas": 600, "setecientos": 700, "setecientas": 700, "ochocientos": 800,
             "ochocientas": 800, "novecientos": 900, "novecientas": 900, "par": 2}
_ES_HALF = {"medio", "media"}
_ES_NEGATIONS = {"no", "nunca", "ni", "sin", "ningún", "ninguna", "ninguno", "nada", "tampoco", "jamás"}
_EN_NEGATIONS = {"no", "not", "never", "none", "nothing", "without", "nor", "cannot"}
_ES_SIDES = {"left": re.compile(r"\bizquierd[oa]s?\b"), "right": re.compile(r"\bderech[oa]s?\b")}
_EN_SIDES = {"left": re.compile(r"\bleft\b"), "right": re.compile(r"\bright\b")}
_ES_WORD = re.compile(r"[a-záéíóúüñ]+|\d+(?:[.,]\d+)?")
# Function words that tell a Spanish sentence from an English one (a copy of the source, or
# English with a few Spanish words, is not a translation). Not 'a' or 'no': words of both.
ES_FUNCTION = frozenset("el la los las de del que y en un una es por con para su sus se al lo como "
                        "más pero usted debe tome cada día días si le muy".split())
EN_FUNCTION = frozenset("the of and to in is for with your you that on it be take each day days if "
                        "this are should".split())
_COUNTS = {"once": "1", "twice": "2", "thrice": "3"}
# "One" is not checked: Spanish writes it as the article ("una infección"), English as "a".
_UNCHECKED = {"1"}


def _fmt(x: float) -> str:
    return str(int(x)) if x == int(x) else str(x)


def spanish_numbers(text: str) -> set[str]:
    """Numbers a Spanish sentence states, as digits ("quinientos" -> "500", "treinta y cinco"
    -> "35", "dos y medio" -> "2.5", "2,5" -> "2.5")."""
    toks = _ES_WORD.findall(text.lower())
    found: set[str] = set()
    i = 0
    while i < len(toks):
        t = toks[i]
        if t[0].isdigit():
            found.add(_fmt(float(t.replace(",", "."))))
            i += 1
            continue
        if t not in _ES_UNITS and t not in _ES_HALF and t != "mil":
            i += 1
            continue
        total = current = 0.0
        seen = False
        while i < len(toks):
            t = toks[i]
            if t in _ES_UNITS:
                current += _ES_UNITS[t]
            elif t == "mil":
                current = max(current, 1) * 1000
                total, current = total + current, 0
            elif t in _ES_HALF and (seen or (i > 0 and toks[i - 1] == "y")):
                current += 0.5
            elif t in _ES_HALF:
                current = 0.5
            elif t == "y" and i + 1 < len(toks) and (toks[i + 1] in _ES_UNITS or toks[i + 1] in _ES_HALF):
                pass
            else:
                break
            seen = True
            i += 1
        found.add(_fmt(total + current))
    return found


def english_numbers(text: str) -> set[str]:
    """Numbers an English sentence states, as the verifier reads them, with the count of
    "once", "twice", "thrice" ("twice a day" -> "2": Spanish says "dos veces al día"). Not a
    frequency's rate: "every six hours" is 4 a day to the verifier, but says 6, as Spanish does."""
    nums = {n for n, _ in quantities(text)}
    nums |= {_COUNTS[t] for t in re.findall(r"[a-z]+", text.lower()) if t in _COUNTS}
    return nums


def function_words(text: str) -> tuple[int, int]:
    """(Spanish, English) function words in ``text``."""
    toks = _ES_WORD.findall(text.lower())
    return sum(t in ES_FUNCTION for t in toks), sum(t in EN_FUNCTION for t in toks)


def spanish_share(text: str) -> float:
    """Of the function words in ``text``, the share that are Spanish (0.0 when none)."""
    es, en = function_words(text)
    return es / (es + en) if es + en else 0.0


def _english(text: str) -> bool:
    es, en = function_words(text)
    return en > es


def _negated_en(text: str) -> bool:
    toks = re.findall(r"[a-z']+", text.lower())
    return any(t in _EN_NEGATIONS or t.endswith("n't") for t in toks)


def _negated_es(text: str) -> bool:
    return any(t in _ES_NEGATIONS for t in _ES_WORD.findall(text.lower()))


def _names_drug(text: str, name: str) -> bool:
    # "aspirin" may be written "aspirina", "ibuprofen" "ibuprofeno": the name and one vowel.
    return re.search(rf"(?<![a-záéíóúñ]){re.escape(name)}[aoe]?(?![a-záéíóúñ])", text.lower()) is not None


class Change(str, Enum):
    """What a flagged translation changed: its flag's kind is "translation-" and this."""

    UNTRANSLATED = "untranslated"
    NUMBER = "number"
    MEDICINE = "medicine"
    SIDE = "side"
    NEGATION = "negation"


def _flag(change: Change, reason: str, span: str) -> Flag:
    return Flag(f"{KIND}-{change.value}", reason, span)


def is_translation_flag(flag: Flag) -> bool:
    return flag.kind.startswith(f"{KIND}-")


def what_changed(flag: Flag) -> str:
    return flag.kind.removeprefix(f"{KIND}-")


def check(source: str, translation: str, lexicon: DrugLexicon | None = None) -> list[Flag]:
    """What the translation changed that it must not: numbers, medicine names, sides, a "no"."""
    lexicon = lexicon or load_lexicon()
    src, dst = source.strip(), translation.strip()
    if not dst or dst.lower() == src.lower() or _english(dst):
        return [_flag(Change.UNTRANSLATED, "This sentence was not translated: check it before the "
                                           "patient gets it.", src)]
    flags: list[Flag] = []
    en, es = english_numbers(src) - _UNCHECKED, spanish_numbers(dst) - _UNCHECKED
    if en - es:
        said = ", ".join(sorted(en - es))
        flags.append(_flag(Change.NUMBER, f"The Spanish sentence does not say {said}, which its English "
                                          "source says.", " ".join(sorted(en - es))))
    if es - en:
        added = ", ".join(sorted(es - en))
        flags.append(_flag(Change.NUMBER, f"The Spanish sentence says {added}, which its English source "
                                          "does not.", " ".join(sorted(es - en))))
    missing = [n for n in dict.fromkeys(lexicon.find(src)) if not _names_drug(dst, n)]
    if missing:
        names = ", ".join(missing)
        flags.append(_flag(Change.MEDICINE, f"The Spanish sentence does not name {names} as its English "
                                            "source does.", names))
    low_src, low_dst = src.lower(), dst.lower()
    for side in ("left", "right"):
        said_side, kept = bool(_EN_SIDES[side].search(low_src)), bool(_ES_SIDES[side].search(low_dst))
        if said_side != kept:
            how = "drops" if said_side else "adds"
            flags.append(_flag(Change.SIDE, f"The Spanish sentence {how} the {side} side of its English "
                                            "source.", side))
    if _negated_en(src) != _negated_es(dst):
        how = "drops the 'no' of" if _negated_en(src) else "adds a 'no' to"
        flags.append(_flag(Change.NEGATION, f"The Spanish sentence {how} its English source.", "no"))
    return flags


# Two made-up sentences and their translations, in the prompt before the patient's: asked in
# words alone, the model wrote "tú" ("Toma lisinopril...") and numbers as words; shown, it
# writes "usted" and digits (bench_instructions.py --english-from, before and after, README).
# No patient data: the same tokens for every visit, so their KV state is kept between sentences.
EXAMPLES = {
    Language.ES: (("Take ibuprofen 400 mg twice a day with food.",
                   "Tome ibuprofeno 400 mg dos veces al día con comida."),
                  ("Do not lift anything heavy with your left arm for 2 weeks.",
                   "No levante nada pesado con el brazo izquierdo durante 2 semanas.")),
}


def _prompt(lang: Language, sentence: str) -> str:
    shown = "".join(f"<|im_start|>user\n{en}<|im_end|>\n<|im_start|>assistant\n{out}<|im_end|>\n"
                    for en, out in EXAMPLES[lang])
    return (f"<|im_start|>system\n{_SYSTEM[lang]}<|im_end|>\n{shown}<|im_start|>user\n{sentence.strip()}"
            "<|im_end|>\n<|im_start|>assistant\n")


def prompt_sha256(english_recipe: str, lang: Language) -> str:
    """The Spanish summary's recipe: the English summary's, then the translation prompt."""
    return hashlib.sha256(f"{english_recipe}\x00translate:{lang.value}\x00{_prompt(lang, '')}\x00{GRAMMAR}"
                          .encode()).hexdigest()


@dataclass(frozen=True)
class Translation:
    draft: Draft          # the summary in the target language; each statement's source kept
    generated: int        # tokens generated for the translations
    seconds: float
    flagged: int          # sentences whose translation was flagged


def translate_summary(engine: LlamaEngine, english: Draft, lang: Language) -> Translation:
    """The verified English summary in ``lang``: every statement translated on its own, keeping
    its id, evidence and flags, with the translation's own flags added."""
    lang = Language(lang)
    if lang not in _SYSTEM:
        raise ValueError(f"no translation into {lang.value}")
    titles = {s.key: s.title for s in summary_template(lang).sections}
    lexicon = load_lexicon()
    t0 = time.perf_counter()
    generated = flagged = 0
    sections: list[Section] = []
    for sec in english.sections:
        out = Section(key=sec.key, title=titles.get(sec.key, sec.title), notice=sec.notice)
        for st in sec.statements:
            # No reset: every sentence's prompt opens with the same instructions, whose KV
            # state the engine keeps by common prefix.
            gen = engine.generate(engine.tokenize(_prompt(lang, st.text), first=True), GRAMMAR,
                                  max_tokens=_MAX_TOKENS)
            generated += gen.generated
            text = gen.text.strip() if gen.finished else ""
            extra = check(st.text, text, lexicon)
            flagged += bool(extra)
            out.statements.append(Statement(id=st.id, text=text or st.text, evidence=list(st.evidence),
                                            flags=list(st.flags) + extra, source=st.text))
        sections.append(out)
    draft = Draft(template=f"patient-instructions-{lang.value}", sections=sections,
                  model_sha256=english.model_sha256,
                  prompt_sha256=prompt_sha256(english.prompt_sha256, lang))
    return Translation(draft, generated, time.perf_counter() - t0, flagged)
