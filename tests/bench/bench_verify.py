"""The verifier on ACI-Bench: false alarms on clinicians' own notes, and recall of injected errors.

    .venv/bin/python tests/bench/bench_verify.py --split train|valid [--data DIR] [--show flags|misses]

False alarms: each sentence of each reference note becomes a statement whose evidence is
align(sentence), checked against its own dialogue. Sentences whose facts come from outside the
conversation (chart ages, vitals, names) are listed with a reason in assets/verify/external_facts.tsv
and excluded; the rest are counted: the share with a blocking flag is the false-alarm rate.

Recall: one error is injected into each reference sentence that passes without a blocking flag,
for every kind that applies to it (side swap, number, unit, dose, frequency, negation flipped
either way, drug substitution, an appended symptom never mentioned in the visit). Each mutated
sentence is checked twice: citing the lines that support the original sentence ("correct"), and
citing nothing or an unrelated line ("none/wrong", alternating). The injected symptoms come from
the list below, not from the verifier's lexicon.

Data: ACI-Bench (Yim et al. 2023, CC BY 4.0), ../shared/data/aci-bench next to the checkout, or --data.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from localscribe.domain import Statement, Transcript
from localscribe.draft.transcript_text import parse_transcript_text
from localscribe.resources import asset
from localscribe.verify import Verifier
from localscribe.verify.align import align
from localscribe.verify.lexicon import load_lexicon

# ../shared/data next to the checkout (a worktree one level deeper finds it further up).
DATA = next((p / "shared" / "data" / "aci-bench" for p in Path(__file__).resolve().parents[2:]
             if (p / "shared" / "data" / "aci-bench").is_dir()),
            Path(__file__).resolve().parents[3] / "shared" / "data" / "aci-bench")
KINDS = ("side", "number", "unit", "dose", "frequency", "negation: denies->reports",
         "negation: reports->denies", "drug", "symptom")

# Injected symptoms, each with the words that would mean the visit did mention it. Written for this
# benchmark, independently of assets/lexicon/findings.txt.
SYMPTOMS = {
    "hematuria": ("hematuria", "blood in the urine", "blood in your urine", "blood in my urine"),
    "hemoptysis": ("hemoptysis", "coughing up blood", "cough up blood"),
    "double vision": ("double vision", "diplopia", "seeing double"),
    "ringing in the ears": ("ringing", "tinnitus"),
    "night sweats": ("night sweats", "sweats", "sweating"),
    "a rash on the trunk": ("rash",),
    "blurred vision": ("blurred", "blurry", "vision"),
    "hoarseness": ("hoarse",),
    "jaundice": ("jaundice", "yellow"),
    "black stools": ("black stool", "tarry", "melena"),
    "painful urination": ("burning", "painful urination", "dysuria"),
    "hair loss": ("hair loss", "losing hair", "alopecia"),
    "a tremor": ("tremor", "shaking", "shaky"),
    "ankle swelling": ("swelling", "swollen", "edema"),
    "fainting spells": ("faint", "passed out", "syncope"),
    "nosebleeds": ("nosebleed", "nose bleed", "epistaxis"),
    "easy bruising": ("bruise", "bruising"),
    "heartburn": ("heartburn", "reflux", "indigestion"),
    "palpitations": ("palpitation", "racing", "pounding", "flutter"),
    "hearing loss": ("hearing", "hear"),
    "a productive cough": ("cough",),
    "vomiting": ("vomit", "throwing up", "threw up"),
    "diarrhea": ("diarrhea", "loose stool"),
    "constipation": ("constipat",),
    "wheezing": ("wheez",),
    "hot flashes": ("hot flash",),
    "excessive thirst": ("thirst",),
    "chest tightness": ("chest tight", "tightness"),
    "calf pain": ("calf",),
    "a sore throat": ("sore throat", "throat"),
}

_SIDE = {"left": "right", "right": "left", "Left": "Right", "Right": "Left"}
_NUM = re.compile(r"\b\d+(?:\.\d+)?\b")
_DOSE_UNIT = r"(?:mg|mcg|milligrams?|micrograms?|units?|ml|g|grams?|tablets?|puffs?)\b"
_OTHER_UNIT = {"mg": "mcg", "mcg": "mg", "milligrams": "micrograms", "g": "mg", "grams": "milligrams",
               "ml": "mg", "days": "weeks", "day": "week", "weeks": "months", "week": "month",
               "months": "years", "month": "year", "years": "months", "year": "month", "hours": "days",
               "hour": "day", "minutes": "hours", "lb": "kg", "lbs": "kg", "pounds": "kilograms",
               "kg": "lb", "cm": "mm", "mm": "cm", "inches": "cm", "%": "mg", "percent": "mg",
               "units": "mg", "tablets": "capsules of 500 mg"}
_UNIT_RE = re.compile(r"\b(\d+(?:\.\d+)?)(\s*)("
                      + "|".join(re.escape(u) for u in sorted(_OTHER_UNIT, key=len, reverse=True))
                      + r")(?![a-z])", re.I)
_FREQ = [  # (pattern, replacement): one frequency for another
    (r"\btwice (a|per) day\b", "once a day"), (r"\btwice daily\b", "once daily"),
    (r"\bthree times (a|per) day\b", "twice a day"), (r"\bonce (a|per) day\b", "twice a day"),
    (r"\bonce daily\b", "twice daily"), (r"\bfour times (a|per) day\b", "once a day"),
    (r"\bevery (\d+|four|six|eight|twelve) hours\b", "every 2 hours"), (r"\bb\.?i\.?d\.?\b", "TID"),
    (r"\bt\.?i\.?d\.?\b", "BID"), (r"\bq\.?d\.?\b", "BID"), (r"\bat night\b", "in the morning"),
    (r"\bat bedtime\b", "in the morning"), (r"\bweekly\b", "daily"), (r"\bonce a week\b", "once a day"),
    (r"\bdaily\b", "twice daily"), (r"\bmonthly\b", "weekly"), (r"\bevery morning\b", "every night"),
]
_DENY = [(r"\bdenies\b", "reports"), (r"\bdenied\b", "reported"), (r"\bnegative for\b", "positive for"),
         (r"^No\s+(?=[a-z])", "")]
_REPORT = [(r"\b(reports|endorses|complains of)\s+(?!that\b|to\b|being\b|he\b|she\b|it\b|this\b|the patient\b)",
            "denies "), (r"\bpositive for\b", "negative for")]


def sentences(note: str) -> list[str]:
    """Reference-note sentences: headings and bare list labels dropped, abbreviations kept whole."""
    out: list[str] = []
    for line in note.splitlines():
        line = line.strip().lstrip("•-*").strip()
        if not line or (line.isupper() and len(line.split()) <= 8) or line.endswith(":"):
            continue
        if len(line.split()) == 1 and not line.endswith("."):
            continue                       # "Musculoskeletal": a label, not a statement
        protected = re.sub(r"\b(Mr|Mrs|Ms|Dr|vs|St|approx|e\.g|i\.e)\.", r"\1<DOT>", line)
        for s in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9])", protected):
            s = s.replace("<DOT>", ".").strip()
            if len(re.findall(r"[A-Za-z]{2,}", s)) >= 1 and not re.fullmatch(r"\d+\.", s):
                out.append(s)
    return out


def load_exclusions(path: Path) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        enc, sent, reason = (line.split("\t") + ["", ""])[:3]
        if not reason.strip():
            sys.exit(f"{path}: every excluded sentence needs a reason: {line!r}")
        out[(enc.strip(), sent.strip())] = reason.strip()
    return out


def _sub_first(patterns, text: str) -> str | None:
    for pat, rep in patterns:
        new, n = re.subn(pat, rep, text, count=1, flags=re.I if not pat.startswith("^No") else 0)
        if n and new != text:
            return new[0].upper() + new[1:] if new else None
    return None


def _new_number(old: str, rng: random.Random) -> str:
    v = float(old)
    choices = [v + 1, v + 2, v * 2, v + 10, max(v - 1, 0.5)] if v < 10 else [v * 2, v + 10, v / 2, v + 5]
    new = rng.choice([c for c in choices if c != v])
    return str(int(new)) if float(new).is_integer() else f"{new:g}"


def inject(kind: str, s: str, dialogue: str, rng: random.Random) -> str | None:
    """The sentence with one error of this kind, or None when the kind does not apply."""
    if kind == "side":
        m = re.search(r"\b(left|right|Left|Right)\b", s)
        return s[:m.start()] + _SIDE[m.group(1)] + s[m.end():] if m else None
    if kind in ("number", "dose"):
        dose_spans = [m.span(1) for m in re.finditer(r"\b(\d+(?:\.\d+)?)\s*" + _DOSE_UNIT, s, re.I)]
        cands = [m for m in _NUM.finditer(s) if (m.span() in dose_spans) == (kind == "dose")
                 and not re.match(r"[/-]\d", s[m.end():m.end() + 2])]       # not one half of 3/6
        if not cands:
            return None
        m = rng.choice(cands)
        return s[:m.start()] + _new_number(m.group(), rng) + s[m.end():]
    if kind == "unit":
        m = _UNIT_RE.search(s)
        if not m:
            return None
        sep = m.group(2) or (" " if m.group(3) == "%" else "")
        return s[:m.start(2)] + sep + _OTHER_UNIT[m.group(3).lower()].strip() + s[m.end(3):]
    if kind == "frequency":
        return _sub_first(_FREQ, s)
    if kind == "negation: denies->reports":
        return _sub_first(_DENY, s)
    if kind == "negation: reports->denies":
        return _sub_first(_REPORT, s)
    if kind == "drug":
        lex = load_lexicon()
        found = lex.find(s)
        if not found:
            return None
        name = found[0]
        others = sorted({g for g in lex.generic_of.values() if g != lex.generic_of.get(name, name)})
        new = rng.choice(others)
        i = s.lower().find(name)
        return s[:i] + new + s[i + len(name):]
    if kind == "symptom":
        low = dialogue.lower()
        fresh = [k for k, said in SYMPTOMS.items() if not any(w in low for w in said)]
        if not fresh:
            return None
        return s.rstrip(". ") + f", and reports {rng.choice(fresh)}."
    raise ValueError(kind)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="valid", choices=("valid", "train"))
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--exclusions", type=Path, default=asset("verify", "external_facts.tsv"))
    ap.add_argument("--show", choices=("flags", "misses", "injections"),
                    help="print flagged sentences, missed injections, or all injections")
    ap.add_argument("--seed", type=int, default=9)
    args = ap.parse_args(argv)
    with open(args.data / f"{args.split}.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    excluded = load_exclusions(args.exclusions)

    n_sent = n_excl = n_block = n_info = 0
    by_kind: Counter = Counter()
    per_note_s: list[float] = []
    per_note_cpu: list[float] = []
    recall: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])     # n, caught (correct), caught (none/wrong)
    for row in rows:
        enc, tr = row["encounter_id"], parse_transcript_text(row["dialogue"])
        t, cpu = time.perf_counter(), time.process_time()
        verifier = Verifier(tr)
        checked = []
        for s in sentences(row["note"]):
            n_sent += 1
            if (enc, s) in excluded:
                n_excl += 1
                continue
            st = Statement("st", s, align(s, tr))
            flags = verifier.check(st)
            checked.append((s, flags))
        per_note_s.append(time.perf_counter() - t)
        per_note_cpu.append(time.process_time() - cpu)
        for s, flags in checked:
            blocking = [f for f in flags if f.blocking]
            n_block += bool(blocking)
            n_info += bool(flags) and not blocking
            by_kind.update({f.kind for f in blocking})
            if blocking and args.show == "flags":
                print(f"{enc}\t{s}\t" + " | ".join(f"{f.kind}: {f.reason}" for f in blocking))
        _recall(enc, tr, row["dialogue"], [s for s, fl in checked if not any(f.blocking for f in fl)],
                verifier, recall, args)

    n_checked = n_sent - n_excl
    print(f"\nACI-Bench {args.split}: {len(rows)} encounters, {n_sent} reference sentences, "
          f"{n_excl} excluded as external facts ({args.exclusions.name})")
    print(f"  false alarms (blocking): {n_block}/{n_checked} = {100 * n_block / max(1, n_checked):.1f}%"
          f"   by kind: {dict(by_kind.most_common())}")
    print(f"  informational only:      {n_info}/{n_checked} = {100 * n_info / max(1, n_checked):.1f}%")
    print(f"  verification time per note (align + check of every sentence): CPU mean "
          f"{1000 * statistics.mean(per_note_cpu):.0f} ms, max {1000 * max(per_note_cpu):.0f} ms; "
          f"wall mean {1000 * statistics.mean(per_note_s):.0f} ms (machine load included)")
    print(f"\n  {'injected error':28} {'n':>5} {'recall, correct evidence':>26} {'recall, none/wrong evidence':>29}")
    for kind in KINDS:
        n, c, w = recall[kind]
        print(f"  {kind:28} {n:5} {100 * c / max(1, n):25.1f}% {100 * w / max(1, n):28.1f}%")
    return 0


def _recall(enc: str, tr: Transcript, dialogue: str, clean: list[str], verifier: Verifier,
            recall: dict[str, list[int]], args) -> None:
    ids = [s.id for s in tr.segments]
    for j, s in enumerate(clean):
        correct = align(s, tr)
        for kind in KINDS:
            rng = random.Random(f"{args.seed}|{enc}|{s}|{kind}")
            bad = inject(kind, s, dialogue, rng)
            if bad is None or bad == s:
                continue
            far = [i for i in ids if i not in correct]
            wrong = [] if j % 2 else [rng.choice(far)] if far else []
            c = any(f.blocking for f in verifier.check(Statement("st", bad, list(correct))))
            w = any(f.blocking for f in verifier.check(Statement("st", bad, wrong)))
            r = recall[kind]
            r[0] += 1
            r[1] += c
            r[2] += w
            if args.show == "injections" or (args.show == "misses" and not c):
                print(f"{'caught' if c else 'MISSED'}\t{kind}\t{enc}\t{bad}\t(was: {s})")


if __name__ == "__main__":
    sys.exit(main())
