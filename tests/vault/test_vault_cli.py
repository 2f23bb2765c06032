"""The vault commands headless: passphrase from the environment, clear errors, exit codes."""

import json

from localscribe.vault import TEST_PARAMS, Vault

from vault_helpers import PASSES, run_cli


def test_init_then_users_lifecycle(tmp_path, paths):
    # init with the real (slow, ~0.5 s) key derivation, once
    res = run_cli(["init"], paths.data_dir, "boss", "boss passphrase")
    assert res.returncode == 0, res.stderr
    assert "first admin: boss" in res.stdout
    again = run_cli(["init"], paths.data_dir, "boss", "boss passphrase")
    assert again.returncode == 2 and "already exists" in again.stderr
    add = run_cli(["users", "add", "kim", "--role", "clinician"], paths.data_dir, "boss",
                  "boss passphrase", env={"LOCALSCRIBE_NEW_PASSPHRASE": "kim passphrase"})
    assert add.returncode == 0, add.stderr
    listed = run_cli(["users", "list", "--json"], paths.data_dir, "boss", "boss passphrase")
    assert {(u["user"], u["role"]) for u in json.loads(listed.stdout)} == {
        ("boss", "admin"), ("kim", "clinician")}
    pw = run_cli(["users", "passwd"], paths.data_dir, "kim", "kim passphrase",
                 env={"LOCALSCRIBE_NEW_PASSPHRASE": "kim new passphrase"})
    assert pw.returncode == 0, pw.stderr
    denied = run_cli(["users", "list"], paths.data_dir, "kim", "kim passphrase")
    assert denied.returncode == 3 and "wrong user name or passphrase" in denied.stderr
    not_admin = run_cli(["users", "disable", "boss"], paths.data_dir, "kim", "kim new passphrase")
    assert not_admin.returncode == 3 and "not allowed" in not_admin.stderr
    dis = run_cli(["users", "disable", "kim"], paths.data_dir, "boss", "boss passphrase")
    assert dis.returncode == 0, dis.stderr
    gone = run_cli(["users", "list"], paths.data_dir, "kim", "kim new passphrase")
    assert gone.returncode == 3 and "wrong user name or passphrase" in gone.stderr


def test_missing_passphrase_and_user_are_clear_errors(vault):
    no_pass = run_cli(["users", "list"], vault.paths.data_dir, "admin")
    assert no_pass.returncode == 2 and "LOCALSCRIBE_PASSPHRASE" in no_pass.stderr
    no_user = run_cli(["users", "list"], vault.paths.data_dir, None, PASSES["admin"])
    assert no_user.returncode == 2 and "LOCALSCRIBE_USER" in no_user.stderr


def test_lock_and_settings(vault):
    res = run_cli(["lock"], vault.paths.data_dir)
    assert res.returncode == 0 and "lock requested" in res.stdout
    res = run_cli(["settings", "set", "retention.audio_days", "14"], vault.paths.data_dir,
                  "admin", PASSES["admin"])
    assert res.returncode == 0, res.stderr
    shown = run_cli(["settings", "show", "--json"], vault.paths.data_dir)
    assert json.loads(shown.stdout)["retention.audio_days"] == 14
    assert Vault.open(vault.paths).kdf_default == TEST_PARAMS
