"""Vault fixtures: a real vault file in a temp dir, with cheap (test-only) key derivation."""

from __future__ import annotations

import os

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


@pytest.fixture(autouse=True)
def _isolate_egress_config():
    """Opening a vault points the (process-wide) egress block log at its data dir and exports
    it to children; restore that afterwards so later tests do not inherit a deleted temp dir."""
    from localscribe.security import egress
    saved = {k: os.environ.get(k) for k in (egress.ENV_ALLOW, egress.ENV_LOG)}
    yield
    egress.set_block_listener(None)
    egress.set_block_log(None)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
