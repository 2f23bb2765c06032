"""Real human speech for tests: the LibriVox clips of Debian's pocketsphinx-testdata."""

from __future__ import annotations

import re
from pathlib import Path

import jiwer

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")


def librivox_clips() -> list[tuple[Path, str]]:
    """(wav path, reference text) for every clip; fails loudly when the package is missing."""
    listing = (LIBRIVOX / "transcription").read_text()
    out = []
    for line in listing.splitlines():
        m = re.match(r"<s>(.*)</s>\s*\((.+)\)", line.strip())
        if m and (LIBRIVOX / f"{m.group(2)}.wav").exists():
            out.append((LIBRIVOX / f"{m.group(2)}.wav", m.group(1).strip()))
    if not out:
        raise FileNotFoundError(f"no LibriVox clips in {LIBRIVOX} (Debian package pocketsphinx-testdata)")
    return out


def normalize(text: str) -> str:
    """The one shared WER normaliser: lower-case, apostrophes dropped ("I'm" -> "im"), other
    punctuation (hyphens included) to spaces, whitespace collapsed. Nothing is spelled out:
    "38.2" and "thirty eight point two" stay different."""
    t = text.lower().replace("'", "")
    t = re.sub(r"[^\w\s]|_", " ", t)
    return " ".join(t.split())


def wer(reference: str, hypothesis: str) -> float:
    return jiwer.wer(normalize(reference), normalize(hypothesis))
