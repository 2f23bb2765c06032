"""Settings > Your drafting style, in real Qt over a real vault: the learned rules in plain
words, Reset only after the second click (then audited and empty), nothing for other roles,
nothing left on screen once hidden (the window locks by hiding its views)."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6.QtWidgets", reason="the panel needs Qt")

from localscribe.style import store  # noqa: E402
from localscribe.ui.style_panel import StylePanel  # noqa: E402
from localscribe.ui.workers import TaskRunner  # noqa: E402

from tests.style.test_store import _doc_after_three_signings, _events  # noqa: E402
from tests.support.cli_vault import vdir  # noqa: F401,E402 (fixture)
from tests.support.qt_wait import wait_until  # noqa: E402


@pytest.fixture
def runner():
    r = TaskRunner()
    yield r
    r.wait(30000)


def _rules(panel: StylePanel) -> list[str]:
    return [panel.rules.item(i).text() for i in range(panel.rules.count())]


def _panel_after_three_signings(qtbot, vdir, runner):
    s = _doc_after_three_signings(vdir)
    panel = StylePanel(runner, lambda: s)
    qtbot.addWidget(panel)
    panel.show()
    wait_until(lambda: panel.rules.count() == 8, timeout=30000)
    return s, panel


def test_shows_the_rules_and_resets_after_confirming(qtbot, vdir, runner):
    s, panel = _panel_after_three_signings(qtbot, vdir, runner)
    assert "\u201cshortness of breath\u201d is written \u201cSOB\u201d" in _rules(panel)
    assert panel.summary.text() == "Learned from 3 signed note(s); 8 rule(s)."
    panel.reset_button.click()
    assert panel.confirm_button.isVisible() and store.history(s).notes == 3   # not yet
    panel.confirm_button.click()
    wait_until(lambda: panel.summary.text().startswith("Learned from 0"), timeout=30000)
    assert panel.rules.count() == 0 and "3 signed note(s) forgotten" in panel.state.text()
    panel.hide()
    assert panel.rules.count() == 0 and panel.state.text() == ""
    s.lock()
    assert [e.details["notes"] for e in _events(vdir, "style.reset")] == [3]


def test_hidden_clears_and_other_roles_have_no_style(qtbot, vdir, runner):
    s, panel = _panel_after_three_signings(qtbot, vdir, runner)
    panel.hide()
    assert panel.rules.count() == 0 and panel.summary.text() == ""
    s.lock()
    aud = vdir.session("aud")
    other = StylePanel(runner, lambda: aud)
    qtbot.addWidget(other)
    other.show()
    assert other.summary.text() == "Only clinicians have a learned drafting style."
    assert other.rules.count() == 0 and not other.reset_button.isEnabled()
    aud.lock()
