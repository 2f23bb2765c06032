"""Recognise text Whisper made up rather than heard, so it never reaches a clinical note.

Whisper, trained on subtitles, fills silence and noise with subtitle habits ("Thank you.",
"Thanks for watching!", "[BLANK_AUDIO]", "(music)") and sometimes loops one line. Each
rule below names a reason so a dropped segment can be explained.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field

# Lines Whisper emits on silence or noise. Spoken for real they are kept when the audio
# under them is clearly speech and Whisper is confident (see HallucinationFilter.judge).
SILENCE_PHRASES = frozenset({
    "thank you", "thank you very much", "thanks", "thanks for watching",
    "thank you for watching", "thanks for listening", "thank you for listening",
    "please subscribe", "subscribe", "like and subscribe", "bye", "bye bye", "goodbye",
    "you", "so", "oh", "okay", "ok", "hmm", "um", "uh", "the end", "i", "a",
    "subtitles by the amaraorg community", "translated by", "see you next time",
    "see you in the next video", "im sorry", "",
})

# [BLANK_AUDIO], (music), *sighs*, ♪ ... ♪ and similar non-speech annotations.
_ANNOTATION = re.compile(r"\[[^\]]*\]|\([^)]*\)|\*[^*]*\*|♪[^♪]*♪|[♪♫]")
_PUNCT = re.compile(r"[^\w\s']|_")


def normalize(text: str) -> str:
    t = _PUNCT.sub(" ", text.lower()).replace("'", "")
    return " ".join(t.split())


def strip_annotations(text: str) -> str:
    return " ".join(_ANNOTATION.sub(" ", text).split())


def compression_ratio(text: str) -> float:
    raw = text.encode("utf-8")
    return len(raw) / max(1, len(zlib.compress(raw)))


def _has_loop(words: list[str], min_repeats: int = 4) -> bool:
    """An n-gram (n = 1..6) repeated back to back min_repeats times or more."""
    for n in range(1, 7):
        for start in range(0, max(0, len(words) - n * min_repeats) + 1):
            gram = words[start:start + n]
            reps = 1
            pos = start + n
            while words[pos:pos + n] == gram:
                reps += 1
                pos += n
            if reps >= min_repeats:
                return True
    return False


@dataclass
class HallucinationFilter:
    """Stateful across a visit: remembers recent kept lines to catch repeats."""

    min_confidence: float = 0.30          # below this, text is junk whatever it says
    min_confidence_short: float = 0.45    # one- or two-word segments need more
    min_speech_fraction: float = 0.10     # share of VAD speech frames under the segment
    filler_speech_fraction: float = 0.5   # a filler line must sit on this much speech ...
    filler_confidence: float = 0.4        # ... and be this confident to count as spoken
    max_compression_ratio: float = 2.4    # Whisper's own loop threshold
    repeat_window_s: float = 30.0
    _recent: list[tuple[str, float]] = field(default_factory=list)

    def clean_text(self, text: str) -> str:
        return strip_annotations(text)

    def judge(self, text: str, confidence: float, speech_fraction: float,
              t0: float = 0.0) -> str | None:
        """The reason to drop this segment, or None to keep it. `text` is already cleaned."""
        norm = normalize(text)
        words = norm.split()
        if not words:
            return "no words (non-speech annotation or blank)"
        if speech_fraction < self.min_speech_fraction:
            return "no speech detected under this text"
        if norm in SILENCE_PHRASES and (speech_fraction < self.filler_speech_fraction
                                        or confidence < self.filler_confidence):
            return "typical Whisper filler on silence"
        if len(text) > 40 and compression_ratio(text) > self.max_compression_ratio:
            return "repetition loop"
        if len(words) >= 8 and _has_loop(words):
            return "repetition loop"
        if confidence < self.min_confidence:
            return f"low confidence ({confidence:.2f})"
        if len(words) <= 2 and confidence < self.min_confidence_short:
            return f"low confidence on a short fragment ({confidence:.2f})"
        if len(words) >= 3 and any(n == norm and t0 - t <= self.repeat_window_s
                                   for n, t in self._recent[-2:]):
            return "repeats the previous line"
        return None

    def remember(self, text: str, t0: float) -> None:
        self._recent.append((normalize(text), t0))
        del self._recent[:-4]
