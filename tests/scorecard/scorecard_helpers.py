"""A practice scripted through the real vault: known visits, edits and times.

Times come from an injected wall clock (``vault.audit.use_clock``), never from sleeping. The
patients, MRNs, birth dates and transcript words below are fictional and deliberately odd, so
that a grep of an export finds them only if PHI leaked.
"""

from __future__ import annotations

from datetime import datetime, UTC

import numpy as np

from localscribe.domain import Draft, Flag, Patient, Section, Segment, Statement, Transcript
from localscribe.draft.render import render_note
from localscribe.draft.templates import load_template
from localscribe.vault import TEST_PARAMS, Vault
from localscribe.vault.audit import use_clock

PASS = "scorecard test passphrase"
PHI_WORDS = ("Zelda", "Quixote", "Bartholomew", "Quince", "MRN-4471", "MRN-9902", "1961-07-14",
             "1948-02-29", "quokka", "amoxicillin", "bronchitis", "wheelbarrow")
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)   # "today" for the scorecard


class Clock:
    def __init__(self, start: str):
        self.now = at(start)

    def set(self, stamp: str) -> None:
        self.now = at(stamp)

    def __call__(self) -> datetime:
        return self.now


def at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp).replace(tzinfo=UTC)


def draft(flags_on: dict[str, int] | None = None) -> Draft:
    """18 words: subjective 5 + 2, objective 2, assessment 2, plan 7. ``flags_on``: statement
    id -> number of blocking flags on it."""
    flags_on = flags_on or {}

    def st(sid: str, text: str) -> Statement:
        return Statement(sid, text, ["s1"], [Flag("dose", "check the dose", text[:5])
                                            for _ in range(flags_on.get(sid, 0))])
    return Draft("soap", [
        Section("subjective", "SUBJECTIVE", [st("S1", "quokka cough for three days"),
                                             st("S2", "no fever")]),
        Section("objective", "OBJECTIVE", [st("O1", "lungs clear")]),
        Section("assessment", "ASSESSMENT", [st("A1", "acute bronchitis")]),
        Section("plan", "PLAN", [st("P1", "start amoxicillin 500 mg three times daily")]),
    ])


def rendered(d: Draft, data_dir) -> str:
    return render_note(d, load_template("soap", data_dir))


def visit(s, clock: Clock, who: Patient, *, start: str, stop: str | None = None,
          draft_at: str | None = None, the_draft: Draft | None = None,
          sign_at: str | None = None, edit=None, status: str | None = None,
          consent: bool = True) -> str:
    """One visit as the app stores it: create, consent, record until Stop, draft, edit, sign,
    then an optional status (a send outcome or a failure)."""
    clock.set(start)
    eid = s.create_encounter(who, "soap")
    s.audit("consent", eid, outcome="ok" if consent else "declined")   # as ui.core does
    if not consent:
        return eid
    if stop:
        spool = s.open_audio_spool(eid)
        spool.write(np.zeros(1600, dtype=np.float32))
        clock.set(stop)
        spool.close()
        s.save_transcript(eid, Transcript([Segment("s1", 0.0, 3.0,
                                                   "my quokka cough wheelbarrow", "patient")]))
    if draft_at:
        clock.set(draft_at)
        s.save_draft(eid, the_draft)
        s.set_status(eid, "review")
    if sign_at:
        clock.set(sign_at)
        text = rendered(the_draft, s.paths.data_dir)
        s.save_note_version(eid, edit(text) if edit else text)
        s.sign(eid, acknowledged_flag_ids=[st.id for st in the_draft.blocking])
    if status:
        s.set_status(eid, status)
    return eid


