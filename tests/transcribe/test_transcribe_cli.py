"""`localscribe transcribe` on good and bad recordings, run as the user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import soundfile as sf
import soxr

from tests.support.speech import librivox_clips, wer


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "LOCALSCRIBE_PROFILE": "tiny"}
    return subprocess.run([sys.executable, "-m", "localscribe", "transcribe", *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


def _no_traceback(out: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in out.stderr and "Traceback" not in out.stdout, out.stderr


def test_non_audio_file(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("Patient reports chest pain.\n" * 20)
    out = run_cli(str(path))
    assert out.returncode == 2
    assert "not a readable audio file" in out.stderr
    _no_traceback(out)


def test_zero_length_file(tmp_path):
    path = tmp_path / "empty.flac"
    path.touch()
    out = run_cli(str(path))
    assert out.returncode == 2
    assert "empty (0 bytes)" in out.stderr
    _no_traceback(out)


def test_missing_file(tmp_path):
    out = run_cli(str(tmp_path / "nothing.ogg"))
    assert out.returncode == 2 and "no such file" in out.stderr
    _no_traceback(out)


def test_ten_seconds_of_silence_says_no_speech(tmp_path, asr_model):
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(160_000, np.float32), 16_000)
    out = run_cli(str(path))
    assert out.returncode == 3
    assert "no speech found" in out.stderr
    assert out.stdout.strip() == ""
    _no_traceback(out)


def test_48k_stereo_speech_transcribes_correctly(tmp_path, asr_model):
    clips = librivox_clips()[:3]
    parts, refs = [], []
    for path, ref in clips:
        x, rate = sf.read(path, dtype="float32")
        parts += [x, np.zeros(rate, np.float32)]
        refs.append(ref)
    mono = soxr.resample(np.concatenate(parts), 16_000, 48_000)
    stereo = np.stack([mono, 0.8 * mono], axis=1)
    audio = tmp_path / "speech48k.wav"
    sf.write(audio, stereo, 48_000, subtype="PCM_16")
    out = run_cli(str(audio), "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    segs = doc["segments"]
    assert segs and all({"t0", "t1", "text", "speaker", "confidence"} <= set(s) for s in segs)
    assert all(0 <= s["t0"] <= s["t1"] <= doc["duration"] + 0.05 for s in segs)
    assert [s["t0"] for s in segs] == sorted(s["t0"] for s in segs)
    hyp = " ".join(s["text"] for s in segs)
    assert wer(" ".join(refs), hyp) <= 0.15, hyp

    text = run_cli(str(audio))
    assert text.returncode == 0, text.stderr
    lines = text.stdout.strip().splitlines()
    assert len(lines) == len(segs)
    assert lines[0].startswith("[00:0") and "] " in lines[0]
