"""After a real session, no known phrase is anywhere on disk in clear: not in the database,
its WAL or shared-memory file, the audio chunk folder, the temp dir, or the process output."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from vault_helpers import PASSES
from session_child import PHRASES, known_audio

HERE = Path(__file__).parent


def _needles() -> dict[str, bytes]:
    out = {}
    for key, phrase in PHRASES.items():
        out[f"{key}/utf8"] = phrase.encode("utf-8")
        out[f"{key}/utf16"] = phrase.encode("utf-16-le")
        out[f"{key}/json"] = phrase.encode("unicode_escape")
    pcm = (known_audio(8000, 32) * 32767.0).round().astype("<i2").tobytes()
    out["audio/pcm16"] = pcm
    out["audio/f32"] = known_audio(8000, 16).tobytes()
    return out


def _scan(roots: list[Path]) -> list[str]:
    hits, needles = [], _needles()
    for root in roots:
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        for f in files:
            try:
                data = f.read_bytes()
            except FileNotFoundError:
                continue
            hits += [f"{name} in {f}" for name, needle in needles.items() if needle in data]
    return hits


def test_no_phrase_in_db_wal_shm_audio_or_temp(vault, tmp_path):
    data = vault.paths.data_dir
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {**os.environ, "TMPDIR": str(tmpdir), "SQLITE_TMPDIR": str(tmpdir)}
    child = subprocess.Popen([sys.executable, str(HERE / "session_child.py"), str(data), "doc",
                              PASSES["doc"], "store"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                             cwd=HERE)
    line = child.stdout.readline()
    assert line.startswith("ready"), child.stderr.read()
    _, eid, eid2 = line.split()
    wal = Path(str(vault.paths.vault_db) + "-wal")
    shm = Path(str(vault.paths.vault_db) + "-shm")
    assert wal.exists() and wal.stat().st_size > 0 and shm.exists()
    audio_dir = vault.paths.audio_dir / eid2
    assert len(list(audio_dir.iterdir())) >= 2, "the unsigned encounter's audio should be on disk"
    live = _scan([vault.paths.vault_db, wal, shm, vault.paths.audio_dir, tmpdir])
    out, err = child.communicate("\n", timeout=60)
    assert child.returncode == 0, err
    after = _scan([data, tmpdir])
    control = tmp_path / "control.bin"   # the scan itself must be able to find a phrase
    control.write_bytes(b"xx" + PHRASES["note"].encode() + (known_audio(8000, 32) * 32767.0
                        ).round().astype("<i2").tobytes())
    assert len(_scan([control])) == 3
    assert not live, live
    assert not after, after
    assert not [p for p in PHRASES.values() if p in out or p in err]
    # sanity: the data really is there for someone with the key
    from vault_helpers import unlock
    s = unlock(vault, "doc")
    assert s.load_transcript(eid2).segments[0].text == PHRASES["transcript"]
    assert s.get_encounter(eid).patient.name == PHRASES["name"]
    assert PHRASES["amend"] in s.signed_note(eid).text
    audio = s.read_audio(eid2)
    assert np.abs(audio - known_audio(0, 32000)).max() < 1e-4
