"""A connector from a separately installed package is discovered through the
``localscribe.connectors`` entry point and used, without touching LocalScribe's code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent / "third_party_connector"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """pip-install the package (its own pyproject.toml) into a private folder."""
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    # Build from a copy so no build/ or egg-info lands in the source tree.
    import shutil

    src = build / "src"
    shutil.copytree(PACKAGE, src, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    # pip's ordinary isolated build: it fetches setuptools like any user's install would.
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                        "--target", str(target), str(src)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert list(target.glob("practice_connector-0.1.0.dist-info"))
    return target


def run(code: str, site: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get(
        "PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_cli_lists_the_installed_package(site):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSCRIBE_")}
    env["PYTHONPATH"] = str(site)
    r = subprocess.run([sys.executable, "-m", "localscribe.cli.ehr_cmd", "connectors", "list",
                        "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    kinds = {i["kind"]: i for i in json.loads(r.stdout)["installed"]}
    assert kinds["practice-inbox"]["distribution"] == "practice-connector"
    assert kinds["fhir-r4"]["distribution"] == "localscribe"


def test_configured_and_used_through_the_outbox(site, tmp_path):
    code = """
        import os, sys, json
        from localscribe.vault.crypto import FieldCipher
        from localscribe.vault.db import connect
        from localscribe.ehr.service import EhrService
        from localscribe.domain import Patient, SignedNote

        folder = sys.argv[1]
        from pathlib import Path
        service = EhrService(connect(Path(folder) / "vault.sqlite"),
                             FieldCipher(os.urandom(32)))
        inbox = os.path.join(folder, "inbox.jsonl")
        service.configure("practice", {"inbox": inbox}, kind="practice-inbox")
        note = SignedNote("n-1", "e-1", 1, "Plan: rest.", "soap", Patient("A", "MRN-9"),
                          "Dr X", "2026-11-26T10:00:00Z")
        first = service.send(note, "practice")
        again = service.send(note, "practice")
        lines = open(inbox).read().splitlines()
        print(json.dumps({"state": first.state, "again": again.id == first.id,
                          "lines": len(lines), "mrn": json.loads(lines[0])["mrn"]}))
    """
    r = run(code, site, str(tmp_path))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out == {"state": "delivered", "again": True, "lines": 1, "mrn": "MRN-9"}


def test_not_installed_means_not_found():
    from localscribe.ehr import registry

    assert "practice-inbox" not in registry.discover().connectors
