from __future__ import annotations

import json

import pytest
from localscribe.draft.transcript_text import (
    TranscriptFormatError,
    parse_transcript_text,
)


def test_turns_keep_speakers_in_order():
    t = parse_transcript_text("[doctor] hi , how are you ?\n\n[patient] not great .\nplain line\n")
    assert [(s.speaker, s.text) for s in t.segments] == [
        ("clinician", "hi , how are you ?"), ("patient", "not great ."), ("unknown", "plain line")]
    assert len({s.id for s in t.segments}) == 3
    assert all(a.t1 <= b.t0 for a, b in zip(t.segments, t.segments[1:]))


def test_json_from_transcribe():
    data = {"language": "en", "segments": [{"id": "x1", "t0": 0, "t1": 2.5, "text": "hello", "speaker": "patient"}]}
    t = parse_transcript_text(json.dumps(data))
    assert t.segments[0].id == "x1" and t.segments[0].t1 == 2.5


@pytest.mark.parametrize("text, words", [("", "empty"), ("  \n\n", "empty"), ("{not json", "not valid"),
                                         ('{"x": 1}', "segments")])
def test_bad_input_is_explained(text, words):
    with pytest.raises(TranscriptFormatError, match=words):
        parse_transcript_text(text)
