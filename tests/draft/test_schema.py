from __future__ import annotations

from localscribe.domain import Draft
from localscribe.draft.render import render_note
from localscribe.draft.schema import SectionBudget, build_grammar, parse_note
from localscribe.draft.templates import load_template

LABELS = {"S1": "a", "S2": "b", "S12": "c"}


def test_grammar_lists_headings_in_order_and_only_known_ids():
    g = build_grammar(load_template("soap"), list(LABELS))
    assert g.index('"## SUBJECTIVE\\n"') < g.index('"## PLAN\\n"')
    assert 'id ::= "S12" | "S1" | "S2"' in g
    assert "stmt{1,10}" in g                # SUBJECTIVE's cap in soap.toml
    assert "{0,3}" in g                     # at most four evidence ids per statement


def test_parse_maps_labels_to_segment_ids_and_keeps_unknown_ones_visible():
    text = ("## SUBJECTIVE\n- Cough for 3 days. [S1,S12]\n## OBJECTIVE\n## ASSESSMENT\n"
            "- Viral infection. [S2,S9]\n## PLAN\n- Fluids and rest. [S2]\n")
    parsed = parse_note(text, load_template("soap"), LABELS)
    assert parsed.complete and not parsed.dropped_lines
    by_key = {s.key: s for s in parsed.sections}
    assert [s.evidence for s in by_key["subjective"].statements] == [["a", "c"]]
    assert by_key["objective"].statements == []
    assert by_key["assessment"].statements[0].evidence == ["b", "?S9"]
    assert [st.id for s in parsed.sections for st in s.statements] == ["st1", "st2", "st3"]


def test_a_statement_cut_by_the_token_limit_is_dropped():
    text = "## SUBJECTIVE\n- Cough for 3 days. [S1]\n- Fever of 39 deg"
    parsed = parse_note(text, load_template("soap"), LABELS)
    assert not parsed.complete
    assert [st.text for s in parsed.sections for st in s.statements] == ["Cough for 3 days."]
    assert parsed.dropped_lines == ["- Fever of 39 deg"]


def test_render_prose_and_bullets():
    text = "## SUBJECTIVE\n- cough for 3 days [S1]\n- no fever [S2]\n## OBJECTIVE\n## ASSESSMENT\n## PLAN\n"
    soap = load_template("soap")
    d = Draft("soap", parse_note(text, soap, LABELS).sections)
    assert render_note(d, soap) == "SUBJECTIVE\n\nCough for 3 days. No fever.\n"
    assert "OBJECTIVE\n\nNot discussed." in render_note(d, soap, with_empty=True)
    prog = load_template("progress_note")
    d2 = Draft("progress_note", parse_note("## INTERVAL HISTORY\n- better [S1]\n", prog, LABELS).sections)
    assert render_note(d2, prog) == "INTERVAL HISTORY\n\n- Better.\n"


def test_section_budget_shares_the_note_by_statement_caps_and_carries_leftovers_forward():
    soap = load_template("soap")                      # caps 10, 5, 3, 6
    budget = SectionBudget.for_template(soap, 480)
    assert budget.limits == (200, 300, 360, 480)
    head = "## SUBJECTIVE\n- Cough. [S1]\n"
    assert budget.allows_statement(head, 100)
    assert not budget.allows_statement(head, 200 - budget.statement_tokens + 1)
    # The same count of tokens is fine once the note has moved on to PLAN: what earlier
    # sections left unused is PLAN's to spend.
    later = head + "## OBJECTIVE\n## ASSESSMENT\n## PLAN\n"
    assert budget.allows_statement(later, 300)
    assert not budget.allows_statement(later, 470)


def test_a_statement_cut_by_the_length_cap_keeps_whole_sentences_only():
    from localscribe.draft.schema import MAX_STATEMENT_CHARS
    long = ("Right wrist pain and swelling after a fall on the stairs. Tried ice and ibuprofen "
            "without relief. " + "She also reports stiffness of the fingers every morning " * 4)
    text = long[:MAX_STATEMENT_CHARS]                  # what the grammar lets through
    parsed = parse_note(f"## SUBJECTIVE\n- {text} [S1]\n## OBJECTIVE\n## ASSESSMENT\n## PLAN\n",
                        load_template("soap"), LABELS)
    (st,) = parsed.sections[0].statements
    assert st.text == ("Right wrist pain and swelling after a fall on the stairs. "
                       "Tried ice and ibuprofen without relief.")
    words = "word " * 60
    parsed = parse_note(f"## SUBJECTIVE\n- Pain {words[:MAX_STATEMENT_CHARS - 5]} [S1]\n## OBJECTIVE\n"
                        "## ASSESSMENT\n## PLAN\n", load_template("soap"), LABELS)
    cut = parsed.sections[0].statements[0].text
    assert cut.endswith("word…") and "wor " not in cut
    short = parse_note("## SUBJECTIVE\n- Cough. [S1]\n## OBJECTIVE\n## ASSESSMENT\n## PLAN\n",
                       load_template("soap"), LABELS)
    assert short.sections[0].statements[0].text == "Cough."
