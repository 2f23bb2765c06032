"""Construct whisper.cpp / llama.cpp models from a verified ModelFile, and nothing else.

pywhispercpp downloads when given a bare name and segfaults later when given a missing
path; llama-cpp-python can pull from a hub. Both are only ever handed an absolute path
that has just passed its hash check (served from the verify cache when unchanged).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ModelError
from .resolve import ModelFile
from .verify import verify_file

if TYPE_CHECKING:   # the engines load only inside their worker processes, on demand
    from llama_cpp import Llama
    from pywhispercpp.model import Model


def default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _checked_path(model_file: ModelFile, role: str) -> str:
    if not isinstance(model_file, ModelFile):
        raise TypeError("pass a ModelFile from localscribe.models.resolve_model, not a name or path")
    if model_file.role != role:
        raise ModelError(f"{model_file.name} is an {model_file.role} model, not {role}")
    path = Path(model_file.path)
    if not path.is_absolute():
        raise ModelError(f"model path {path} is not absolute")
    # The file may have changed since it was resolved; the cached check costs one stat().
    verify_file(path, model_file.sha256, model_file.models_dir or path.parent)
    return str(path)


def load_whisper(model_file: ModelFile, n_threads: int | None = None, **params: Any) -> Model:
    """A ``pywhispercpp.model.Model`` with whisper.cpp's logs and progress prints silenced."""
    path = _checked_path(model_file, "asr")
    from pywhispercpp.model import Model

    params.setdefault("print_progress", False)
    params.setdefault("print_realtime", False)
    params.setdefault("redirect_whispercpp_logs_to", None)
    return Model(path, n_threads=n_threads or default_threads(), **params)


def load_llama(model_file: ModelFile, n_ctx: int = 4096, n_threads: int | None = None,
               **kw: Any) -> Llama:
    """A ``llama_cpp.Llama`` loaded from the verified GGUF file."""
    path = _checked_path(model_file, "llm")
    from llama_cpp import Llama

    kw.setdefault("verbose", False)
    return Llama(model_path=path, n_ctx=n_ctx, n_threads=n_threads or default_threads(), **kw)
