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


def test_hostile_json_gets_a_clear_error_not_a_recursion_error():
    from localscribe.draft.transcript_text import MAX_JSON_DEPTH
    deep = '{"segments": ' + "[" * 200_000 + "]" * 200_000 + "}"
    with pytest.raises(TranscriptFormatError, match=f"nested more than {MAX_JSON_DEPTH} levels"):
        parse_transcript_text(deep)
    # Brackets inside strings are text, not nesting.
    ok = '{"segments": [{"id": "a", "t0": 0, "t1": 1, "text": "[[[[{{{{ \\" ]]"}]}'
    assert parse_transcript_text(ok).segments[0].text == '[[[[{{{{ " ]]'
    with pytest.raises(TranscriptFormatError, match="'segments' list"):
        parse_transcript_text('{"x": 1}')


def test_oversized_transcript_is_refused_quickly():
    import time

    from localscribe.draft.transcript_text import MAX_TRANSCRIPT_BYTES
    huge = "[doctor] how are you\n" * (MAX_TRANSCRIPT_BYTES // 20 + 1)
    started = time.monotonic()
    with pytest.raises(TranscriptFormatError, match=r"MB; the limit is 4 MB"):
        parse_transcript_text(huge)
    assert time.monotonic() - started < 2
