"""Recovery to the last second (issue 12, "Loses work" 2): a visit whose window closed while
the live transcriber was behind is drafted from the whole spool, not from the part that had
been transcribed. Real vault and spool, whisper.cpp and llama.cpp with the tiny models, the
real window (offscreen)."""

from __future__ import annotations

import pytest

from localscribe.domain import Patient, Segment, Transcript
from ui_helpers import PASSPHRASE, require_tiny_models, unlock, wait_until

pytestmark = pytest.mark.usefixtures("qtbot")
SECONDS = 30          # of the sample visit: enough speech after the live transcript stopped
LIVE_UNTIL = 15.0     # where the live transcript stopped


def _visit_cut_short(vault) -> tuple[str, int]:
    """What a window closed mid-visit leaves: the whole recording in the spool, a transcript
    that stops at LIVE_UNTIL, status 'transcribing' and no process holding its lease."""
    from localscribe.capture.decode import decode_file
    from localscribe.resources import asset
    audio = decode_file(asset("sample_visit", "visit.ogg"))[:SECONDS * 16000]
    s = vault.unlock("drjones", PASSPHRASE)
    eid = s.create_encounter(Patient(name="Rosalind Franklin", mrn="RF-1"), "soap")
    spool = s.open_audio_spool(eid)
    for start in range(0, audio.size, 8000):
        spool.write(audio[start:start + 8000])
    spool.close()
    s.save_transcript(eid, Transcript([
        Segment("live-1", 0.0, 7.0, "Hello, what brings you in today?", "clinician"),
        Segment("live-2", 7.5, LIVE_UNTIL, "I have had a sore throat for a few days.", "patient")]))
    s.set_status(eid, "transcribing")
    s.lock()
    return eid, audio.size


@pytest.mark.slow      # the tiny models on the whole recording (minutes on a loaded CPU)
@pytest.mark.timeout(1800)
def test_draft_from_the_saved_recording_transcribes_the_spool_to_its_last_second(
        qtbot, vault, window, paths):
    require_tiny_models(paths)
    eid, samples = _visit_cut_short(vault)
    unlock(window, qtbot, "drjones")          # finds the visit's process gone: interrupted
    window.idle.set_timeout(3600)             # the clinician waits for the draft without touching
    assert window.session.get_encounter(eid).status == "interrupted"
    window.open_encounter(eid)
    enc = window.encounter
    assert enc.error.isVisible() and enc.retry.isVisible()
    # The clinician is told how far the transcript got before anything is drafted.
    assert f"ends at 00:15 of 00:{SECONDS}" in enc.error.text(), enc.error.text()

    enc.retry.click()
    review = enc.review
    wait_until(lambda: review.draft is not None or enc.error.isVisible(), timeout=1_200_000)
    assert not enc.error.isVisible(), enc.error.text()
    s = window.session
    transcript = s.load_transcript(eid)
    assert transcript.segments[-1].t1 >= SECONDS - 4.0, transcript.segments[-1]
    assert not any(seg.id.startswith("live-") for seg in transcript.segments)
    assert review.transcript.count() == len(transcript.segments)     # shown once, not twice
    assert s.read_audio(eid).size == samples                         # nothing re-recorded
    assert s.get_encounter(eid).status == "review" and s.load_draft(eid) is not None
    cited = {e for st in s.load_draft(eid).statements for e in st.evidence}
    assert cited <= {seg.id for seg in transcript.segments}
    auditor = vault.unlock("audrey", PASSPHRASE)
    actions = [e.action for e in auditor.audit_events() if e.object == eid]
    assert "encounter.interrupted" in actions and "visit.recover" in actions


def test_cancelling_drafting_tells_the_clinician_and_the_audit_trail_how_far_it_got(
        qtbot, vault, window):
    eid, _ = _visit_cut_short(vault)
    unlock(window, qtbot, "drjones")
    window.open_encounter(eid)
    enc = window.encounter
    enc.review.begin_draft()
    enc.review.cancel.click()
    assert f"ends at 00:15 of 00:{SECONDS} recorded" in enc.review.status.text()
    assert enc.retry.isVisible()
    auditor = vault.unlock("audrey", PASSPHRASE)
    [short] = [e for e in auditor.audit_events() if e.action == "visit.stopped_short"]
    assert short.object == eid and short.details["reason"] == "cancelled"
    assert short.details["recorded_s"] == float(SECONDS) and short.details["transcribed_s"] == LIVE_UNTIL
