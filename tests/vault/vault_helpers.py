"""Shared helpers for the vault tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from localscribe.vault import Vault

ADMIN_PASS = "admin passphrase 1"
PASSES = {"admin": ADMIN_PASS, "doc": "clinician pass 1", "asst": "assistant pass 1",
          "aud": "auditor pass 1"}
ROLES = {"doc": "clinician", "asst": "assistant", "aud": "auditor"}
REPO = Path(__file__).resolve().parents[2]


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