def script_practice(paths) -> tuple[Vault, dict[str, str]]:
    clock = Clock("2026-11-16T07:00:00")
    zelda = Patient("Zelda Quixote", "MRN-4471", "1961-07-14")
    bart = Patient("Bartholomew Quince", "MRN-9902", "1948-02-29")
    with use_clock(clock):
        vault = Vault.create(paths, "admin", PASS, kdf_params=TEST_PARAMS)
        admin = vault.unlock("admin", PASS)
        for user, role in (("dr.ames", "clinician"), ("dr.brook", "clinician"),
                           ("aud", "auditor"), ("asst", "assistant")):
            admin.add_user(user, role, PASS)
        admin.set_setting("scorecard.timezone", "Europe/Berlin")   # UTC+1 in November
        admin.lock()
        e: dict[str, str] = {}
        ames = vault.unlock("dr.ames", PASS)
        # V1 (W47, Mon): draft 40 s after Stop, signed unchanged 30 min after Stop (10:45
        # local); its one blocking flag acknowledged and kept; sent.
        e["V1"] = visit(ames, clock, zelda, start="2026-11-16T09:00:00", stop="2026-11-16T09:15:00",
                        draft_at="2026-11-16T09:15:40", the_draft=draft({"P1": 1}),
                        sign_at="2026-11-16T09:45:00", status="sent")
        # V2 (W47, Mon): draft after 60 s; one word changed (500 -> 250) in the flagged plan
        # statement: minor, flag fixed; signed 20:20 local (after hours); sending failed.
        e["V2"] = visit(ames, clock, bart, start="2026-11-16T13:00:00", stop="2026-11-16T13:20:00",
                        draft_at="2026-11-16T13:21:00", the_draft=draft({"P1": 1}),
                        sign_at="2026-11-16T19:20:00", edit=lambda t: t.replace("500", "250"),
                        status="send_failed")
        # V6 (W48, Mon): draft after 20 s; the statement with two blocking flags deleted and a
        # line added before the first heading: major; signed 09:50 local; queued.
        e["V6"] = visit(ames, clock, zelda, start="2026-11-23T08:00:00", stop="2026-11-23T08:20:00",
                        draft_at="2026-11-23T08:20:20", the_draft=draft({"S1": 2}),
                        sign_at="2026-11-23T08:50:00",
                        edit=lambda t: "Seen with interpreter.\n\n" + t.replace(
                            "Quokka cough for three days. ", ""),
                        status="send_pending")
        # V7 (W48, Tue): drafted after 45 s, not signed yet, 3 days old: open.
        e["V7"] = visit(ames, clock, bart, start="2026-11-24T09:00:00", stop="2026-11-24T09:10:00",
                        draft_at="2026-11-24T09:10:45", the_draft=draft())
        ames.lock()
        brook = vault.unlock("dr.brook", PASS)
        # V3 (W47, Tue): draft after 30 s; objective and assessment deleted (4 of 18 words):
        # major; signed on Saturday (after hours), 4 days less 30 min after Stop; not sent.
        e["V3"] = visit(brook, clock, zelda, start="2026-11-17T10:00:00",
                        stop="2026-11-17T10:30:00",
                        draft_at="2026-11-17T10:30:30", the_draft=draft(),
                        sign_at="2026-11-21T10:00:00",
                        edit=lambda t: t.replace("OBJECTIVE\n\nLungs clear.\n\n", "").replace(
                            "ASSESSMENT\n\nAcute bronchitis.\n\n", ""))
        # V4 (W47, Wed): consent declined, nothing recorded.
        e["V4"] = visit(brook, clock, bart, start="2026-11-18T10:00:00", consent=False)
        # V5 (W47, Wed): recorded, then the app died (interrupted), never resumed.
        e["V5"] = visit(brook, clock, zelda, start="2026-11-18T11:00:00",
                        stop="2026-11-18T11:10:00", status="interrupted")
        # V8 (W47, Mon): recorded, drafting failed.
        e["V8"] = visit(brook, clock, bart, start="2026-11-16T15:00:00",
                        stop="2026-11-16T15:05:00", status="failed")
        # V9 (W47, Tue): drafted after 10 s, never signed, 10 days old: left unsigned.
        e["V9"] = visit(brook, clock, zelda, start="2026-11-17T12:00:00",
                        stop="2026-11-17T12:05:00",
                        draft_at="2026-11-17T12:05:10", the_draft=draft())
        brook.lock()
    return vault, e
