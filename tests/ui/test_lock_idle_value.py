"""The idle lock has one home (issue 12: the report said 900 s while the window locked after
5 min): the vault's signed setting, which the window uses and the security report prints."""

from __future__ import annotations

from localscribe.ui import core

from ui_helpers import unlock


def test_window_and_security_report_use_the_same_idle_lock(qtbot, vault, window, paths):
    unlock(window, qtbot, "admin")
    assert window.idle.timeout_s == 300
    assert "Idle lock: 300 s" in core.security_report_text(paths, window.session)
    window.show_settings()
    s = window.settings
    s.idle.setValue(2)
    s.retention_save.click()
    assert "saved" in s.retention_state.text(), s.retention_state.text()
    assert window.idle.timeout_s == 120
    assert "Idle lock: 120 s" in core.security_report_text(paths, window.session)
    window.lock()
    unlock(window, qtbot, "drjones")                 # every user of the vault gets it
    assert window.idle.timeout_s == 120
    window.show_settings()
    assert not window.settings.idle.isEnabled()      # a clinician sees it, an admin sets it
    assert window.settings.idle.value() == 2
