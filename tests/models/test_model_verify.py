"""`models verify` and resolve_model against missing, tampered and user-supplied files."""

from __future__ import annotations

import json
import os
import re

import pytest

from models_cli import run_models_cli
from localscribe.models import ModelError, ModelFile, resolve_model, select_models
from localscribe.models.loaders import load_whisper
from localscribe.models.manifest import load_manifest

TINY_ASR = load_manifest().profile_model("asr", "tiny")
TINY_LLM = load_manifest().profile_model("llm", "tiny")


def _flip_byte(path, offset=None, keep_mtime=False):
    st = os.stat(path)
    offset = st.st_size // 2 if offset is None else offset
    with open(path, "r+b") as fh:
        fh.seek(offset)
        b = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([b[0] ^ 0x01]))
    if keep_mtime:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_verify_all_ok(tiny_copy, capsys):
    assert run_models_cli("models", "verify", "--json", "--models-dir", str(tiny_copy.models_dir)) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True


@pytest.mark.parametrize("keep_mtime", [False, True], ids=["mtime-changed", "mtime-restored"])
def test_verify_catches_single_flipped_byte(tiny_copy, capsys, keep_mtime):
    target = tiny_copy.models_dir / TINY_LLM.file
    # Warm the verify cache first, so a restored mtime would fool a cache-only check.
    resolve_model("llm", "tiny", tiny_copy)
    _flip_byte(target, keep_mtime=keep_mtime)
    code = run_models_cli("models", "verify", "--models-dir", str(tiny_copy.models_dir))
    captured = capsys.readouterr()
    assert code == 1
    assert f"FAILED: {target}" in captured.err
    assert f"{TINY_ASR.id} " in captured.out and " ok " in captured.out


def test_resolve_refuses_missing_file(tiny_copy):
    (tiny_copy.models_dir / TINY_ASR.file).unlink()
    with pytest.raises(ModelError, match=rf"{re.escape(TINY_ASR.file)} is missing.*models install --profile tiny"):
        resolve_model("asr", "tiny", tiny_copy)


def test_resolve_refuses_tampered_file(tiny_copy):
    resolve_model("asr", "tiny", tiny_copy)  # cached as good
    _flip_byte(tiny_copy.models_dir / TINY_ASR.file, offset=1000)
    with pytest.raises(ModelError, match=rf"refusing to load .*{re.escape(TINY_ASR.file)}.*models verify"):
        resolve_model("asr", "tiny", tiny_copy)


def test_resolve_standard_when_not_installed_names_the_command(tiny_copy):
    with pytest.raises(ModelError, match="models install --profile standard"):
        select_models("standard", tiny_copy)


def test_select_models_returns_verified_absolute_paths(tiny_copy):
    asr, llm = select_models("tiny", tiny_copy)
    assert asr.role == "asr" and llm.role == "llm"
    assert asr.path.is_absolute() and asr.path.parent == tiny_copy.models_dir
    assert not asr.user_supplied


def test_loader_rechecks_file_changed_after_resolve(tiny_copy):
    asr = resolve_model("asr", "tiny", tiny_copy)
    _flip_byte(asr.path, offset=5000)
    with pytest.raises(ModelError, match="damaged or has been modified"):
        load_whisper(asr)


def test_loader_refuses_a_bare_name():
    with pytest.raises(TypeError):
        load_whisper("tiny.en")  # would make pywhispercpp download


def test_add_rejects_non_model_file(tiny_copy, tmp_path, capsys):
    junk = tmp_path / "notes.txt"
    junk.write_text("not a model")
    code = run_models_cli("models", "add", str(junk), "--role", "llm", "--models-dir", str(tiny_copy.models_dir))
    assert code == 1
    assert "is not a GGUF file" in capsys.readouterr().err
    # an ASR file offered as an LLM is refused too
    asr = tiny_copy.models_dir / TINY_ASR.file
    assert run_models_cli("models", "add", str(asr), "--role", "llm", "--models-dir",
                          str(tiny_copy.models_dir)) == 1


def test_user_supplied_model_is_recorded_used_and_checked(tiny_copy, tmp_path, capsys):
    own = tmp_path / "my-whisper.bin"
    own.write_bytes((tiny_copy.models_dir / TINY_ASR.file).read_bytes())
    md = str(tiny_copy.models_dir)
    assert run_models_cli("models", "add", str(own), "--role", "asr", "--name", "mine",
                          "--use", "--profile", "tiny", "--models-dir", md) == 0
    chosen = resolve_model("asr", "tiny", tiny_copy)
    assert chosen.user_supplied and chosen.name == "mine" and chosen.path == own.resolve()
    capsys.readouterr()
    assert run_models_cli("models", "list", "--json", "--models-dir", md) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["mine"]["user_supplied"] is True and rows["mine"]["state"] == "ok"
    _flip_byte(own)
    with pytest.raises(ModelError, match="refusing to load user-supplied mine"):
        resolve_model("asr", "tiny", tiny_copy)
    assert run_models_cli("models", "verify", "--models-dir", md) == 1
    assert run_models_cli("models", "use", "--clear", "--role", "asr", "--profile", "tiny",
                          "--models-dir", md) == 0
    assert resolve_model("asr", "tiny", tiny_copy).name == TINY_ASR.id


def test_model_file_for_wrong_role_is_refused(tiny_copy):
    llm = resolve_model("llm", "tiny", tiny_copy)
    with pytest.raises(ModelError, match="not asr"):
        load_whisper(ModelFile(llm.path, llm.sha256, llm.name, "llm", False))
