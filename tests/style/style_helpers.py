"""Scripted draft/signed pairs with known edits (SOAP template), shared by the style tests.

Each visit's draft is what the model would write; the signed text is the clinician's edit of
it, with exactly these habits: "milligrams" -> "mg" and "shortness of breath" -> "SOB"
(phrase swaps), OBJECTIVE deleted, ASSESSMENT written where the draft left it empty,
negatives as "No X.", plus one-off edits that must never become rules: a side corrected
(left -> right), a number corrected (3 -> 2 times a day), a patient's name replaced once.
"""

from __future__ import annotations

from localscribe.domain import Draft, Section, Segment, Statement, Transcript

TITLES = {"subjective": "SUBJECTIVE", "objective": "OBJECTIVE", "assessment": "ASSESSMENT",
          "plan": "PLAN"}
# Words of one visit only (a name the clinician replaced once): never stored.
ONE_OFF = "Quillfeather"


def draft(i: int) -> Draft:
    def st(sid, text):
        return Statement(sid, text, ["s1"])
    return Draft("soap", [
        Section("subjective", "SUBJECTIVE", [
            st("S1", f"{'Mr ' + ONE_OFF if i == 0 else 'The patient'} reports shortness of breath for {i + 2} days."),
            st("S2", "The patient denies fever."),
            st("S3", "Pain in the left knee.")]),
        Section("objective", "OBJECTIVE", [st("O1", "Lungs are clear.")]),
        Section("assessment", "ASSESSMENT", []),
        Section("plan", "PLAN", [st("P1", "Take ibuprofen 400 milligrams twice a day."),
                                 st("P2", "Ice the knee 3 times a day.")]),
    ], model_sha256="m" * 64, prompt_sha256="p" * 64)


def signed(i: int) -> str:
    return ("SUBJECTIVE\n\n"
            f"The patient reports SOB for {i + 2} days. No fever. Pain in the right knee.\n\n"
            "ASSESSMENT\n\nViral bronchitis.\n\n"
            "PLAN\n\nTake ibuprofen 400 mg twice a day. Ice the knee 2 times a day.\n")


def transcript(words: int = 60) -> Transcript:
    return Transcript([Segment("s1", 0.0, 3.0, " ".join(["word"] * words), "patient")])


def drafted_text(d: Draft) -> dict[str, str]:
    return {sec.key: " ".join(st.text for st in sec.statements) for sec in d.sections}


def titles() -> dict[str, str]:
    return {t.lower(): k for k, t in TITLES.items()}
