"""Whisper's inventions are dropped; real speech, including real "thank you"s, is kept."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from localscribe.capture.vad import FRAME, SAMPLE_RATE, speech_flags
from localscribe.capture.windows import Window
from localscribe.transcribe.engine import WhisperEngine
from localscribe.transcribe.files import NoSpeechError, transcribe_file
from localscribe.transcribe.hallucination import HallucinationFilter, strip_annotations

RNG = np.random.default_rng(11)


@pytest.mark.parametrize("text,conf,speech,reason", [
    ("[BLANK_AUDIO]", 0.9, 1.0, "no words"),
    ("(upbeat music)", 0.9, 1.0, "no words"),
    ("♪ ♪", 0.9, 1.0, "no words"),
    ("Thank you.", 0.9, 0.0, "no speech"),
    ("Thanks for watching!", 0.9, 0.3, "filler"),
    ("Thank you.", 0.2, 0.9, "filler"),
    ("I'm sorry. I'm sorry. I'm sorry. I'm sorry. I'm sorry. I'm sorry. I'm sorry.", 0.8, 1.0, "repetition"),
    ("the the the the the the the the the", 0.8, 1.0, "repetition"),
    ("Purple monkey dishwasher seventeen", 0.12, 1.0, "low confidence"),
    ("Mm-hmm.", 0.4, 1.0, "short fragment"),
])
def test_known_inventions_are_dropped(text, conf, speech, reason):
    f = HallucinationFilter()
    got = f.judge(strip_annotations(text), conf, speech)
    assert got is not None and reason in got


@pytest.mark.parametrize("text,conf", [
    ("Thank you.", 0.8), ("Okay.", 0.7), ("No chest pain.", 0.6),
    ("Take four hundred milligrams three times a day.", 0.55),
])
def test_real_speech_is_kept(text, conf):
    assert HallucinationFilter().judge(text, conf, 0.9) is None


def test_annotations_inside_speech_are_stripped_not_the_words():
    assert strip_annotations("[BLANK_AUDIO] No fever (coughs) since Monday.") == "No fever since Monday."


def test_a_looping_line_is_kept_once():
    f = HallucinationFilter()
    line = "Take the tablets twice a day with food."
    assert f.judge(line, 0.8, 1.0, t0=10.0) is None
    f.remember(line, 10.0)
    assert "repeats" in f.judge(line, 0.8, 1.0, t0=14.0)
    assert f.judge(line, 0.8, 1.0, t0=300.0) is None      # said again much later: real


def _noises():
    n = 20 * SAMPLE_RATE
    white = 0.05 * RNG.standard_normal(n)
    spec = np.fft.rfft(RNG.standard_normal(n))
    f = np.arange(len(spec), dtype=float)
    f[0] = 1
    pink = np.fft.irfft(spec / np.sqrt(f), n)
    pink = 0.2 * pink / np.abs(pink).max()
    clicks = np.zeros(n)
    clicks[RNG.integers(0, n, 40)] = 0.8                   # keyboard-like clicks
    return {"silence": np.zeros(n), "white": white, "pink": pink, "clicks": clicks + 0.001 * RNG.standard_normal(n)}


@pytest.fixture(scope="module", params=[True, False], ids=["app-settings", "non-speech-tokens-allowed"])
def engine(request, asr_model):
    # The app suppresses non-speech tokens; the second engine lets Whisper emit them, as a
    # stand-in for a model or setting that invents more, so the filter has work to do.
    return WhisperEngine(asr_model, 1, suppress_nst=request.param)


@pytest.mark.parametrize("kind", ["silence", "white", "pink", "clicks"])
def test_whisper_straight_on_non_speech_yields_nothing_after_filtering(engine, kind):
    """Bypass the VAD cut and hand Whisper the raw non-speech: whatever it makes up is dropped."""
    audio = _noises()[kind].astype(np.float32)
    window = Window(0, 0.0, audio, speech_flags(audio))
    f = HallucinationFilter()
    raw = engine.transcribe(audio)
    kept = [r.text for r in raw
            if f.judge(strip_annotations(r.text), r.confidence,
                       window.speech_fraction(r.t0, min(r.t1, window.duration))) is None]
    assert kept == [], [r.text for r in raw]


def test_the_filter_has_real_inventions_to_drop(asr_model):
    """With non-speech tokens allowed, Whisper does write something on pure silence."""
    engine = WhisperEngine(asr_model, 1, suppress_nst=False)
    raw = engine.transcribe(np.zeros(20 * SAMPLE_RATE, np.float32))
    assert raw and all(HallucinationFilter().judge(strip_annotations(r.text), r.confidence, 0.0)
                       for r in raw)


def test_file_of_noise_and_silence_has_no_text(tmp_path, asr_model):
    parts = _noises()
    audio = np.concatenate([parts["silence"][: 5 * SAMPLE_RATE], parts["pink"], parts["white"],
                            parts["clicks"]]).astype(np.float32)
    path = tmp_path / "noise.flac"
    sf.write(path, audio, SAMPLE_RATE)
    result = transcribe_file(path, asr_model, require_speech=False)
    assert result.transcript.segments == []
    with pytest.raises(NoSpeechError):
        transcribe_file(path, asr_model)
    assert len(audio) // FRAME > 0
