"""Connector settings validation and storage, the registry, and the egress allowlist."""

from __future__ import annotations

import pytest

from localscribe.ehr import registry
from localscribe.ehr.protocol import ConnectorError, Setting, SettingsError
from localscribe.ehr.service import EhrService
from localscribe.ehr.settings import validate_settings
from localscribe.security import egress


def test_validation_names_every_problem():
    specs = (Setting("url", "url", required=True), Setting("n", "int", default=3),
             Setting("flag", "bool"), Setting("mode", "choice", choices=("a", "b")),
             Setting("token", "secret"))
    with pytest.raises(SettingsError) as err:
        validate_settings("x", specs, {"url": "ftp://h", "n": "three", "flag": "maybe",
                                       "mode": "c", "typo": "1"})
    text = str(err.value)
    for needle in ("'url'", "'n'", "'flag'", "'mode'", "unknown setting 'typo'"):
        assert needle in text, needle
    settings, secrets = validate_settings("x", specs, {"url": "https://h/fhir/", "flag": "yes",
                                                       "token": "s3cret"})
    assert settings == {"url": "https://h/fhir", "n": 3, "flag": True}
    assert secrets == {"token": "s3cret"}


def test_configure_seals_secrets_merges_updates_and_leaves_egress_to_the_admin(tmp_path, db, cipher, audit):
    service = EhrService(db, cipher, audit)
    service.configure("ehr", {"base_url": "https://ehr.example.org:8443/fhir",
                              "mrn_system": "urn:oid:1.2.3", "token": "tok-XYZ-123"},
                      kind="fhir-r4")
    # A connector's endpoints never open egress by themselves: only the admin's allowlist.
    assert not egress.check_destination("ehr.example.org", 8443)
    raw = (tmp_path / "vault.sqlite").read_bytes() + \
        (tmp_path / "vault.sqlite-wal").read_bytes()
    assert b"tok-XYZ-123" not in raw
    service.configure("ehr", {"timeout_seconds": "5"})       # update one setting
    c = service.connector("ehr")
    assert c.config.get("token") == "tok-XYZ-123" and c.config.get("timeout_seconds") == 5.0
    with pytest.raises(SettingsError) as err:                # bearer without a token
        service.configure("ehr2", {"base_url": "https://h/fhir", "mrn_system": "s"},
                          kind="fhir-r4")
    assert "token" in str(err.value)
    assert [n for n, _ in service.store.names()] == ["ehr"]  # nothing saved
    details = [d for a, _, _, d in audit if a == "ehr.connector.configure"][0]
    assert details["secrets"] == ["token"] and "tok-XYZ-123" not in repr(audit)


def test_unknown_kind_and_unconfigured_name_are_clear(db, cipher):
    service = EhrService(db, cipher)
    with pytest.raises(ConnectorError) as err:
        service.configure("x", {}, kind="carrier-pigeon")
    assert "no connector of kind 'carrier-pigeon'" in str(err.value) and "fhir-r4" in str(err.value)
    with pytest.raises(ConnectorError) as err:
        service.connector("nope")
    assert "no connector named 'nope'" in str(err.value)


def test_a_broken_plugin_is_reported_not_fatal(tmp_path, monkeypatch):
    # A distribution whose entry point names a module that does not exist.
    dist = tmp_path / "broken_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[localscribe.connectors]\nbroken = no_such_module_xyz:Connector\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = registry.discover()
    assert "broken" not in found.connectors and "fhir-r4" in found.connectors
    assert any("broken" in p and "broken-plugin" in p for p in found.problems)
