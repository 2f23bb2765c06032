"""The converted tiny.en transcribes real speech (Debian pocketsphinx-testdata LibriVox clips)."""

from __future__ import annotations

import pytest

from librivox import LIBRIVOX, corpus_wer, load_clips, transcribe_text
from localscribe.models import resolve_model
from localscribe.models.loaders import load_whisper

pytestmark = pytest.mark.skipif(not (LIBRIVOX / "transcription").exists(),
                                reason="Debian package pocketsphinx-testdata is not installed")


def test_tiny_en_wer_on_librivox(tiny_paths, capsys):
    asr = resolve_model("asr", "tiny", tiny_paths)
    model = load_whisper(asr, n_threads=2)
    clips = load_clips()
    hyps = [transcribe_text(model, c.audio) for c in clips]
    wer = corpus_wer([c.reference for c in clips], hyps)
    with capsys.disabled():
        print(f"\n  {asr.title}, converted here: WER on {len(clips)} LibriVox clips: {wer:.4f}")
    assert all(h.strip() for h in hyps)
    assert wer <= 0.12
