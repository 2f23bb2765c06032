"""Dates of birth in the user's locale format as well as ISO (issue 12), stored as ISO."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import QLocale

from localscribe.ui.dates import DateError, parse_date


@pytest.mark.parametrize("locale, text", [("en_GB", "23/04/1968"), ("en_US", "4/23/1968"),
                                          ("de_DE", "23.04.1968"), ("fr_FR", "23/04/1968"),
                                          ("en_US", "1968-04-23")])
def test_locale_and_iso_forms_give_the_same_date(locale, text):
    assert parse_date(text, QLocale(locale)) == dt.date(1968, 4, 23)


@pytest.mark.parametrize("locale, text", [("en_US", "4/23/68"), ("en_GB", "31/02/1968"),
                                          ("en_GB", "4/23/1968"), ("en_GB", "yesterday")])
def test_ambiguous_or_impossible_dates_are_refused_with_the_accepted_forms(locale, text):
    with pytest.raises(DateError, match="1968-04-23"):
        parse_date(text, QLocale(locale))


def test_the_new_encounter_dialog_takes_the_locale_form(qtbot):
    from localscribe.ui.day_view import NewEncounterDialog
    QLocale.setDefault(QLocale("en_GB"))
    try:
        d = NewEncounterDialog([("soap", "SOAP note")])
        qtbot.addWidget(d)
        d.name.setText("Ada Lovelace")
        d.birth_date.setText("23/04/1968")
        d._accept()
        assert d.result() == d.DialogCode.Accepted, d.error.text()
        assert d.patient().birth_date == "1968-04-23"
    finally:
        QLocale.setDefault(QLocale.c())
