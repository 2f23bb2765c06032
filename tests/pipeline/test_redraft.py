"""Drafting again from the stored transcript: another template, or one section only."""

from localscribe.draft.transcript_text import parse_transcript_text
from localscribe.config import resolve_paths
from localscribe.pipeline import events as ev
from localscribe.pipeline import redraft, regenerate_section
from localscribe.resources import asset


def _stored_transcript(session, eid):
    transcript = parse_transcript_text(asset("sample_visit", "script.txt").read_text())
    session.save_transcript(eid, transcript)
    return transcript


def test_switching_template_redrafts_from_the_stored_transcript(tiny_models, clinician_session, encounter):
    transcript = _stored_transcript(clinician_session, encounter)
    seen = []
    paths = resolve_paths()
    draft = redraft(clinician_session, encounter, template="progress_note", profile="tiny",
                    paths=paths, on_event=seen.append)
    assert draft.template == "progress_note"
    assert clinician_session.load_draft(encounter).to_dict() == draft.to_dict()
    ids = {s.id for s in transcript.segments}
    assert draft.statements and all(set(st.evidence) <= ids for st in draft.statements)
    assert any(isinstance(e, ev.DraftReady) for e in seen)
    assert any(isinstance(e, ev.DraftToken) for e in seen)
    generations = [e for e in clinician_session.auditor().audit_events() if e.action == "generate"]
    assert generations and generations[-1].details["model_sha256"] == tiny_models[1].sha256

    # One section again: the others stay exactly as they were.
    before = clinician_session.load_draft(encounter)
    key = before.sections[0].key
    after = regenerate_section(clinician_session, encounter, key, profile="tiny", paths=paths)
    assert [s.key for s in after.sections] == [s.key for s in before.sections]
    for old, new in zip(before.sections[1:], after.sections[1:]):
        assert old.to_dict() == new.to_dict()
    assert len({st.id for st in after.statements}) == len(after.statements)
    assert clinician_session.load_draft(encounter).to_dict() == after.to_dict()
