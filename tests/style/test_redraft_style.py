"""The app's own path: after three signings that delete the CHIEF COMPLAINT, the clinician's
next draft (``pipeline.redraft``: the draft worker in its own process, the tiny profile's real
model, the practice's two-section template to keep it short) leaves that section out without
asking to confirm it, and the draft names its style."""

from __future__ import annotations

from localscribe.config import Paths, resolve_paths
from localscribe.domain import Draft, Patient, Section, Statement
from localscribe.draft import sections as SX
from localscribe.draft.templates import load_template
from localscribe.pipeline import redraft
from localscribe.style import store

from tests.instructions.conftest import make_transcript
from tests.style.style_helpers import transcript
from tests.support.cli_vault import vdir  # noqa: F401 (fixture)


def _sign_without_cc(s, template: str) -> None:
    eid = s.create_encounter(Patient(name="Ada Quillfeather", mrn="MRN-5150"), template)
    s.save_transcript(eid, transcript(60))
    s.save_draft(eid, Draft(template, [
        Section("cc", "CHIEF COMPLAINT", [Statement("c1", "Cough.", ["s1"])]),
        Section("plan", "PLAN", [Statement("p1", "Rest and fluids.", ["s1"])])]))
    s.save_note_version(eid, "PLAN\n\nRest and fluids.\n")
    s.sign(eid)


def test_the_next_draft_follows_the_learned_style(vdir):
    admin = vdir.session("admin")
    admin.set_setting("session.idle_timeout_s", 3600)   # a loaded machine drafts slowly
    admin.lock()
    template = str(vdir.template)
    s = vdir.session("doc")
    for _ in range(3):
        _sign_without_cc(s, template)
    assert store.profile(s).section("cc").skip
    eid = s.create_encounter(Patient(name="Ada Quillfeather", mrn="MRN-5150"), template)
    s.save_transcript(eid, make_transcript())
    paths = Paths(data_dir=vdir.paths.data_dir, models_dir=resolve_paths().models_dir)
    draft = redraft(s, eid, template=template, profile="tiny", paths=paths)
    s.lock()
    by = {sec.key: sec for sec in draft.sections}
    assert by["cc"].statements == [] and by["cc"].notice == ""
    assert by["plan"].statements
    assert draft.prompt_sha256 != SX.prompt_sha256(load_template(template), "sections")
