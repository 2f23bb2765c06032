"""The translation check (instructions.translate.check): what a Spanish sentence may not change
from its verified English source. Each case is a translation a small model could plausibly
write; each flagged case fails if its rule is removed, each clean case if a rule overreaches."""

from __future__ import annotations

import pytest

from localscribe.instructions.translate import (check, english_numbers, is_translation_flag, spanish_numbers,
                                                what_changed)


@pytest.mark.parametrize("text, expected", [
    ("Tome 500 miligramos dos veces al día.", {"500", "2"}),
    ("Tome quinientos miligramos.", {"500"}),
    ("Vuelva en treinta y cinco días.", {"35"}),
    ("Tome dos y medio comprimidos.", {"2.5"}),
    ("Use 2,5 mililitros.", {"2.5"}),
    ("Camine mil doscientos pasos.", {"1200"}),
    ("Tome una pastilla por la noche.", {"1"}),
    ("Evite levantar objetos pesados.", set()),
])
def test_spanish_numbers_are_read_as_digits(text, expected):
    assert spanish_numbers(text) == expected


def test_english_frequency_counts_as_its_number():
    assert english_numbers("Take metformin 500 mg twice a day.") >= {"500", "2"}


@pytest.mark.parametrize("source, translation", [
    ("Take metformin 500 mg twice a day.", "Tome metformina 500 mg dos veces al día."),
    ("Take ibuprofen for the pain in your left knee.", "Tome ibuprofeno para el dolor de la rodilla izquierda."),
    ("Do not lift anything heavy for two weeks.", "No levante nada pesado durante dos semanas."),
    ("Come back in 3 months.", "Vuelva en tres meses."),
    ("You have a sprain of the right ankle.", "Usted tiene un esguince en el tobillo derecho."),
    ("Avoid heavy lifting.", "Evite levantar objetos pesados."),
    # ACI-Bench train D2N002: "every six hours" is a rate of 4 a day to the verifier, but the
    # sentence says 6, and so does its translation.
    ("Take ultram 50 milligrams every six hours as needed.",
     "Tome ultram 50 miligramos cada seis horas según sea necesario."),
])
def test_a_faithful_translation_is_not_flagged(source, translation):
    assert check(source, translation) == []


@pytest.mark.parametrize("source, translation, span, change", [
    ("Take metformin 500 mg twice a day.", "Tome metformina 50 mg dos veces al día.", "500", "number"),
    ("Take metformin 500 mg twice a day.", "Tome metformina 500 mg tres veces al día.", "3", "number"),
    ("Take lisinopril 20 mg every day.", "Tome el medicamento 20 mg todos los días.", "lisinopril",
     "medicine"),
    ("Keep ice on your left knee.", "Ponga hielo en la rodilla derecha.", "left", "side"),
    ("Keep ice on your left knee.", "Ponga hielo en la rodilla derecha.", "right", "side"),
    ("Do not drive while taking this medicine.", "Maneje mientras toma este medicamento.", "no", "negation"),
    ("Walk every day.", "No camine todos los días.", "no", "negation"),
    ("Come back in two weeks.", "Come back in two weeks.", "Come back in two weeks.", "untranslated"),
    ("Take your medicine with food every morning.", "Take your medicine with comida every morning.",
     "Take your medicine with food every morning.", "untranslated"),
    ("Rest at home.", "", "Rest at home.", "untranslated"),
])
def test_a_translation_that_changes_a_fact_is_flagged(source, translation, span, change):
    flags = check(source, translation)
    assert flags and all(is_translation_flag(f) and f.blocking for f in flags)
    assert (span, change) in {(f.span, what_changed(f)) for f in flags}, [f.to_dict() for f in flags]


def test_the_prompts_own_examples_pass_the_check():
    """The made-up sentences shown to the model are translations the check accepts, so the
    model is never shown a translation the check would flag."""
    from localscribe.instructions.prompts import Language
    from localscribe.instructions.translate import EXAMPLES

    for en, es in EXAMPLES[Language.ES]:
        assert check(en, es) == []
