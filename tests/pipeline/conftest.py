"""Pipeline fixtures: a real vault (test-cost key derivation), the real tiny models."""

from __future__ import annotations


import pytest

from localscribe.config import Paths, resolve_paths
from localscribe.domain import Patient
from localscribe.models import ModelError, select_models
from localscribe.vault import TEST_PARAMS, Vault

PASS = "correct horse battery staple"


@pytest.fixture(scope="session")
def tiny_models():
    try:
        return select_models("tiny", resolve_paths())
    except ModelError as exc:
        pytest.fail(f"the tiny models must be installed for the pipeline tests: {exc}")


@pytest.fixture
def clinician_session(tmp_path):
    paths = Paths(data_dir=tmp_path / "data", models_dir=resolve_paths().models_dir)
    vault = Vault.create(paths, "admin", PASS, kdf_params=TEST_PARAMS)
    admin = vault.unlock("admin", PASS)
    admin.add_user("drlee", "clinician", PASS)
    admin.add_user("audrey", "auditor", PASS)
    admin.lock()
    session = vault.unlock("drlee", PASS)
    session.auditor = lambda: vault.unlock("audrey", PASS)   # for tests that read the trail
    yield session
    session.lock()
    vault.close()


@pytest.fixture
def encounter(clinician_session):
    return clinician_session.create_encounter(Patient(name="Test Patient", mrn="MRN-0001"), "soap")
