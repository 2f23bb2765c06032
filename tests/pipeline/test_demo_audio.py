"""The bundled sample visit (`localscribe demo`, the README's screenshots): the audio is heard
well, and script.txt, reference.txt and visit.ogg describe the same visit.

The audio is made by assets/sample_visit/make_sample.sh (MBROLA voices through espeak-ng)."""

from __future__ import annotations

import re
import tomllib

import numpy as np
import pytest
import soundfile as sf

from localscribe.config import resolve_paths
from localscribe.draft.transcript_text import parse_transcript_text
from localscribe.models import ModelError, resolve_model
from localscribe.resources import asset
from localscribe.transcribe.files import transcribe_file
from tests.support.speech import normalize, wer

SAMPLE = asset("sample_visit", "visit.ogg")
SCRIPT = asset("sample_visit", "script.txt")
REFERENCE_NOTE = asset("sample_visit", "reference.txt")

# Measured on the committed visit.ogg (160 script words) with the app's own path (whisper.cpp,
# VAD windows at pauses, hallucination filter) and the normaliser of tests/support/speech.py:
#   tiny.en q8_0 (profile tiny):     WER 3.7%  ("three" -> "3", "eat or drink" -> "eat hard drink",
#                                    "it is red" -> "there is red")
#   base q8_0 (profile standard):    WER 2.5%  ("400 milligrams three" -> "400 mg 3", ...)
# The script was reworded for the standard model where it misheard the doctor's voice ("does it
# hurt when you swallow" -> "when you slow", "your lungs sound clear" -> "the long sand clear",
# which then reached the demo's note word for word).
# Reproduce: `localscribe transcribe assets/sample_visit/visit.ogg --json --profile standard`
# (or tiny), then tests.support.speech.wer(script turns joined by spaces, segment texts joined).
# The bound leaves room for thread-count and whisper.cpp build differences (about 8 words),
# not for a recording that loses a turn: a lost turn costs 4-14 words and a listed fact.
TINY_WER_BOUND = 0.06


def _script_text() -> str:
    return " ".join(s.text for s in parse_transcript_text(SCRIPT.read_text()).segments)


@pytest.fixture(scope="module")
def tiny_asr():
    try:
        return resolve_model("asr", "tiny", resolve_paths())
    except ModelError as exc:
        pytest.fail(f"the tiny speech model must be installed for this test: {exc}")


def test_the_tiny_model_hears_the_demo_visit_as_scripted(tiny_asr):
    result = transcribe_file(SAMPLE, tiny_asr)
    heard = " ".join(s.text for s in result.transcript.segments)
    error = wer(_script_text(), heard)
    assert error <= TINY_WER_BOUND, f"WER {error:.1%} > {TINY_WER_BOUND:.0%}; heard: {heard}"
    # The facts the note is built on must come through word for word, whatever else slips.
    # Whisper writes a small number either way ("three days", "3 days"): both are heard right.
    for fact in (("sore for three days", "sore for 3 days"), "38 5 degrees", "do not have a headache",
                 "ibuprofen 400 milligrams", "no allergies", "tonsils are swollen",
                 "viral throat infection", "ibuprofen with food", ("one week", "1 week")):
        spellings = fact if isinstance(fact, tuple) else (fact,)
        assert any(f in normalize(heard) for f in spellings), f"{fact!r} not heard; heard: {heard}"


def speech_runs(samples: np.ndarray, rate: int, *, min_gap: float = 0.8,
                frame: float = 0.02) -> list[tuple[float, float]]:
    """(start, end) of each stretch of speech separated by at least ``min_gap`` s of silence.
    The synthesised audio is clean, so a fixed level 40 dB under the peak tells them apart."""
    n = int(rate * frame)
    frames = samples[: len(samples) // n * n].reshape(-1, n)
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    voiced = rms > rms.max() * 10 ** (-40 / 20)
    runs: list[list[float]] = []
    for i, v in enumerate(voiced):
        if not v:
            continue
        t = i * frame
        if runs and t - runs[-1][1] < min_gap:
            runs[-1][1] = t + frame
        else:
            runs.append([t, t + frame])
    return [(a, b) for a, b in runs]


def test_the_audio_holds_the_scripts_turns_at_a_natural_pace():
    turns = parse_transcript_text(SCRIPT.read_text()).segments
    assert {t.speaker for t in turns} == {"clinician", "patient"}
    samples, rate = sf.read(str(SAMPLE), dtype="float32")
    assert rate == 16000 and samples.ndim == 1, "the demo is 16 kHz mono"
    duration = len(samples) / rate
    # Long enough for the pipeline tests that cut or kill mid-visit (they need > 60 s),
    # short enough for a first look.
    assert 60 < duration < 90, duration
    # One stretch of speech per scripted turn: an edit of script.txt without rerunning
    # make_sample.sh changes the count.
    runs = speech_runs(samples, rate)
    assert len(runs) == len(turns), (len(runs), len(turns))
    # Each stretch is as long as its turn's text at a speaking pace (6-24 letters a second;
    # measured 8-18), so a turn was not swapped for another of a different length.
    for (t0, t1), turn in zip(runs, turns):
        letters = len(normalize(turn.text).replace(" ", ""))
        assert 6 <= letters / (t1 - t0) <= 24, (turn.text, round(t1 - t0, 2))


def test_each_turn_says_one_or_two_things():
    """Short turns let the drafted note keep one fact per statement with exact evidence."""
    for turn in parse_transcript_text(SCRIPT.read_text()).segments:
        sentences = [s for s in re.split(r"(?<=[.?!])\s+", turn.text) if s]
        assert len(sentences) <= 3 and len(turn.text.split()) <= 16, turn.text


def test_the_reference_note_states_only_what_the_script_says():
    script = normalize(_script_text())
    note = REFERENCE_NOTE.read_text()
    soap = tomllib.loads(asset("templates", "soap.toml").read_text())
    headings = [s["title"] for s in soap["sections"]]
    assert [line for line in note.splitlines() if line.isupper()] == headings
    body = [line for line in note.splitlines() if line.strip() and not line.isupper()]
    for number in re.findall(r"\d+(?:\.\d+)?", note):
        assert f" {normalize(number)} " in f" {script} ", f"reference note number {number} is not in the script"
    drugs = {name.strip().lower() for line in asset("lexicon", "drugs.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#") for name in line.split("=")}
    for line in body:
        for word in normalize(line).split():
            if word in drugs:
                assert word in script.split(), f"reference note drug {word} is not in the script"
