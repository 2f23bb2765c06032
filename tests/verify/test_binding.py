"""Issue 9, second round: what a reply answers, what a side binds to, what a negation reaches.

Every visit line is a real ACI-Bench train turn (encounter id in the comment; Yim et al. 2023,
CC BY 4.0, github.com/wyim/aci-bench), as the benchmark parses it. Each test pairs the error the
verifier used to miss with the faithful statement it must still pass.
"""

from __future__ import annotations

from localscribe.domain import Draft, Section, Segment, Statement, Transcript
from localscribe.verify import verify_draft
from localscribe.verify.negation import _answer


def visit(*lines: tuple[str, str]) -> Transcript:
    return Transcript([Segment(f"seg{i + 1}", i, i + 1, text, spk) for i, (spk, text) in enumerate(lines)])


def blocking(tr: Transcript, text: str, evidence: list[str] | None = None) -> list[str]:
    st = Statement("st1", text, list(evidence or []))
    verify_draft(Draft("soap", [Section("s", "S", [st])]), tr)
    return [f.kind for f in st.blocking_flags]


# -- replies ------------------------------------------------------------------------------------
def test_a_reply_is_read_after_its_fillers_and_as_whole_words():
    assert _answer("uh , i have not .") == "no"          # D2N010: not "i have" = yes
    assert _answer("now it hurts more") is None          # "now" is not "no"
    assert _answer("nothing like that") == "no"
    assert _answer("um , yeah , a little") == "yes"


def test_a_denial_after_fillers_is_a_denial():
    tr = visit(("clinician",
                "all right . um , and have you been feeling sick recently ? have you had any fever or chills ?"),
               ("patient", "uh , i have not ."))                                              # D2N010
    assert blocking(tr, "He denies any fever or chills.") == []
    assert set(blocking(tr, "He reports fever and chills.")) == {"negation"}


def test_a_no_that_answers_one_item_does_not_deny_the_list():
    tr = visit(("clinician", "okay so have you noticed any nausea chills fever"),
               ("patient", "no fever some chills and i i just in so much pain i i ca n't eat and i do feel a "
                           "little nauseous"))                                                 # D2N049
    assert blocking(tr, "Denies fever.") == []
    assert blocking(tr, "Reports chills and nausea.") == []
    assert blocking(tr, "Gastrointestinal: denies nausea.") == ["negation"]


def test_a_list_answer_leaves_what_it_passes_over_denied():
    tr = visit(("clinician", "okay . any chest pain , shortness of breath , or belly pain ?"),
               ("patient", "shortness of breath . no belly pain though ."))                    # D2N012
    assert blocking(tr, "Denies chest pain or abdominal pain; reports shortness of breath.") == []
    assert blocking(tr, "Cardiovascular: reports chest pain.") == ["negation"]


def test_a_bare_finding_said_to_the_patient_is_a_question():
    tr = visit(("patient", "no chest pain"), ("clinician", "shortness of breath"),
               ("patient", "no shortness of breath"))                                          # D2N039
    assert blocking(tr, "Respiratory: denies shortness of breath.") == []
    assert blocking(tr, "Respiratory: reports shortness of breath.") == ["negation"]


# -- sides --------------------------------------------------------------------------------------
D2N045 = visit(
    ("patient", "when i'm running i my right knee here it just starts to ache and it's it's just to the point "
                "where i need your opinion"),
    ("clinician", "okay so let's go ahead and i want to do a quick examination here your blood pressure and was "
                  "one twenty over sixty that's phenomenal your heart rate was fifty eight and you can tell that "
                  "you're a runner with that that level of a heart rate and your respirations were fourteen so all "
                  "of that looked very good there was no fever when you came in when i'm gon na just quickly listen "
                  "to your heart and lungs okay those those sound good but let me get let's focus here on your lower "
                  "extremities i'm i'm gon na look at your your left knee first when i move your left knee do you "
                  "get any type of pain or is it just feel like normal and it's always your pain's always isolated "
                  "to the right"),
    ("patient", "that feels that feels normal"),
    ("patient", "the the right knee here hurts on the outside"),
)


def test_a_side_binds_to_the_finding_near_it_in_an_unpunctuated_turn():
    # The long exam turn names the left knee and pain twenty words apart, as a question.
    assert blocking(D2N045, "Right knee pain.") == []
    assert blocking(D2N045, "Left knee pain.") == ["laterality"]


