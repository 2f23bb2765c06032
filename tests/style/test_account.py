"""A style goes with its account, and a reset leaves no copy on disk: read as an attacker with
the vault file (database and write-ahead log) would, after `style reset` and after an admin
disables the clinician. A passphrase change (own, or an admin's reset) keeps the same
clinician, so their style stays theirs: it is sealed under the PHI key, not their wrap."""

from __future__ import annotations

import sqlite3

from localscribe.style import store
from localscribe.vault import Vault

from tests.style.test_store import _add_clinician, _disk, _doc_after_three_signings, _events, _sign
from tests.support.cli_vault import PASS, vdir  # noqa: F401 (fixture)


def _body(v, user: str) -> bytes:
    raw = sqlite3.connect(v.paths.vault_db)
    try:
        (body,) = raw.execute("SELECT body FROM style_profiles WHERE user = ?", (user,)).fetchone()
    finally:
        raw.close()
    return bytes(body)


def _ciphertext_on_disk(v, body: bytes) -> bool:
    # Any 32-byte run of the sealed body is as good as the body for someone holding the key.
    disk = _disk(v)
    return any(body[i:i + 32] in disk for i in range(0, len(body) - 32, 32))


def test_reset_leaves_no_copy_of_the_sealed_history_in_the_file_or_its_log(vdir):
    s = _doc_after_three_signings(vdir)
    body = _body(vdir, "doc")
    assert _ciphertext_on_disk(vdir, body)                   # the probe finds it while it exists
    assert store.reset(s) == 3
    assert not _ciphertext_on_disk(vdir, body)
    s.lock()


def test_disabling_a_clinician_erases_their_style_only(vdir):
    _add_clinician(vdir, "doc2")
    s = _doc_after_three_signings(vdir)
    s.lock()
    other = vdir.session("doc2")
    for i in range(3):
        _sign(other, i)
    theirs = store.profile(other)
    other.lock()
    body = _body(vdir, "doc")

    admin = vdir.session("admin")
    admin.disable_user("doc")
    admin.lock()
    raw = sqlite3.connect(vdir.paths.vault_db)
    assert [r[0] for r in raw.execute("SELECT user FROM style_profiles")] == ["doc2"]
    raw.close()
    assert not _ciphertext_on_disk(vdir, body)
    (ev,) = [e for e in _events(vdir, "style.reset")]
    assert (ev.actor, ev.object, ev.details) == ("admin", "doc", {"notes": 3, "reason": "user.disable"})
    other = vdir.session("doc2")
    assert store.profile(other) == theirs                    # another clinician's is untouched
    other.lock()


def test_disabling_an_account_without_a_style_is_not_a_style_event(vdir):
    admin = vdir.session("admin")
    admin.disable_user("asst")
    admin.lock()
    assert _events(vdir, "style.reset") == []


def test_a_passphrase_change_or_admin_reset_keeps_the_clinicians_style(vdir):
    _add_clinician(vdir, "doc2")
    s = _doc_after_three_signings(vdir)
    learned = store.profile(s)
    s.set_passphrase("doc", "a brand new passphrase for doc")
    s.lock()
    s = Vault.open(vdir.paths).unlock("doc", "a brand new passphrase for doc")
    assert store.profile(s) == learned
    s.lock()

    admin = vdir.session("admin")
    admin.set_passphrase("doc", PASS)                        # new personal keys, grant dropped
    admin.lock()
    vdir.session("doc2").lock()                              # a clinician's sign-in grants it again
    s = vdir.session("doc")
    assert store.profile(s) == learned
    s.lock()
