"""Model files a user brings: checked for the right container, recorded with their own hash."""

from __future__ import annotations

import re
from pathlib import Path

from localscribe.config import Paths

from .errors import ModelError
from .manifest import ROLES
from .store import Registry, UserModel, VerifyCache
from .hashing import sha256_file

_MAGIC = {"asr": (b"lmgg", "a whisper.cpp ggml file"), "llm": (b"GGUF", "a GGUF file")}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def sniff_format(path: Path, role: str) -> str:
    magic, what = _MAGIC[role]
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc.strerror}") from exc
    if head != magic:
        raise ModelError(f"{path} is not {what} (starts with {head!r}); an {role} model must be {what}")
    return "whisper.cpp ggml" if role == "asr" else "GGUF"


def add_user_model(path: str | Path, role: str, paths: Paths, name: str | None = None) -> UserModel:
    if role not in ROLES:
        raise ModelError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise ModelError(f"{path} is not a file")
    fmt = sniff_format(path, role)
    name = name or path.stem
    if not _NAME.match(name):
        raise ModelError(f"model name {name!r} must be letters, digits, '.', '_' or '-'")
    digest = sha256_file(path)
    model = UserModel(name=name, role=role, path=str(path), sha256=digest,
                      size=path.stat().st_size, format=fmt)
    Registry(paths).add_user_model(model)
    VerifyCache(paths.models_dir).store(path, digest)
    return model
