"""A fictional practice's weeks, scripted through the real vault (no models, no audio device),
for the README screenshot of the Scorecard screen.

Every visit goes through the same session calls the app makes (create, consent, record, save
the draft, save the edited note, sign, send status); only the wall clock is set by the script
(``vault.audit.use_clock``). The patients are fictional placeholders.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, UTC
from typing import Any

import numpy as np

from localscribe.domain import Draft, Flag, Patient, Section, Statement
from localscribe.draft.render import render_note
from localscribe.draft.templates import load_template
from localscribe.vault import TEST_PARAMS, Vault
from localscribe.vault.audit import use_clock

CLINICIANS = ("dr.patel", "dr.okafor", "dr.lind")
FIRST_MONDAY = datetime(2026, 9, 28, 7, 0, tzinfo=UTC)


def _draft(rng: random.Random) -> Draft:
    flag = [Flag("dose", "check the dose", "twice")] if rng.random() < 0.4 else []
    return Draft("soap", [
        Section("subjective", "SUBJECTIVE", [
            Statement("S1", "cough for five days, worse at night", ["s1"]),
            Statement("S2", "no fever and no shortness of breath", ["s1"])]),
        Section("objective", "OBJECTIVE", [Statement("O1", "lungs clear on listening", ["s1"])]),
        Section("assessment", "ASSESSMENT", [Statement("A1", "viral bronchitis likely", ["s1"])]),
        Section("plan", "PLAN", [Statement("P1", "inhaler two puffs twice daily", ["s1"], flag),
                                 Statement("P2", "return in two weeks if not better", ["s1"])]),
    ])


def _edit(text: str, level: float, rng: random.Random) -> str:
    """Touch-ups that shrink as the weeks go by (``level`` 1 -> 0)."""
    r = rng.random()
    if r < 0.25 * level:
        return text.replace("Viral bronchitis likely.", "Acute bronchitis, likely viral; "
                            "no signs of pneumonia on examination today.")
    if r < 0.7 * level + 0.15:
        return text.replace("twice daily", "two times a day")
    return text


def script(paths: Any, passphrase: str, weeks: int = 8, seed: int = 15) -> Vault:
    rng = random.Random(seed)
    now = [FIRST_MONDAY]
    with use_clock(lambda: now[0]):
        vault = Vault.create(paths, "admin", passphrase, kdf_params=TEST_PARAMS)
        admin = vault.unlock("admin", passphrase)
        for user in CLINICIANS:
            admin.add_user(user, "clinician", passphrase)
        admin.add_user("auditor", "auditor", passphrase)
        admin.set_setting("scorecard.timezone", "UTC")
        admin.lock()
        template = load_template("soap", paths.data_dir)
        for c, user in enumerate(CLINICIANS):
            s = vault.unlock(user, passphrase)
            for week in range(weeks):
                level = 1.0 - week / max(weeks - 1, 1)          # adoption settles in
                for n in range(3 + (week + c) % 3):
                    start = FIRST_MONDAY + timedelta(days=7 * week + n % 5,
                                                     hours=2 + 2 * n + c)
                    now[0] = start
                    eid = s.create_encounter(Patient(f"Demo patient {c}{week}{n}", f"DEMO-{c}{week}{n}"), "soap")
                    declined = rng.random() < 0.05
                    s.audit("consent", eid, outcome="declined" if declined else "ok")
                    if declined:
                        continue
                    spool = s.open_audio_spool(eid)
                    spool.write(np.zeros(1600, dtype=np.float32))
                    now[0] = start + timedelta(minutes=rng.randint(8, 20))
                    spool.close()
                    if rng.random() < 0.05:
                        s.set_status(eid, "failed")
                        continue
                    now[0] += timedelta(seconds=rng.randint(15, 70))
                    draft = _draft(rng)
                    s.save_draft(eid, draft)
                    s.set_status(eid, "review")
                    late = rng.random() < 0.15 + 0.45 * level    # evenings at first
                    now[0] += timedelta(hours=rng.uniform(9, 13) if late
                                        else rng.uniform(0.1, 1.5 + 3 * level))
                    s.save_note_version(eid, _edit(render_note(draft, template), level, rng))
                    s.sign(eid, acknowledged_flag_ids=[st.id for st in draft.blocking])
                    r = rng.random()
                    s.set_status(eid, "sent" if r < 0.85 else "send_failed" if r < 0.92
                                 else "send_pending")
            s.lock()
    return vault
