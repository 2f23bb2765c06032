"""Vault fixtures: a real vault file in a temp dir, with cheap (test-only) key derivation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from localscribe.config import Paths
from localscribe.vault import TEST_PARAMS, Vault

ADMIN_PASS = "admin passphrase 1"
PASSES = {"admin": ADMIN_PASS, "doc": "clinician pass 1", "asst": "assistant pass 1",
          "aud": "auditor pass 1"}
ROLES = {"doc": "clinician", "asst": "assistant", "aud": "auditor"}
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def paths(tmp_path) -> Paths:
    return Paths(data_dir=tmp_path / "data", models_dir=tmp_path / "models")


@pytest.fixture
def vault(paths) -> Vault:
    v = Vault.create(paths, "admin", ADMIN_PASS, kdf_params=TEST_PARAMS)
    admin = v.unlock("admin", ADMIN_PASS)
    for user, role in ROLES.items():
        admin.add_user(user, role, PASSES[user])
    admin.lock()
    yield v
    v.close()


def unlock(vault: Vault, user: str):
    return vault.unlock(user, PASSES[user])


def run_cli(args: list[str], data_dir: Path, user: str | None = None,
            passphrase: str | None = None, env: dict | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
    """The vault commands in a fresh process, exactly as a headless user runs them."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSCRIBE_")}
    if user:
        e["LOCALSCRIBE_USER"] = user
    if passphrase:
        e["LOCALSCRIBE_PASSPHRASE"] = passphrase
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "localscribe.cli.vault_cmd", *args,
                           "--data-dir", str(data_dir)], capture_output=True, text=True,
                          env=e, timeout=timeout, stdin=subprocess.DEVNULL)
