"""Rebuild a PriMock57 consultation as audio: each transcribed utterance synthesised with
espeak-ng (one voice per speaker) and placed at its real start time.

Data: PriMock57 (github.com/babylonhealth/primock57), Alex Papadopoulos Korfiatis, Francesco
Moramarco, Radmila Sarac, Aleksandar Savkov, "PriMock57: A Dataset Of Primary Care Mock
Consultations", ACL 2022. Licensed CC BY 4.0; audio built here is derived from it and carries
the same licence and attribution.

Usage: python tests/support/rebuild_visit.py day1_consultation01 [--max-seconds 120] [--json]
Generated audio is cached under ~/.cache/localscribe/primock/, keyed by its inputs.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

RATE = 16_000
_VERSION = "1"          # bump when the synthesis recipe changes
DATA_DIR = Path(os.environ.get("LOCALSCRIBE_PRIMOCK_DIR")
                or Path(__file__).resolve().parents[3] / "shared" / "data" / "primock57")
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "localscribe" / "primock"

# espeak-ng voice, pitch, words per minute per speaker.
VOICES = {"doctor": ("en-us", 40, 165), "patient": ("en-gb+f3", 65, 155)}
MAX_WPM = 340

_INTERVAL = re.compile(r'xmin = ([\d.]+)\s*xmax = ([\d.]+)\s*text = "((?:[^"]|"")*)"', re.S)
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Utterance:
    t0: float            # where the synthesised speech starts in the rebuilt audio (s)
    t1: float            # where it ends
    speaker: str         # "doctor" | "patient"
    text: str            # tags removed
    orig_t1: float       # the end time in the original transcript


@dataclass
class RebuiltVisit:
    visit: str
    audio_path: Path
    duration: float
    utterances: list[Utterance] = field(default_factory=list)

    @property
    def reference(self) -> str:
        return " ".join(u.text for u in self.utterances)

    def to_dict(self) -> dict:
        return {"visit": self.visit, "audio_path": str(self.audio_path), "duration": self.duration,
                "reference": self.reference, "utterances": [asdict(u) for u in self.utterances]}


def clean_text(text: str) -> str:
    """Drop transcriber tags: <UNSURE>..</UNSURE> keeps its words, <UNIN/> and
    <INAUDIBLE_SPEECH/> go entirely (see the dataset's transcripts/README.md)."""
    return " ".join(_TAG.sub(" ", text.replace('""', '"')).split())


def read_textgrid(path: Path) -> list[tuple[float, float, str]]:
    out = []
    for a, b, text in _INTERVAL.findall(path.read_text(encoding="utf-8")):
        words = clean_text(text)
        if words and re.search(r"\w", words):
            out.append((float(a), float(b), words))
    return out


def list_visits(data_dir: Path = DATA_DIR) -> list[str]:
    return sorted(p.name.removesuffix("_doctor.TextGrid")
                  for p in (data_dir / "transcripts").glob("*_doctor.TextGrid"))


def _espeak(text: str, voice: str, pitch: int, wpm: int) -> np.ndarray:
    wav = subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(wpm), "--stdout",
                          "--", text], check=True, capture_output=True).stdout
    data, rate = sf.read(io.BytesIO(wav), dtype="float32")
    if data.ndim > 1:
        data = data.mean(axis=1)
    return soxr.resample(data, rate, RATE) if rate != RATE else data


def _synth_fitted(item: tuple[float, float, str, str]) -> tuple[float, float, str, str, np.ndarray]:
    """Synthesise one utterance, speeding the voice up when it would overrun its slot."""
    t0, t1, speaker, text = item
    voice, pitch, wpm = VOICES[speaker]
    audio = _espeak(text, voice, pitch, wpm)
    slot = max(0.3, t1 - t0)
    length = len(audio) / RATE
    if length > slot * 1.1 and wpm < MAX_WPM:
        audio = _espeak(text, voice, pitch, min(MAX_WPM, int(wpm * length / slot) + 1))
    return t0, t1, speaker, text, audio


def _cache_key(visit: str, data_dir: Path, max_seconds: float | None) -> str:
    h = hashlib.sha256(f"{_VERSION}|{VOICES}|{max_seconds}|".encode())
    for speaker in ("doctor", "patient"):
        h.update((data_dir / "transcripts" / f"{visit}_{speaker}.TextGrid").read_bytes())
    h.update(subprocess.run(["espeak-ng", "--version"], capture_output=True).stdout)
    return h.hexdigest()[:16]


def rebuild(visit: str, max_seconds: float | None = None, data_dir: Path = DATA_DIR,
            cache_dir: Path = CACHE_DIR) -> RebuiltVisit:
    """Audio (16 kHz mono FLAC), reference text and per-utterance timings of one visit."""
    key = _cache_key(visit, data_dir, max_seconds)
    audio_path = cache_dir / f"{visit}-{key}.flac"
    meta_path = audio_path.with_suffix(".json")
    if audio_path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        return RebuiltVisit(visit, audio_path, meta["duration"],
                            [Utterance(**u) for u in meta["utterances"]])
    items = [(a, b, speaker, text)
             for speaker in ("doctor", "patient")
             for a, b, text in read_textgrid(data_dir / "transcripts" / f"{visit}_{speaker}.TextGrid")]
    items.sort()
    if max_seconds is not None:
        items = [it for it in items if it[0] < max_seconds]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        synthesised = list(pool.map(_synth_fitted, items))
    utterances: list[Utterance] = []
    end = max((t0 + len(a) / RATE for t0, _, _, _, a in synthesised), default=0.0) + 1.0
    if max_seconds is not None:
        end = min(end, max_seconds)
    mix = np.zeros(int(end * RATE), dtype=np.float32)
    for t0, t1, speaker, text, audio in synthesised:
        start = int(t0 * RATE)
        stop = start + len(audio)
        if stop > len(mix):
            continue                  # cut short by max_seconds: leave it out entirely
        mix[start:stop] += audio
        utterances.append(Utterance(round(t0, 3), round(stop / RATE, 3), speaker, text, round(t1, 3)))
    peak = float(np.max(np.abs(mix))) if mix.size else 0.0
    if peak > 0.99:                   # overlapping turns can sum past full scale
        mix *= 0.99 / peak
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=cache_dir, suffix=".flac", delete=False) as tmp:
        sf.write(tmp.name, mix, RATE, format="FLAC", subtype="PCM_16")
    os.replace(tmp.name, audio_path)
    result = RebuiltVisit(visit, audio_path, len(mix) / RATE, utterances)
    meta = result.to_dict()
    tmp_meta = meta_path.with_suffix(".json.tmp")
    tmp_meta.write_text(json.dumps(meta, indent=1))
    os.replace(tmp_meta, meta_path)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("visit", nargs="?", help="e.g. day1_consultation01 (omit to list visits)")
    ap.add_argument("--max-seconds", type=float, default=None, help="cut the visit short")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not args.visit:
        print("\n".join(list_visits()))
        return 0
    v = rebuild(args.visit, args.max_seconds)
    if args.json:
        json.dump(v.to_dict(), sys.stdout, indent=1)
        print()
    else:
        print(f"{v.audio_path}  ({v.duration:.1f} s, {len(v.utterances)} utterances)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
