"""Microphone capture through a real audio path: PulseAudio virtual mic -> ALSA -> PortAudio
-> sounddevice -> MicrophoneSource -> spool."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import soundfile as sf

from localscribe.capture.sources import CaptureError, DeviceLost, MicrophoneSource, NoInputDevice
from tests.support import pulse
from tests.support.spool import ListSpool
from tests.support.speech import librivox_clips

pytestmark = pytest.mark.skipif(not pulse.available(), reason="needs Debian pulseaudio + pulseaudio-utils")


@pytest.fixture
def vmic(tmp_path):
    with pulse.virtual_microphone(tmp_path / "pulse") as mic:
        yield mic


def _wait_first_block(mic: MicrophoneSource, timeout: float = 10.0):
    block = mic.read(timeout=timeout)
    assert block is not None, "the virtual microphone delivered nothing"
    return block


def test_no_input_device_is_a_clear_error(tmp_path):
    """No sound server and no sound card: the app must say so, not crash."""
    code = ("from localscribe.capture.sources import MicrophoneSource, NoInputDevice\n"
            "try:\n    MicrophoneSource().start()\n"
            "except NoInputDevice as e:\n    print('NOINPUT', e)\n")
    env = {**os.environ, "PULSE_RUNTIME_PATH": str(tmp_path / "none"),
           "PULSE_SERVER": f"unix:{tmp_path}/none/native"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "NOINPUT no microphone found" in out.stdout


def test_unknown_device_name_lists_the_real_ones(vmic):
    with pytest.raises(NoInputDevice, match="available: .*default"):
        MicrophoneSource(device="no-such-headset")


def test_records_what_is_played_with_levels_pause_and_resume(vmic, tmp_path):
    clip, _ = librivox_clips()[0]
    levels = []
    spool = ListSpool()
    mic = MicrophoneSource(spool=spool, on_level=levels.append).start()
    _wait_first_block(mic)
    player = vmic.play(clip)
    player.wait(timeout=30)
    time.sleep(0.5)
    mic.pause()
    before_pause = mic.captured_seconds
    time.sleep(1.5)
    assert mic.captured_seconds - before_pause < 0.25      # paused audio is not kept
    mic.resume()
    time.sleep(1.0)
    mic.stop()
    blocks = list(mic.blocks())
    assert spool.closed
    got = spool.audio
    assert abs(len(got) / 16000 - mic.captured_seconds) < 1e-6
    assert sum(len(b.samples) for b in blocks) <= len(got)
    # The clip came through: at least half its length is loud in the recording (10 ms frames).
    speech = sf.read(clip, dtype="float32")[0]
    frames = got[: len(got) // 160 * 160].reshape(-1, 160)
    loud = np.sqrt(np.mean(frames ** 2, axis=1)) > 0.01
    assert loud.sum() / 100 > 0.5 * len(speech) / 16000
    assert max(lv.rms_db for lv in levels) > -30 and min(lv.rms_db for lv in levels) < -60
    assert all(0.0 <= lv.fraction <= 1.0 for lv in levels)


def test_device_vanishing_mid_visit_raises_and_keeps_audio(vmic):
    spool = ListSpool()
    mic = MicrophoneSource(spool=spool, stall_timeout_s=1.5).start()
    _wait_first_block(mic)
    threading.Timer(2.0, vmic.kill_server).start()
    with pytest.raises(DeviceLost, match="stopped delivering audio.*captured and kept") as err:
        for _ in mic.blocks():
            pass
    mic.stop()
    assert spool.closed
    assert err.value.captured_seconds >= 1.5
    assert abs(len(spool.audio) / 16000 - err.value.captured_seconds) < 0.2
    assert isinstance(err.value, CaptureError)


def test_microphone_writes_into_the_vaults_encrypted_spool(vmic, tmp_path):
    from localscribe.config import resolve_paths
    from localscribe.domain import Patient
    from localscribe.vault import TEST_PARAMS, Vault

    paths = resolve_paths(tmp_path / "data", tmp_path / "models")
    vault = Vault.create(paths, "admin", "admin passphrase 1", kdf_params=TEST_PARAMS)
    session = vault.unlock("admin", "admin passphrase 1")
    session.add_user("doc", "clinician", "clinician pass 1")
    session = vault.unlock("doc", "clinician pass 1")
    eid = session.create_encounter(Patient(name="Test Patient", mrn="T-1"), "soap")
    clip, _ = librivox_clips()[1]
    mic = MicrophoneSource(spool=session.open_audio_spool(eid)).start()
    kept = [_wait_first_block(mic).samples]
    player = vmic.play(clip)
    player.wait(timeout=30)
    time.sleep(0.5)
    mic.stop()
    kept += [b.samples for b in mic.blocks()]
    captured = np.concatenate(kept)
    stored = session.read_audio(eid)
    assert len(stored) == len(captured) == round(mic.captured_seconds * 16000)
    assert np.allclose(stored, captured, atol=1e-4)
    assert np.sqrt(np.mean(stored ** 2)) > 0.01
    raw = b"".join(p.read_bytes() for p in paths.audio_dir.rglob("*") if p.is_file())
    loudest = int(np.argmax(np.abs(captured)))
    probe = captured[max(0, loudest - 512): loudest + 512].tobytes()
    assert raw and probe not in raw          # the speech is not on disk in clear
