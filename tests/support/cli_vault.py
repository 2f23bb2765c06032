"""A vault for headless CLI tests: a real vault file with a clinician, an assistant and an
auditor, a practice template kept outside the data directory, and the `localscribe` command
run in a fresh process against it."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from localscribe.config import Paths
from localscribe.vault import TEST_PARAMS, Vault

PASS = "correct horse battery staple"

# A practice's H&P kept outside the data directory (what `--template PATH` is for).
PRACTICE_HP = """\
name = "Practice H&P"
loinc = "34117-2"
loinc_display = "History and physical note"
note_tokens = 160

[[sections]]
key = "cc"
title = "CHIEF COMPLAINT"
min_statements = 1
max_statements = 2
guidance = "The main reason for the visit in a few words."

[[sections]]
key = "plan"
title = "PLAN"
max_statements = 3
guidance = "What was decided: tests, medications, follow-up."
"""


@dataclass
class VaultDir:
    paths: Paths
    template: Path

    def run(self, *args: str, user: str = "doc", stdin: str | None = None,
            env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        base = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSCRIBE_")}
        base.update({"LOCALSCRIBE_USER": user, "LOCALSCRIBE_PASSPHRASE": PASS,
                     "LOCALSCRIBE_DATA_DIR": str(self.paths.data_dir)})
        base.update(env or {})
        return subprocess.run([sys.executable, "-m", "localscribe", *args], input=stdin,
                              capture_output=True, text=True, env=base, timeout=timeout,
                              stdin=None if stdin is not None else subprocess.DEVNULL)

    def session(self, user: str = "doc"):
        return Vault.open(self.paths).unlock(user, PASS)


def make_vault(root: Path) -> VaultDir:
    paths = Paths(data_dir=root / "data", models_dir=root / "unused")
    vault = Vault.create(paths, "admin", PASS, kdf_params=TEST_PARAMS)
    admin = vault.unlock("admin", PASS)
    admin.add_user("doc", "clinician", PASS)
    admin.add_user("asst", "assistant", PASS)
    admin.add_user("aud", "auditor", PASS)
    admin.lock()
    vault.close()
    elsewhere = root / "elsewhere" / "our templates"
    elsewhere.mkdir(parents=True)
    template = elsewhere / "practice_hp.toml"
    template.write_text(PRACTICE_HP, encoding="utf-8")
    return VaultDir(paths, template)


@pytest.fixture
def vdir(tmp_path) -> VaultDir:
    return make_vault(tmp_path)

