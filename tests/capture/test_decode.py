"""Decoding real audio files of any rate, channel count and container to 16 kHz mono."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import soxr

from localscribe.capture.decode import AudioDecodeError, audio_info, decode_file, iter_blocks
from tests.support.speech import librivox_clips


@pytest.fixture(scope="module")
def speech():
    path, _ = librivox_clips()[0]
    data, rate = sf.read(path, dtype="float32")
    assert rate == 16000
    return data


@pytest.mark.parametrize("fmt,subtype,ext", [("WAV", "PCM_16", "wav"), ("FLAC", "PCM_24", "flac"),
                                            ("OGG", "VORBIS", "ogg")])
def test_48k_stereo_in_any_container_comes_back_16k_mono(tmp_path, speech, fmt, subtype, ext):
    up = soxr.resample(speech, 16000, 48000)
    stereo = np.stack([up, 0.5 * up], axis=1)
    path = tmp_path / f"speech.{ext}"
    sf.write(path, stereo, 48000, format=fmt, subtype=subtype)
    info = audio_info(path)
    assert (info.samplerate, info.channels) == (48000, 2)
    out = decode_file(path)
    assert out.dtype == np.float32 and out.ndim == 1
    assert abs(len(out) - len(speech)) < 200
    # Same signal back: mono mix of 1.0 and 0.5 gains is 0.75 of the original.
    n = min(len(out), len(speech))
    corr = np.corrcoef(out[:n], speech[:n])[0, 1]
    assert corr > 0.95


def test_block_decoding_matches_whole_file_and_keeps_channels(tmp_path, speech):
    up = soxr.resample(speech, 16000, 44100)
    path = tmp_path / "s.wav"
    sf.write(path, np.stack([up, -up], axis=1), 44100)
    blocks = list(iter_blocks(path, block_seconds=0.37, keep_channels=True))
    assert all(b.ndim == 2 and b.shape[1] == 2 for b in blocks)
    joined = np.concatenate(blocks)
    whole = decode_file(path, keep_channels=True)
    assert joined.shape == whole.shape
    assert np.max(np.abs(joined[:, 0] + joined[:, 1])) < 2e-4     # channels kept apart (16-bit steps)


@pytest.mark.parametrize("content,message", [(b"", "empty"), (b"not audio at all\n" * 10, "not a readable audio file"),
                                             (b"RIFF\x00\x00\x00\x00WAVEfmt ", "not a readable audio file")])
def test_unusable_files_say_why(tmp_path, content, message):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioDecodeError, match=message):
        decode_file(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(AudioDecodeError, match="no such file"):
        audio_info(tmp_path / "nope.flac")
    with pytest.raises(AudioDecodeError, match="directory"):
        audio_info(tmp_path)


def test_header_only_wav_has_no_samples(tmp_path):
    path = tmp_path / "hollow.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(AudioDecodeError, match="no audio samples|not a readable"):
        decode_file(path)


def test_truncated_wav_is_used_with_a_warning(tmp_path, speech):
    full = tmp_path / "full.wav"
    sf.write(full, speech, 16000, subtype="PCM_16")
    assert audio_info(full).warning is None
    cut = tmp_path / "cut.wav"
    data = full.read_bytes()
    cut.write_bytes(data[: 44 + (len(data) - 44) // 2])     # a copy cut short
    info = audio_info(cut)
    promised, held = len(speech) / 16000, info.duration
    assert held == pytest.approx(promised / 2, abs=0.01)
    assert info.warning == (f"cut.wav is cut short: its header promises {promised:.1f} s of audio "
                            f"but the file holds {held:.1f} s; only that part is used")
    assert len(decode_file(cut)) == info.frames             # what is there is still usable


def test_recording_longer_than_the_cap_is_refused_in_one_line(tmp_path):
    import localscribe.capture.decode as decode

    path = tmp_path / "long.wav"
    seconds = decode.MAX_AUDIO_SECONDS + 1
    # 100 Hz, 8 bit: a real (not header-faked) recording over the cap in 1.4 MB.
    with sf.SoundFile(path, "w", samplerate=100, channels=1, subtype="PCM_U8") as f:
        f.write(np.zeros(seconds * 100, dtype=np.float32))
    with pytest.raises(AudioDecodeError) as err:
        audio_info(path)
    msg = str(err.value)
    assert "\n" not in msg and "hours long" in msg and "split the file" in msg
