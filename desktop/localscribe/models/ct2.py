"""Read a CTranslate2 ``model.bin`` into numpy arrays, refusing anything truncated or malformed.

The layout (little-endian; CTranslate2 writes it in ``specs/model_spec.py``), which
``read_ct2`` checks field by field:

* u32 format version (5 or 6); string spec name (``WhisperSpec``); u32 spec revision;
  u32 variable count. A string is a u16 length counting its NUL, the UTF-8 bytes, a NUL.
* each variable: string name; u8 rank; rank x u32 dims; u8 dtype (0 f32, 1 i8, 2 i16,
  3 i32, 4 f16, 5 bf16); u32 byte count; the raw data. Scalars (``encoder/num_heads``) are
  variables too.
* u32 alias count, then (alias, target) string pairs, e.g.
  ``decoder/projection/weight -> decoder/embeddings/weight``.

Arrays are views on a memory map, so reading a 150 MB file costs no copy until a tensor is
converted.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ConversionError

_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
_BFLOAT16 = 5


@dataclass
class CT2Model:
    spec: str
    version: int
    revision: int
    variables: dict[str, np.ndarray]

    def get(self, name: str) -> np.ndarray:
        try:
            return self.variables[name]
        except KeyError:
            raise ConversionError(f"CTranslate2 model has no variable {name!r}") from None

    def scalar(self, name: str) -> int:
        return int(self.get(name).reshape(-1)[0])


class _Reader:
    def __init__(self, buf: mmap.mmap, path: Path):
        self.buf = buf
        self.pos = 0
        self.path = path

    def take(self, n: int, what: str) -> memoryview:
        end = self.pos + n
        if n < 0 or end > len(self.buf):
            raise ConversionError(
                f"{self.path} is truncated or corrupt: reading {what} needs {n} bytes at offset "
                f"{self.pos}, but the file is {len(self.buf)} bytes")
        view = memoryview(self.buf)[self.pos:end]
        self.pos = end
        return view

    def unpack(self, fmt: str, what: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))

    def string(self, what: str) -> str:
        (n,) = self.unpack("H", what)
        raw = bytes(self.take(n, what))
        if n == 0 or raw[-1] != 0:
            raise ConversionError(f"{self.path} is corrupt: {what} is not a NUL-terminated string")
        try:
            return raw[:-1].decode("utf-8")
        except UnicodeDecodeError:
            raise ConversionError(f"{self.path} is corrupt: {what} is not UTF-8") from None


def read_ct2(path: str | Path) -> CT2Model:
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            if path.stat().st_size == 0:
                raise ConversionError(f"{path} is empty")
            buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise ConversionError(f"cannot open CTranslate2 model {path}: {exc.strerror}") from exc
    r = _Reader(buf, path)
    (version,) = r.unpack("I", "format version")
    if version not in (5, 6):
        raise ConversionError(f"{path}: unsupported CTranslate2 format version {version} (expected 6)")
    spec = r.string("spec name")
    (revision,) = r.unpack("I", "spec revision")
    (count,) = r.unpack("I", "variable count")
    variables: dict[str, np.ndarray] = {}
    for i in range(count):
        name = r.string(f"name of variable {i}")
        (rank,) = r.unpack("B", f"rank of {name}")
        dims = r.unpack(f"{rank}I", f"dims of {name}") if rank else ()
        (dtype_id,) = r.unpack("B", f"dtype of {name}")
        (nbytes,) = r.unpack("I", f"byte count of {name}")
        if dtype_id == _BFLOAT16:
            raise ConversionError(f"{path}: variable {name} is bfloat16, which this converter does not read")
        dtype = _DTYPES.get(dtype_id)
        if dtype is None:
            raise ConversionError(f"{path} is corrupt: variable {name} has unknown dtype {dtype_id}")
        expected = int(np.prod(dims, dtype=np.int64)) * np.dtype(dtype).itemsize
        if expected != nbytes:
            raise ConversionError(
                f"{path} is corrupt: variable {name} declares {nbytes} bytes for shape {dims}")
        raw = r.take(nbytes, f"data of {name}")
        variables[name] = np.frombuffer(raw, dtype=dtype).reshape(dims)
    (n_alias,) = r.unpack("I", "alias count")
    for _ in range(n_alias):
        alias = r.string("alias name")
        target = r.string("alias target")
        if target not in variables:
            raise ConversionError(f"{path} is corrupt: alias {alias} points at missing {target}")
        variables[alias] = variables[target]
    if r.pos != len(buf):
        raise ConversionError(
            f"{path} is corrupt: {len(buf) - r.pos} unexpected bytes after the last alias")
    return CT2Model(spec=spec, version=version, revision=revision, variables=variables)
