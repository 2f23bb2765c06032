"""Issue 9, third round (tuned on ACI-Bench train): dates, "a couple", a list of medicines, and
an answer that clears the rest of a list.

Every visit line is a real ACI-Bench train turn (encounter id in the comment; Yim et al. 2023,
CC BY 4.0, github.com/wyim/aci-bench). Each test pairs the false alarm the verifier raised on the
clinician's own sentence with an error of the same shape that it must still catch.
"""

from __future__ import annotations

from localscribe.domain import Draft, Section, Segment, Statement, Transcript
from localscribe.verify import verify_draft
from localscribe.verify.text import normalize_numbers, words


def visit(*lines: tuple[str, str]) -> Transcript:
    return Transcript([Segment(f"seg{i + 1}", i, i + 1, text, spk) for i, (spk, text) in enumerate(lines)])


def blocking(tr: Transcript, text: str) -> list[str]:
    st = Statement("st1", text, [])
    verify_draft(Draft("soap", [Section("s", "S", [st])]), tr)
    return [f.kind for f in st.blocking_flags]


def test_a_month_and_year_written_as_digits_is_the_month_said_by_name():
    assert normalize_numbers(words("started on 02/2020")) == ["started", "on", "february", "2020"]
    assert normalize_numbers(words("ct on 1/23/2020")) == ["ct", "on", "january", "23", "2020"]
    assert normalize_numbers(words("bp 120/80")) == ["bp", "120", "80"]           # not a date
    tr = visit(("clinician", "okay , and this has been going on since february 2020 ?"),  # D2N032
               ("patient", "yeah ."))
    assert blocking(tr, "Her symptoms started on 02/2020 and have progressively worsened.") == []
    assert blocking(tr, "Her symptoms started on 05/2020 and have progressively worsened.") != []
    assert blocking(tr, "Her symptoms started on 02/2018 and have progressively worsened.") != []


def test_a_year_after_a_month_is_not_its_day():
    tr = visit(("clinician", "here for chronic abdominal pain . he had an abdominal ct on 1/23/2020 ."))  # D2N028
    assert blocking(tr, "In 01/2020, the patient underwent an abdominal CT scan.") == []
    assert blocking(tr, "On 01/25/2020, the patient underwent an abdominal CT scan.") == ["number"]


def test_a_couple_before_a_unit_is_two_without_an_article():
    assert normalize_numbers(words("in the past couple months")) == ["in", "the", "past", "2", "months"]
    assert normalize_numbers(words("a couple of days")) == ["2", "days"]
    tr = visit(("clinician", "has this been the case over the past two years as well ?"),            # D2N028
               ("patient", "more recently in the past couple months , at least with the constipation and diarrhea ."))
    assert blocking(tr, "Constipation and diarrhea have been more frequent in the past 2 months.") == []
    assert blocking(tr, "Constipation and diarrhea have been more frequent in the past 5 months.") != []


def test_a_dose_of_an_earlier_list_item_is_not_the_next_drugs():
    tr = visit(("clinician", "for your hypertension i want you to continue on the cozaar one hundred milligrams "
                             "daily and the bumex two milligrams once a day"))                   # D2N035
    assert blocking(tr, "Patient reports taking Bumex 2 mg once daily, Cozaar 100 mg daily.") == []
    assert blocking(tr, "Patient reports taking Bumex 2 mg once daily, Cozaar 50 mg daily.") == ["dose"]
    # the dose said just before a name is still that drug's
    assert blocking(tr, "Continue 100 mg of Cozaar daily.") == []
    assert blocking(tr, "Continue 2 mg of Cozaar daily.") == ["dose"]


def test_everything_else_okay_denies_the_rest_of_a_long_list_answer():
    tr = visit(("clinician", "anything else that i might have missed , fever chills , any nasal congestion , "
                             "sore throat , cough ?"),                                              # D2N008
               ("patient", "uh , i've had a little bit of nasal congestion just because with the seasons "
                           "changing , i , i get seasonal allergies . but everything else has been okay ."))
    assert blocking(tr, "She reports some nasal congestion from seasonal allergies.") == []
    assert blocking(tr, "She denies fever, chills, sore throat, or cough.") == []
    assert set(blocking(tr, "The patient reports fever, chills, sore throat, or cough.")) == {"negation"}


def test_a_number_said_twice_is_not_one_long_number():
    assert normalize_numbers(words("five hundred five hundred milligrams")) == ["500", "500", "milligrams"]
    assert normalize_numbers(words("one thousand five hundred")) == ["1500"]
    tr = visit(("clinician", "i'm gon na recommend we start you on some anti-inflammatory naprosyn five hundred "
                             "five hundred milligrams twice a day and flexeril ten milligrams twice a day"))  # D2N066
    assert blocking(tr, "Start Naprosyn 500 mg twice a day and Flexeril 10 mg twice a day.") == []
    assert blocking(tr, "Start Naprosyn 250 mg twice a day and Flexeril 10 mg twice a day.") == ["dose"]
    assert blocking(tr, "Start Naprosyn 500 mg twice a day and Flexeril 500 mg twice a day.") == ["dose"]


