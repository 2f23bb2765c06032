"""The egress guard blocks non-allowlisted destinations before anything leaves, in the main
process and in worker processes; blocked attempts reach the audit trail; loopback works.

Each scenario runs in a fresh process: an audit hook cannot be removed once installed.
Nothing here sends a packet off the machine: 192.0.2.1 / 198.51.100.7 are TEST-NET addresses
and the guard refuses them before the socket call reaches the OS.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from localscribe.config import Paths
from localscribe.security.egress import Endpoint
from localscribe.vault import TEST_PARAMS, Vault

HERE = Path(__file__).parent


@pytest.fixture
def vault_dir(tmp_path):
    paths = Paths(tmp_path / "data", tmp_path / "models")
    v = Vault.create(paths, "admin", "admin passphrase", kdf_params=TEST_PARAMS)
    admin = v.unlock("admin", "admin passphrase")
    admin.add_user("doc", "clinician", "doc passphrase")
    admin.allow_endpoint("ehr.example.test", 443)
    admin.lock()
    v.close()
    return paths.data_dir


def _run_child(data_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSCRIBE_EGRESS")}
    res = subprocess.run([sys.executable, str(HERE / "egress_child.py"), str(data_dir), "doc",
                          "doc passphrase"], capture_output=True, text=True, env=env,
                         timeout=120, cwd=HERE)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_blocked_in_main_and_worker_audited_loopback_works(vault_dir):
    out = _run_child(vault_dir)
    for where in ("main", "worker"):
        r = out[where]
        assert r["connect"] == "blocked", (where, r)
        assert "192.0.2.1:80" in r["message"] and "allowlist" in r["message"]
        assert r["syn_sent"] is False, f"{where}: a connect reached the kernel"
        assert (r["dns"], r["create_connection"], r["udp"]) == ("blocked",) * 3, (where, r)
        assert r["loopback"] == "ping"
        assert r["probe_sees_loopback"] is True
        assert r["allowlist"] == ["ehr.example.test:443"], "worker must inherit the allowlist"
    assert out["main"]["pid"] != out["worker"]["pid"]
    audited = out["audited"]
    for where in ("main", "worker"):
        pid = out[where]["pid"]
        targets = {a["object"] for a in audited if a["pid"] == pid}
        assert {"192.0.2.1:80", "example.com:443", "192.0.2.1:443", "198.51.100.7:53"} <= targets, \
            (where, targets)
    log = (vault_dir / "egress-blocked.jsonl").read_text().splitlines()
    assert len(log) == len(audited)
    assert all(set(json.loads(line)) == {"time", "pid", "event", "host", "port"} for line in log)


def test_endpoint_parsing():
    assert str(Endpoint.parse("EHR.example.test:443")) == "ehr.example.test:443"
    assert Endpoint.parse("[2001:db8::1]:2575") == Endpoint("2001:db8::1", 2575)
    assert Endpoint.parse("2001:db8::1") == Endpoint("2001:db8::1", None)
    with pytest.raises(ValueError):
        Endpoint.parse("")


def test_allowlist_decisions_in_fresh_process():
    code = """
from localscribe.security import egress
egress.install_guard()
cap = egress.claim_authority()
egress.allow("192.0.2.10", 443, capability=cap)
egress.allow("192.0.2.20", capability=cap)
c = egress.check_destination
print(c("192.0.2.10", 443), c("192.0.2.10", 80), c("192.0.2.20", 1), c("192.0.2.30", 443),
      c("127.8.9.10", 5), c("::1", 5), c("localhost", 5), c("::ffff:127.0.0.1", 5))
import socket
s = socket.socket(socket.AF_UNIX)
try:
    s.connect("/nonexistent/sock")
except FileNotFoundError:
    print("unix ok")
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split("\n")[0] == "True False True False True True True True"
    assert "unix ok" in res.stdout


def test_allowlisted_host_name_admits_its_resolved_addresses_only():
    # FAKE (named): the hospital's DNS cannot exist here, so the resolver answers from a table.
    code = """
import socket
table = {"ehr.example.test": "192.0.2.55"}
real = socket.getaddrinfo
def fake_dns(host, port, *a, **k):
    if host in table:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (table[host], port or 0))]
    return real(host, port, *a, **k)
socket.getaddrinfo = fake_dns
from localscribe.security import egress
egress.install_guard()
egress.allow("ehr.example.test", 443, capability=egress.claim_authority())
c = egress.check_destination
print(c("ehr.example.test", 443), c("192.0.2.55", 443), c("192.0.2.55", 80), c("192.0.2.56", 443))
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["True", "True", "False", "False"]
