"""models.loaders.new_llama: the one setting Llama() has no argument for (weight repacking off,
for batch-invariant speculative decoding) reaches llama.cpp, and llama-cpp-python's defaults are
put back for every other load, also when a load fails. The tiny profile's real GGUF file."""

from __future__ import annotations

import llama_cpp.llama_cpp as lc
import pytest

from localscribe.models import resolve_model
from localscribe.models.loaders import load_llama, new_llama


def test_repacking_off_reaches_llama_cpp_and_the_next_load_has_the_defaults_again():
    model = resolve_model("llm", "tiny")
    before = lc.llama_model_default_params
    plain_first = load_llama(model, n_ctx=64, n_threads=1)
    invariant = load_llama(model, n_ctx=64, n_threads=1, repack_weights=False)
    plain_after = load_llama(model, n_ctx=64, n_threads=1)
    try:
        assert plain_first.model_params.use_extra_bufts is True
        assert invariant.model_params.use_extra_bufts is False
        assert plain_after.model_params.use_extra_bufts is True
        assert lc.llama_model_default_params is before
    finally:
        for llm in (plain_first, invariant, plain_after):
            llm.close()


def test_a_failed_load_puts_the_defaults_back(tmp_path):
    before = lc.llama_model_default_params
    with pytest.raises(ValueError, match="does not exist"):
        new_llama(str(tmp_path / "missing.gguf"), n_ctx=64, n_threads=1, repack_weights=False)
    assert lc.llama_model_default_params is before
    assert lc.llama_model_default_params().use_extra_bufts is True
