from __future__ import annotations

import pytest
from localscribe.draft.templates import (
    TemplateError,
    available_templates,
    load_template,
)


def test_builtin_templates_carry_loinc_codes():
    assert {"soap", "history_and_physical", "progress_note"} <= set(available_templates())
    assert load_template("soap").loinc == "11506-3"
    assert load_template("progress_note").loinc == "11506-3"
    hp = load_template("history_and_physical")
    assert hp.loinc == "34117-2"
    assert [s.key for s in hp.sections][:2] == ["cc", "hpi"]
    assert all(s.guidance for s in hp.sections)


def test_a_practice_adds_and_overrides_templates(tmp_path):
    d = tmp_path / "templates"
    d.mkdir()
    (d / "wound_check.toml").write_text(
        'name = "Wound check"\nloinc = "11506-3"\n[[sections]]\nkey = "wound"\ntitle = "WOUND"\n')
    (d / "soap.json").write_text('{"name": "Our SOAP", "sections": [{"key": "s", "title": "S"}]}')
    assert "wound_check" in available_templates(tmp_path)
    assert load_template("wound_check", tmp_path).sections[0].title == "WOUND"
    assert load_template("soap", tmp_path).name == "Our SOAP"
    assert load_template("soap").name == "SOAP note"      # without the data dir: built-in


@pytest.mark.parametrize("body, words", [
    ("name = 'x'\n", "at least one"),
    ("[[sections]]\ntitle = 'A'\n", "'key' and a 'title'"),
    ("[[sections]]\nkey = 'a'\ntitle = 'A'\n[[sections]]\nkey = 'a'\ntitle = 'B'\n", "unique"),
    ("[[sections]]\nkey = 'a'\ntitle = '## A'\n", "without '#'"),
    ("not toml at all [", "cannot be read"),
    ("[[sections]]\nkey = 'a'\ntitle = 'A'\nnotice_cues = 'fever'\n", "notice_cues must be a list"),
])
def test_malformed_templates_are_explained(tmp_path, body, words):
    p = tmp_path / "bad.toml"
    p.write_text(body)
    with pytest.raises(TemplateError, match="bad.toml") as e:
        load_template(str(p))
    assert words in str(e.value)


def test_unknown_template_lists_the_available_ones():
    with pytest.raises(TemplateError, match="soap"):
        load_template("nonexistent")
