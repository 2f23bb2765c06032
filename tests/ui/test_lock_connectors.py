"""Connectors in Settings (issue 12): an admin sets one up (kind, folder, format), it is listed
at once with its state, and Check calls the same core check as `localscribe connectors check`."""

from __future__ import annotations

from ui_helpers import unlock, wait_until


def test_admin_adds_a_file_drop_connector_sees_it_at_once_and_checks_it(qtbot, vault, window, tmp_path):
    unlock(window, qtbot, "admin")
    window.show_settings()
    panel = window.settings.connector_panel
    window.settings.tabs.setCurrentWidget(panel)
    assert panel.table.rowCount() == 0
    wait_until(lambda: panel.kind.findData("filedrop") >= 0, timeout=30_000)   # found off the UI thread
    panel.name.setText("drop")
    panel.kind.setCurrentIndex(panel.kind.findData("filedrop"))
    assert {"folder", "format"} <= set(panel.fields)
    panel.fields["folder"].setText(str(tmp_path / "missing"))
    panel.save_button.click()
    assert panel.table.rowCount() == 1 and panel.table.item(0, 0).text() == "drop"   # no reopening
    assert panel.table.item(0, 1).text() == "filedrop"
    panel.check_button.click()
    wait_until(lambda: "failed" in panel.table.item(0, 2).text(), timeout=30_000)
    assert "does not exist" in panel.table.item(0, 2).text()

    (tmp_path / "inbox").mkdir()
    panel.fields["folder"].setText(str(tmp_path / "inbox"))
    panel.fields["format"].setText("nonsense")
    panel.save_button.click()
    assert "Not saved" in panel.state.text() and "format" in panel.state.text()     # one clear line
    panel.fields["format"].setText("text")
    panel.save_button.click()
    assert "✓ Saved drop" in panel.state.text()
    panel.check_button.click()
    wait_until(lambda: "ok" in panel.table.item(0, 2).text(), timeout=30_000)
    from localscribe.ehr.service import EhrService
    assert EhrService.from_session(window.session).check("drop").ok     # the CLI's own call agrees
