"""A clinician changes their own passphrase in Settings (issue 12); the old one stops working;
the tiny profile is not offered as good enough for patients."""

from __future__ import annotations

import pytest

from ui_helpers import PASSPHRASE, unlock, visible_texts, wait_until

NEW = "violet tractor harbour quietly"


def test_clinician_changes_own_passphrase_and_the_old_one_is_refused(qtbot, vault, window):
    unlock(window, qtbot, "drjones")
    window.show_settings()
    s = window.settings
    s.tabs.setCurrentIndex(s.tabs.count() - 1)
    s.own_pass.setText(NEW)
    s.own_repeat.setText(NEW + "x")
    s.own_change.click()
    assert "differ" in s.own_state.text()
    s.own_repeat.setText(NEW)
    s.own_change.click()
    wait_until(lambda: "changed" in s.own_state.text() or "Not changed" in s.own_state.text(),
               timeout=60_000)
    assert "✓" in s.own_state.text(), s.own_state.text()
    from localscribe.vault import AuthError, Vault
    v = Vault.open(window.paths)
    with pytest.raises(AuthError):
        v.unlock("drjones", PASSPHRASE)
    v.unlock("drjones", NEW).lock()
    window.lock()
    unlock(window, qtbot, "drjones", NEW)
    assert window.content.currentWidget() is window.day


def test_weak_new_passphrase_is_refused_in_one_line(qtbot, vault, window):
    unlock(window, qtbot, "drjones")
    window.show_settings()
    s = window.settings
    s.own_pass.setText("password1234")
    s.own_repeat.setText("password1234")
    s.own_change.click()
    wait_until(lambda: "Not changed" in s.own_state.text(), timeout=60_000)
    assert "weak" in s.own_state.text() and "\n" not in s.own_state.text()


def test_tiny_profile_is_described_as_for_testing_only(qtbot, vault, window):
    unlock(window, qtbot, "drjones")
    window.show_settings()
    texts = " ".join(visible_texts(window.settings))
    assert "for trying things out" not in texts and "for testing the software only" in texts


def test_a_passphrase_an_admin_chose_must_be_changed_at_first_sign_in(qtbot, vault, window):
    admin = vault.unlock("admin", PASSPHRASE)
    admin.add_user("audra", "auditor", "admin chose this one for audra")
    admin.lock()
    unlock(window, qtbot, "audra", "admin chose this one for audra")
    s = window.settings
    assert window.content.currentWidget() is s and s.tabs.currentWidget() is s.account_tab
    assert not window.nav_audit.isVisible() and not window.nav_settings.isVisible()
    assert all(not s.tabs.isTabEnabled(i) for i in range(s.tabs.count()) if s.tabs.widget(i) is not s.account_tab)
    assert "Choose your own" in s.own_state.text()
    s.own_pass.setText(NEW)
    s.own_repeat.setText(NEW)
    s.own_change.click()
    wait_until(lambda: window.content.currentWidget() is window.audit, timeout=60_000)
    assert window.nav_audit.isVisible() and window.nav_settings.isVisible()
    window.lock()
    unlock(window, qtbot, "audra", NEW)                 # asked once only
    assert window.content.currentWidget() is window.audit