def test_a_side_compared_with_itself_is_flagged_and_a_comparison_is_not():
    tr = visit(("patient", "actually it's both my elbows but my right elbow is hurting me the most"))   # D2N037
    assert blocking(tr, "Bilateral elbow pain, right worse than left.") == []
    assert blocking(tr, "Bilateral elbow pain, right worse than right.") == ["laterality"]


# -- findings the visit never names ------------------------------------------------------------
def test_a_site_is_not_found_in_a_word_fragment():
    tr = visit(("clinician", "you know , it's hard because you ca n't take certain medications 'cause of your "
                             "kidney transplant ."))                                            # D2N002
    assert blocking(tr, "He cannot take certain medications because of his kidney transplant.") == []
    assert "finding" in blocking(tr, "He cannot take certain medications because of his kidney transplant, "
                                     "and reports calf pain.")


def test_sore_throat_is_not_mentioned_by_any_pain():
    tr = visit(("patient", "the the right knee here hurts on the outside"))                       # D2N045
    assert "finding" in blocking(tr, "Right knee hurts on the outside, and reports a sore throat.")
    assert "finding" in blocking(tr, "Right knee hurts on the outside, and reports chest tightness.")


# -- negation of things the lexicon does not list ----------------------------------------------
def test_a_thing_denied_in_the_visit_cannot_be_asserted_and_scope_stops_at_the_list_item():
    tr = visit(("patient", "regular rate and rhythm with a grade two out of six systolic ejection murmur is "
                           "appreciated on your lung exam your lungs are clear without wheezes rales or rhonchi on "
                           "your abdominal exam bowel sounds are present your abdomen is soft with no "
                           "hepatosplenomegaly"),                                               # D2N038
               ("clinician", "there's no extra heart sounds"))
    assert blocking(tr, "Regular rate and rhythm.") == []
    assert blocking(tr, "Bowel sounds are present.") == []
    assert blocking(tr, "No extra heart sounds.") == []
    assert blocking(tr, "Extra heart sounds.") == ["negation"]


# -- numbers ------------------------------------------------------------------------------------
def test_a_bare_number_is_bound_to_the_word_before_it():
    tr = visit(("clinician", "hey , dragon , order meloxicam 15 milligrams once a day . for your next problem , your "
                             "type 2 diabetes , i would like to increase your metformin to 1,000 milligrams twice "
                             "daily-"),                                                          # D2N004
               ("patient", "it started about four days ago"))
    assert blocking(tr, "Type 2 diabetes.") == []
    assert blocking(tr, "Type 4 diabetes.") == ["number"]          # 4 is said, but of the days


# -- broad findings denied under a condition, and tags that end a clause (round 3) -------------
def test_pain_reported_in_the_visit_and_denied_under_pressure_is_not_a_contradiction():
    tr = visit(("clinician", "okay great and since this i'm the reason i'm asking all these questions i'm a little "
                'concerned about the inactivity with your your knee pain and you know how diabetes you need'
                ' to be very you know active and and taking your medicine to keep that under control so you'
                ' know may wan na continue to follow up with your pcp for that diabetes as we go through '
                "here and just watch your blood sugars extra as we go through that now i'm gon na go ahead "
                'and examine your your right knee and when i push on the outside does that hurt at all'),
               ("patient", "no"),
               ("patient", "some exercises ice and mobic"),
               ("patient", "i was playing basketball and jerry ran into me and the inside of my knee hurts"))
    # D2N061: the "no" answers "when i push on the outside does that hurt at all"
    assert blocking(tr, "Right knee pain.", ["seg1", "seg2"]) == []
    assert blocking(tr, "She reports right knee pain.", ["seg1", "seg2", "seg3"]) == []


def test_a_broad_finding_the_visit_only_denies_is_still_flagged():
    tr = visit(("doctor", "any pain in the knee"), ("patient", "no"))
    assert "negation" in blocking(tr, "She reports knee pain.", ["seg1", "seg2"])


def test_a_tag_ends_the_scope_of_a_negation_in_an_unpunctuated_turn():
    tr = visit(("patient", "i did not fall okay okay the swelling started yesterday"))
    assert blocking(tr, "She reports swelling.", ["seg1"]) == []
    tr = visit(("doctor", "there's no evidence of what we call hydronephrosis"))              # valid-like
    assert "negation" in blocking(tr, "There is hydronephrosis.", ["seg1"])
