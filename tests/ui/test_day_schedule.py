"""The EHR's schedule in the day list (issue 13 item 1, issue 12 "one-click start"): a visit
received from the EHR shows under the day's encounters; one activation starts an encounter
with the EHR's patient, and the visit leaves the list. Real vault, real window (offscreen);
the visit is stored through the same core call the HL7 listener and the FHIR pull use."""

from __future__ import annotations

import datetime as dt

import pytest

from localscribe.ingest import service as schedule
from localscribe.ingest.model import ScheduledVisit
from ui_helpers import PASSPHRASE, unlock, wait_until

pytestmark = pytest.mark.usefixtures("qtbot")


def _receive(vault, **kw) -> ScheduledVisit:
    s = vault.unlock("drjones", PASSPHRASE)
    try:
        return schedule.receive(s, ScheduledVisit(**kw), b"MSH|test", "SIU^S12")
    finally:
        s.lock()


def test_a_scheduled_visit_starts_with_one_activation_and_carries_the_ehr_patient(qtbot, vault, window):
    today = dt.date.today().isoformat()
    _receive(vault, source="hl7", patient_id="MRN-4471", patient_authority="GENHOSP",
             family="de la Cruz", given="Maria", birth_date="1961-04-02", sex="F",
             visit_time=f"{today}T09:30:00", visit_number="V-889", clinician_name="Dr Jones")
    _receive(vault, source="hl7", patient_id="MRN-9", family="Cancelled", given="Carl",
             visit_time=f"{today}T10:00:00", status="cancelled")
    unlock(window, qtbot, "drjones")
    day = window.day
    wait_until(lambda: day.schedule.isVisible() and day.schedule.rowCount() == 1, timeout=10000)
    assert day.schedule.item(0, 1).text() == "de la Cruz, Maria"      # never "Cruz, Maria de la"
    assert day.schedule.item(0, 2).text() == "MRN-4471"
    day.schedule.cellDoubleClicked.emit(0, 1)
    wait_until(lambda: window.content.currentWidget() is window.encounter, timeout=10000)
    enc = window.session.get_encounter(window.encounter.row.id)
    assert enc.patient.mrn == "MRN-4471" and enc.patient.name == "de la Cruz, Maria"
    assert schedule.visit_context(window.session, enc.id).visit_number == "V-889"
    window.show_day()
    wait_until(lambda: not day.schedule.isVisible(), timeout=10000)   # started: off the list
    window.lock()
    assert day.schedule.rowCount() == 0                                # nothing left on screen
