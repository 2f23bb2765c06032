"""Word error rate on the LibriVox clips shipped by Debian's pocketsphinx-testdata.

Shared by the model tests and the quantisation benchmark so both score the same way.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
_PUNCT = re.compile(f"[{re.escape(string.punctuation)}]")


@dataclass(frozen=True)
class Clip:
    name: str
    audio: np.ndarray
    reference: str

    @property
    def seconds(self) -> float:
        return len(self.audio) / 16000


def normalize(text: str) -> str:
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def load_clips(root: Path = LIBRIVOX) -> list[Clip]:
    refs = {}
    for line in (root / "transcription").read_text().splitlines():
        m = re.match(r"<s>(.*)</s>\s*\((.+)\)", line.strip())
        if m:
            refs[m.group(2)] = m.group(1).strip()
    clips = []
    for name, ref in sorted(refs.items()):
        audio, sr = sf.read(root / f"{name}.wav", dtype="float32")
        assert sr == 16000 and audio.ndim == 1, f"{name}: expected 16 kHz mono"
        clips.append(Clip(name, audio, ref))
    return clips


def transcribe_text(model, audio: np.ndarray) -> str:
    return " ".join(seg.text for seg in model.transcribe(audio, language="en"))


def corpus_wer(references: list[str], hypotheses: list[str]) -> float:
    import jiwer

    return jiwer.wer([normalize(r) for r in references], [normalize(h) for h in hypotheses])
