"""align(): which transcript lines support a note sentence. Lines are real ACI-Bench train turns
(D2N001, D2N004, D2N007; CC BY 4.0, github.com/wyim/aci-bench)."""

from __future__ import annotations

import time

import pytest
from localscribe.domain import Segment, Transcript
from localscribe.verify.align import align

LINES = [
    ("doctor", "okay , good . and any symptoms like chest pains , shortness of breath , any swelling in your legs ?"),
    ("patient", "no , not that i've noticed ."),
    ("patient", "i'm still forgetting to take my blood pressure medication . and i've noticed when work gets "
                "more stressful , my blood pressure goes up ."),
    ("doctor", "okay . so , on your physical examination , you know , everything looks good . on your heart "
               "exam , i do appreciate a three out of six systolic ejection murmur , which i've heard in the "
               "past , okay ? and on your lower extremities , i do appreciate one plus pitting edema , so you "
               "do have a little bit of fluid in your legs , okay ?"),
    ("doctor", "and i wan na go ahead and prescribe meloxicam 15 milligrams once a day , and i'd like to refer "
               "you to physical therapy to kind of strengthen that area ."),
    ("doctor", "hey , dragon , order meloxicam 15 milligrams once a day . for your next problem , your type 2 "
               "diabetes , i would like to increase your metformin to 1,000 milligrams twice daily-"),
    ("doctor", "okay . uh , and from looking at the notes , it looks like we've had you on , uh , prozac 20 "
               "milligrams a day ."),
    ("doctor", "hey , dragon , show me the right knee x-ray ."),
    ("patient", "i've been doing well . i went hiking with my daughter last weekend and the weather was great ."),
]


@pytest.fixture(scope="module")
def visit() -> Transcript:
    return Transcript([Segment(f"seg{i + 1}", i, i + 1, text, "clinician" if spk == "doctor" else "patient")
                       for i, (spk, text) in enumerate(LINES)])


@pytest.mark.parametrize("sentence, expected", [
    # a question and its short answer support a denial together
    ("The patient denies any chest pain, shortness of breath, or swelling in her legs.", ["seg1", "seg2"]),
    # clinical word for the lay one: dyspnea ~ shortness of breath
    ("Denies dyspnea.", ["seg1", "seg2"]),
    # lay "blood pressure goes up" under a paraphrase
    ("She has noticed that when work gets more stressful, her blood pressure goes up.", ["seg3"]),
    # spelled-out numbers: "three out of six" ~ 3/6
    ("Cardiovascular: Grade 3/6 systolic ejection murmur.", ["seg4"]),
    # exact numbers pick the right one of two lines naming the same drug
    ("Increase metformin to 1000 mg twice daily.", ["seg6"]),
    ("Prozac 20 mg daily.", ["seg7"]),
    ("Right knee x-ray.", ["seg8"]),
])
def test_align_finds_the_supporting_lines(visit, sentence, expected):
    assert align(sentence, visit) == expected


def test_both_lines_that_state_a_fact_are_cited_in_transcript_order(visit):
    ids = align("Meloxicam 15 mg once a day and physical therapy.", visit)
    assert ids[:2] == ["seg5", "seg6"] or ids == ["seg5"]
    assert ids == sorted(ids, key=lambda i: int(i[3:]))


@pytest.mark.parametrize("sentence", [
    "Cranial nerves grossly intact.",
    "The patient understands and agrees with the recommended medical treatment plan.",
    "Musculoskeletal",
])
def test_nothing_said_in_the_visit_aligns_to_nothing(visit, sentence):
    assert align(sentence, visit) == []


def test_max_ids_bounds_the_citation(visit):
    assert len(align("Meloxicam, metformin, prozac, knee x-ray, murmur and hiking.", visit, max_ids=2)) <= 2


def test_a_whole_note_against_a_long_visit_is_fast():
    segs = [Segment(f"seg{i}", i, i + 1, LINES[i % len(LINES)][1] + f" item {i} number {i * 7}")
            for i in range(200)]
    visit = Transcript(segs)
    sentences = [f"Meloxicam 15 mg once a day, item {i}, number {i * 7}, and a {i % 6}/6 murmur." for i in range(40)]
    align(sentences[0], visit)       # first call builds the index, as the verifier's first sentence does
    runs = []
    for _ in range(3):      # CPU time, best of three: the machine is shared with other work
        t = time.process_time()
        for s in sentences:
            align(s, visit)
        runs.append(time.process_time() - t)
    assert min(runs) < 0.1
