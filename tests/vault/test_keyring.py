"""Optional unattended unlock through a real Secret Service (gnome-keyring on a private D-Bus)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vault_helpers import unlock

HERE = Path(__file__).parent


@pytest.mark.skipif(not (shutil.which("dbus-run-session") and shutil.which("gnome-keyring-daemon")),
                    reason="needs Debian dbus + gnome-keyring (a real Secret Service)")
def test_keyring_unlock_off_by_default_then_works(vault, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / ".local/share"),
           "XDG_RUNTIME_DIR": str(tmp_path)}
    script = (f"echo -n keyringpass | gnome-keyring-daemon --unlock --components=secrets "
              f">/dev/null 2>&1; exec {sys.executable} {HERE / 'keyring_child.py'} "
              f"{vault.paths.data_dir}")
    res = subprocess.run(["dbus-run-session", "--", "sh", "-c", script], capture_output=True,
                         text=True, env=env, timeout=120, cwd=HERE)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split("\n")[:3] == ["refused-until-allowed", "keyring-unlock doc clinician",
                                          "refused-without-secret"], res.stdout + res.stderr
    methods = [e.details.get("method") for e in unlock(vault, "aud").audit_events()
               if e.action == "unlock"]
    assert "keyring" in methods
