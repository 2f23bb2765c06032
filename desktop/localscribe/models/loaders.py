"""Construct whisper.cpp / llama.cpp models from a verified ModelFile, and nothing else.

pywhispercpp downloads when given a bare name and segfaults later when given a missing
path; llama-cpp-python can pull from a hub. Both are only ever handed an absolute path
that has just passed its hash check (served from the verify cache when unchanged).
"""

from __future__ import annotations

import os
import threading
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


def load_llama(model_file: ModelFile, n_ctx: int = 4096, n_threads: int | None = None, *,
               repack_weights: bool = True, **kw: Any) -> Llama:
    """A ``llama_cpp.Llama`` loaded from the verified GGUF file (``repack_weights``: see
    ``new_llama``)."""
    path = _checked_path(model_file, "llm")
    kw.setdefault("verbose", False)
    return new_llama(path, n_ctx=n_ctx, n_threads=n_threads or default_threads(),
                     repack_weights=repack_weights, **kw)


_defaults_lock = threading.Lock()


def new_llama(path: str, *, n_ctx: int, n_threads: int, repack_weights: bool = True,
              **kw: Any) -> Llama:
    """``llama_cpp.Llama(model_path=path, ...)`` with one setting Llama() has no argument for:
    ``repack_weights=False`` loads without llama.cpp's repacked weight layouts
    (``use_extra_bufts``), whose batched kernels round differently from one-token decoding.

    Llama.__init__ (llama-cpp-python 0.3.36) builds its model parameters from
    ``llama_cpp.llama_model_default_params()`` and loads the model at once, so the only way in
    is to swap that function for the length of the load. Every load in this process goes
    through this lock, so no other load ever sees the swapped defaults. Use this, never
    Llama() directly, and load_llama for a ModelFile (hash re-checked)."""
    import llama_cpp.llama_cpp as lc
    from llama_cpp import Llama

    with _defaults_lock:
        default_params = lc.llama_model_default_params
        if not repack_weights:
            def no_repack() -> lc.llama_model_params:
                params: lc.llama_model_params = default_params()   # ctypes_function: untyped
                params.use_extra_bufts = False
                return params
            lc.llama_model_default_params = no_repack
        try:
            return Llama(model_path=path, n_ctx=n_ctx, n_threads=n_threads, **kw)
        finally:
            lc.llama_model_default_params = default_params
