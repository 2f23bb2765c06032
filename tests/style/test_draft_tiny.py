"""A draft with a learned style runs end to end on the tiny profile's real llama.cpp model:
the skipped section is not drafted (and asks for nothing), the phrase swaps are in the text
the verifier checked, and the draft names its style in its prompt hash."""

from __future__ import annotations

import re

import pytest

from localscribe.draft import sections as SX
from localscribe.draft.incremental import draft_transcript
from localscribe.draft.templates import load_template
from localscribe.style.profile import SectionStyle, StyleProfile
from localscribe.verify import verify_draft

from tests.instructions.conftest import make_transcript

PROFILE = StyleProfile(notes=5, sections=(SectionStyle("objective", skip=True),
                                          SectionStyle("subjective", words=40.0)),
                       swaps=(("patient", "pt"), ("milligrams", "mg")))


@pytest.fixture(scope="module")
def engine():
    from localscribe.draft.engine import LlamaEngine
    from localscribe.models import resolve_model
    try:
        model = resolve_model("llm", "tiny")
    except Exception as exc:  # noqa: BLE001 - the message says what is missing
        pytest.fail(f"the tiny models must be installed for this test: {exc}")
    return LlamaEngine(model, n_ctx=2048, n_threads=1)


def test_a_styled_draft_end_to_end(engine):
    template = load_template("soap")
    transcript = make_transcript()
    draft, stats = draft_transcript(engine, transcript, template, max_tokens=160, style=PROFILE)
    verify_draft(draft, transcript)
    by = {s.key: s for s in draft.sections}
    assert stats.style_skipped == ["objective"]
    assert by["objective"].statements == [] and by["objective"].notice == ""
    assert draft.statements, "the other sections were drafted"
    text = " ".join(st.text for st in draft.statements)
    assert not re.search(r"\b(patient|milligrams)\b", text, re.IGNORECASE), text
    assert draft.prompt_sha256 != SX.prompt_sha256(template, "sections")
