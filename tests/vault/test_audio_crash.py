"""kill -9 mid-visit: everything up to about one second before the kill is readable after."""

import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from vault_helpers import PASSES, unlock
from session_child import known_audio

HERE = Path(__file__).parent
RATE = 16000


def _record_then_kill(vault, seconds: float) -> tuple[str, int]:
    child = subprocess.Popen([sys.executable, str(HERE / "session_child.py"),
                              str(vault.paths.data_dir), "doc", PASSES["doc"], "record"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=HERE)
    eid = child.stdout.readline().split()[1]
    given, deadline = 0, None
    for line in child.stdout:
        given = int(line.split()[1])
        if deadline is None:
            deadline = time.monotonic() + seconds
        if time.monotonic() >= deadline:
            child.kill()       # SIGKILL: no flush, no close, no atexit
            break
    child.wait(timeout=30)
    assert child.returncode == -9, child.stderr.read()
    return eid, given


def test_sigkill_loses_at_most_about_one_second(vault):
    rng = random.Random()
    for seconds in (rng.uniform(1.2, 2.4), rng.uniform(2.4, 3.6)):
        eid, given = _record_then_kill(vault, seconds)
        s = unlock(vault, "doc")
        audio = s.read_audio(eid)
        # at most 1 s buffered, plus the one 100 ms block that may have been in flight
        assert audio.size >= given - RATE - 1600, (audio.size, given)
        assert audio.size <= given
        assert audio.size > 0
        assert np.abs(audio - known_audio(0, audio.size)).max() < 1e-4
        # recording can resume after the crash, continuing at the right offset
        with s.open_audio_spool(eid) as spool:
            assert spool.samples_written == audio.size
            spool.write(known_audio(audio.size, 8000))
        again = s.read_audio(eid)
        assert again.size == audio.size + 8000
        assert np.abs(again - known_audio(0, again.size)).max() < 1e-4
        s.lock()


def test_chunk_renamed_or_removed_is_detected(vault):
    import pytest
    from localscribe.domain import Patient
    from localscribe.vault import TamperError
    s = unlock(vault, "doc")
    eid = s.create_encounter(Patient("A", "1", ""), "soap")
    with s.open_audio_spool(eid, max_buffer_s=0.5) as spool:
        spool.write(known_audio(0, 40000))
    chunks = sorted((vault.paths.audio_dir / eid).iterdir())
    assert len(chunks) == 5
    # swap two chunks' contents: each fails to open in the other's place
    a, b = chunks[1].read_bytes(), chunks[2].read_bytes()
    chunks[1].write_bytes(b)
    chunks[2].write_bytes(a)
    with pytest.raises(TamperError, match="chunk:1:8000"):
        s.read_audio(eid)
    chunks[1].write_bytes(a)
    chunks[2].write_bytes(b)
    chunks[3].unlink()
    with pytest.raises(TamperError, match="chunk 3 .* missing"):
        s.read_audio(eid)