def test_a_dose_said_before_the_name_is_that_drugs():
    from localscribe.verify.facts import Facts
    from localscribe.verify.lexicon import load_lexicon
    turn = ("for your hypertension i'm gon na keep you on that two . five norvasc your blood pressures look good "
            "and then for your diabetes we'll keep you on the five hundred of metformin")              # D2N049
    slots = Facts.of(turn, load_lexicon()).drug_slots
    assert slots["amlodipine"][0] == {("2.5", None)}
    assert slots["metformin"][0] == {("500", None)}
    assert blocking(visit(("clinician", turn)), "Continue Norvasc 2.5 mg and metformin 500 mg.") == []
    tr = visit(("clinician", "continue the norvasc five milligrams and i'll add twenty milligrams of lipitor"))
    assert blocking(tr, "Continue Norvasc 5 mg and start Lipitor 20 mg.") == []
    assert set(blocking(tr, "Continue Norvasc 20 mg and start Lipitor 5 mg.")) == {"dose"}


def test_everyday_is_once_a_day():
    from localscribe.verify.frequency import frequencies
    assert frequencies("have you been taking that metformin everyday") == {"1/day"}                # D2N049


def test_denying_a_narrower_finding_the_visit_reports_broadly_is_a_conflict():
    tr = visit(("clinician", "okay . any chest pain , shortness of breath , or belly pain ?"),       # D2N012
               ("patient", "shortness of breath . no belly pain though ."),
               ("clinician", "okay . and how often have you been using your inhaler over the past year ?"))
    assert blocking(tr, "Denies dyspnea on exertion.") == ["negation"]
    assert blocking(tr, "Reports shortness of breath.") == []
    assert blocking(tr, "Denies abdominal pain.") == []


def test_a_sited_denial_conflicts_with_the_finding_reported_where_the_site_is_asked():
    tr = visit(                                                                                      # D2N007
        ("clinician", "okay . all right . and , and what else has been going on with you ? i know that you've had "
                      "this chronic back pain that we've been dealing with . how's that , how's that going ?"),
        ("patient", "uh , i've been managing it . it's still , um , here nor there . it really bothers me when i "
                    "sit for long periods of time at , at my desk at work ."),
        ("clinician", "okay , and do you get any numbing or tingling down your legs or any pain down "
                      "leg versus the other ?"),
        ("patient", "a little bit of numbing , but nothing tingling or hurting down my legs ."),
        ("clinician", "okay , and does the , um , do those symptoms improve when you stand up or change position ?"),
        ("patient", "yeah , it does ."),
        ("clinician", "okay . and are you able to , um , do your activities of daily living ? do you exercise , "
                      "go to the store , that type of thing ?"),
        ("patient", "yeah , i am . it bothers me when i'm on my feet for too long and sitting too long ."))
    assert blocking(tr, "Denies numbness in legs.") == ["negation"]
    assert blocking(tr, "Reports numbness in legs.") == []
    assert blocking(tr, "Denies tingling in legs.") == []
    # a side named is left to the side rules; a condition is not a site
    assert blocking(tr, "Denies pain with walking.") == []


def test_a_spoken_any_list_asks_every_item_even_after_a_repeated_word():
    tr = visit(("patient", "sometime my belly hurts up here"),                                       # D2N062
               ("clinician", "okay alright so epigastric pain alright any blood in your stool or dark dark "
                             "tarry stool"),
               ("patient", "not that i noticed"),
               ("clinician", "okay alright so i'm gon na go ahead and do my physical exam"))
    assert blocking(tr, "Reports dark, tarry stools.") == ["negation"]
    assert blocking(tr, "Denies melena or blood in the stool.") == []
    assert blocking(tr, "She reports epigastric pain.") == []


def test_a_finding_that_holds_a_negation_is_not_its_own_denial():
    tr = visit(("clinician", "okay so have you noticed any nausea chills fever"),                      # D2N049
               ("patient", "no fever some chills and i i just in so much pain i i ca n't eat and i do feel a "
                           "little nauseous"))
    assert blocking(tr, "Reports chills and decreased appetite.") == []
    assert blocking(tr, "Reports fever.") == ["negation"]


def test_a_replys_no_before_its_subject_denies_only_the_question():
    tr = visit(("clinician", "yeah absolutely i can see how that would increase your stress but like with that "
                             "have you lost any weight because of your symptoms"),                   # D2N062
               ("patient", "no i wish unfortunately i've gained some weight"))
    assert blocking(tr, "He denies any weight loss, but endorses weight gain.") == []
    assert blocking(tr, "He reports weight loss.") == ["negation"]


def test_a_former_habit_is_not_contradicted_by_its_end():
    tr = visit(("clinician", "okay alright and then are you are you a smoker or did you smoke"),       # D2N051
               ("patient", "i did back you know kind of years ago i did but yeah i have n't smoked anything "
                           "in in good number of years"))
    assert blocking(tr, "Patient reports he is a former smoker.") == []
    assert blocking(tr, "Patient reports he is a current smoker.") == ["negation"]
