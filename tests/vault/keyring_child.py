"""Run inside a D-Bus session with gnome-keyring unlocked (see test_keyring.py)."""

import sys
from pathlib import Path

from localscribe.config import Paths
from localscribe.vault import AuthError, PermissionDenied, Vault

data_dir = Path(sys.argv[1])
vault = Vault.open(Paths(data_dir, data_dir / "models"))
doc = vault.unlock("doc", "clinician pass 1")
try:
    doc.enable_keyring_unlock()
    print("enabled-without-admin")
except PermissionDenied:
    print("refused-until-allowed")
admin = vault.unlock("admin", "admin passphrase 1")
admin.set_setting("security.keyring_unlock_allowed", True)
doc.enable_keyring_unlock()
doc.lock()
again = vault.unlock_with_keyring("doc")
print("keyring-unlock", again.user, again.role.value)
import keyring  # noqa: E402 - only this cleanup talks to the keyring directly
keyring.delete_password("LocalScribe vault", f"{vault.vault_id}:doc")
try:
    vault.unlock_with_keyring("doc")
    print("unlocked-without-secret")
except AuthError:
    print("refused-without-secret")
