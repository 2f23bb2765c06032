"""A real, schema-constrained chat completion from SmolLM2 through llama-cpp-python."""

from __future__ import annotations

import json

import pytest

from localscribe.models import resolve_model
from localscribe.models.loaders import load_llama

llama_cpp = pytest.importorskip(
    "llama_cpp", reason="llama-cpp-python is not installed yet (its wheel is built by the installer)")

SCHEMA = {
    "type": "object",
    "properties": {
        "complaint": {"type": "string"},
        "duration_days": {"type": "integer"},
    },
    "required": ["complaint", "duration_days"],
}


def test_smollm2_json_schema_completion(tiny_paths):
    llm = load_llama(resolve_model("llm", "tiny", tiny_paths), n_ctx=1024, n_threads=2, seed=1)
    out = llm.create_chat_completion(
        messages=[
            {"role": "system", "content": "Extract facts from the visit as JSON."},
            {"role": "user", "content": "Patient reports a sore throat for three days."},
        ],
        response_format={"type": "json_object", "schema": SCHEMA},
        max_tokens=64,
        temperature=0,
    )
    data = json.loads(out["choices"][0]["message"]["content"])
    assert isinstance(data["complaint"], str)
    assert isinstance(data["duration_days"], int)
