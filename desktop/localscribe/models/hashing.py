"""Streaming SHA-256 and crash-safe, verified file placement."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import BinaryIO
from collections.abc import Callable

from localscribe.fsutil import fsync_dir as _fsync_dir

from .errors import IntegrityError

CHUNK = 4 << 20
PARTIAL_MARK = ".partial"


def sha256_file(path: Path, progress: Callable[[int], None] | None = None) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
            if progress:
                progress(len(chunk))
    return h.hexdigest()


class HashingWriter:
    """Wraps a binary file: everything written is also hashed and counted."""

    def __init__(self, fh: BinaryIO):
        self.fh = fh
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes, /) -> int:
        self.hash.update(data)
        self.size += len(data)
        return self.fh.write(data)


def partial_path(final: Path) -> Path:
    return final.with_name(f".{final.name}{PARTIAL_MARK}")


def write_verified(final: Path, produce: Callable[[HashingWriter], object],
                   sha256: str, size: int, what: str) -> None:
    """Build ``final`` through a temporary file beside it, and move it into place only if
    its size and SHA-256 match. A crash or a mismatch leaves ``final`` untouched."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(final)
    try:
        with open(tmp, "wb") as fh:
            out = HashingWriter(fh)
            produce(out)
            fh.flush()
            os.fsync(fh.fileno())
        digest = out.hash.hexdigest()
        if out.size != size or digest != sha256:
            raise IntegrityError(
                f"{what} came out as {out.size} bytes, sha256 {digest}; the manifest pins "
                f"{size} bytes, sha256 {sha256}. Nothing was installed.")
        os.replace(tmp, final)
        _fsync_dir(final.parent)
    finally:
        tmp.unlink(missing_ok=True)


