"""Vault fixtures: a real vault file in a temp dir, with cheap (test-only) key derivation."""

from __future__ import annotations


import pytest

from localscribe.config import Paths
from localscribe.vault import TEST_PARAMS, Vault
from vault_helpers import ADMIN_PASS, PASSES, ROLES


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
