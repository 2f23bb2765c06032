"""The inbound MLLP listener over TLS, with and without sender authentication (client
certificates), against a sender built on hl7apy and Python's ssl module on loopback, with a
CA and certificates made in the test. Each attack a network peer could try is kept here:
plain TCP to a TLS port, no client certificate, a certificate from another CA, and the
configuration that would expose patient identity on the wire without an admin's consent."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hl7apy.parser import parse_message

from localscribe.ingest.listener import Hl7Listener
from localscribe.ingest.listener_tls import (ListenerTls, ListenerTlsError, check_transport,
                                             insecure_reasons)
from localscribe.ingest.store import ScheduleStore
from tests.support.cli_vault import PASS, vdir  # noqa: F401 (the fixture)

from conftest import free_port
from test_ingest_hl7 import siu
from tls_util import make_ca_and_cert


@pytest.fixture
def pki(tmp_path):
    (tmp_path / "ours").mkdir()
    (tmp_path / "theirs").mkdir()
    ca, cert, key, ccert, ckey = make_ca_and_cert(tmp_path / "ours", "127.0.0.1", client=True)
    _, _, _, other_cert, other_key = make_ca_and_cert(tmp_path / "theirs", "127.0.0.1", client=True)
    return {"ca": str(ca), "cert": str(cert), "key": str(key), "client_cert": str(ccert),
            "client_key": str(ckey), "foreign_cert": str(other_cert), "foreign_key": str(other_key)}


class Events(list):
    def __call__(self, kind, detail):
        self.append((kind, detail))

    def wait_for(self, n, kind="ingest.hl7.refused"):
        """The listener logs a failed handshake in its own thread, maybe after the client saw it."""
        deadline = time.monotonic() + 10
        while len([k for k, _ in self if k == kind]) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return [d for k, d in self if k == kind]


def listen(db, cipher, tls, events=None):
    store = ScheduleStore(db, cipher)
    lst = Hl7Listener(lambda v, raw, kind: store.put(v, raw, kind)[0], tls=tls,
                      on_event=events).start()
    return lst, store


def tls_send(port, message, ca, cert=None, key=None):
    """An MLLP sender over TLS: Python's ssl client, verifying the listener against ``ca``."""
    ctx = ssl.create_default_context(cafile=ca)
    if cert:
        ctx.load_cert_chain(cert, key)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
        s.sendall(b"\x0b" + message.encode() + b"\x1c\x0d")
        buf = b""
        while not buf.endswith(b"\x1c\x0d"):
            chunk = s.recv(4096)
            if not chunk:
                raise ConnectionError("listener closed without an ACK")
            buf += chunk
    return parse_message(buf[1:-2].decode(), find_groups=False)


def test_tls_listener_acknowledges_and_stores(db, cipher, pki):
    lst, store = listen(db, cipher, ListenerTls(pki["cert"], pki["key"]))
    try:
        ack = tls_send(lst.port, siu(control="TLS-1", mrn="MRN-T1"), pki["ca"])
    finally:
        lst.stop()
    assert ack.msa.msa_1.to_er7() == "AA" and ack.msa.msa_2.to_er7() == "TLS-1"
    assert [v.patient_id for v in store.day("2026-11-29")] == ["MRN-T1"]


def test_plain_tcp_to_a_tls_listener_stores_nothing(db, cipher, pki):
    events = Events()
    lst, store = listen(db, cipher, ListenerTls(pki["cert"], pki["key"]), events)
    try:
        with socket.create_connection(("127.0.0.1", lst.port), timeout=10) as s:
            s.sendall(b"\x0b" + siu(control="PLAIN").encode() + b"\x1c\x0d")
            s.settimeout(10)
            try:
                answer = s.recv(4096)
            except ConnectionResetError:
                answer = b""
        refused = events.wait_for(1)
    finally:
        lst.stop()
    assert b"MSA" not in answer                 # no ACK: the bytes never reached the parser
    assert store.day("2026-11-29") == []
    assert len(refused) == 1 and refused[0]["reason"].startswith("TLS handshake failed")


def test_sender_authentication_refuses_unknown_senders(db, cipher, pki):
    events = Events()
    tls = ListenerTls(pki["cert"], pki["key"], client_ca_file=pki["ca"])
    lst, store = listen(db, cipher, tls, events)
    try:
        for cert, key in ((None, None), (pki["foreign_cert"], pki["foreign_key"])):
            # TLS 1.3 reports the refused client certificate after the client's handshake:
            # on the first read (or write) at the latest.
            with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
                tls_send(lst.port, siu(control="INTRUDER", mrn="MRN-X"), pki["ca"], cert, key)
        assert store.day("2026-11-29") == []
        ack = tls_send(lst.port, siu(control="KNOWN", mrn="MRN-K"), pki["ca"],
                       pki["client_cert"], pki["client_key"])
        refused = [d["reason"] for d in events.wait_for(2)]
    finally:
        lst.stop()
    assert ack.msa.msa_1.to_er7() == "AA"
    assert [v.patient_id for v in store.day("2026-11-29")] == ["MRN-K"]
    assert len(refused) == 2 and all(r.startswith("TLS handshake failed") for r in refused)
    accepted = [d for k, d in events if k == "ingest.hl7.accepted"]
    assert accepted == [{"kind": "SIU^S12", "visit": accepted[0]["visit"], "sender": "localscribe"}]


def test_plain_tcp_off_loopback_needs_an_admins_consent(db, cipher):
    assert insecure_reasons("127.0.0.1", None) == [] and insecure_reasons("::1", None) == []
    with pytest.raises(ListenerTlsError, match="refused, plain TCP on 10.1.2.3") as err:
        Hl7Listener(lambda *a: None, "10.1.2.3", allowed=["10.1.2.3"])
    assert "\n" not in str(err.value)
    check_transport("10.1.2.3", None, insecure=True)                 # an admin accepted it
    check_transport("10.1.2.3", ListenerTls("c", "k"), insecure=False)  # TLS needs no consent


def test_unusable_certificate_files_fail_at_start_with_one_line(tmp_path, pki):
    (tmp_path / "junk.pem").write_text("not a certificate")
    for tls, words in ((ListenerTls(str(tmp_path / "missing.pem"), pki["key"]), "missing.pem"),
                       (ListenerTls(str(tmp_path / "junk.pem"), pki["key"]), "junk.pem"),
                       (ListenerTls(pki["client_cert"], pki["key"]), "server.key"),   # key mismatch
                       (ListenerTls(pki["cert"], pki["key"], str(tmp_path / "nope.pem")),
                        "client CA file")):
        with pytest.raises(ListenerTlsError, match=words) as err:
            Hl7Listener(lambda *a: None, tls=tls)
        assert "\n" not in str(err.value) and Path(pki["key"]).read_text() not in str(err.value)


# ---------------------------------------------------------------- configuration and the CLI

def test_admin_configures_tls_clinician_listens_and_only_known_senders_are_stored(vdir, pki):
    """`schedule listener` (admin) -> `schedule listen` (clinician, a fresh process) -> an
    authenticated TLS sender is stored, an unauthenticated one is not; audited."""
    refused = vdir.run("schedule", "listener", "--tls-cert", pki["cert"], "--tls-key", pki["key"])
    assert refused.returncode == 3 and "may not configure" in refused.stderr    # a clinician
    bad = vdir.run("schedule", "listener", "--tls-cert", pki["cert"], user="admin")
    assert bad.returncode != 0 and "go together" in bad.stderr
    ok = vdir.run("schedule", "listener", "--tls-cert", pki["cert"], "--tls-key", pki["key"],
                  "--client-ca", pki["ca"], "--port", str(free_port()), "--json", user="admin")
    assert ok.returncode == 0, ok.stderr
    config = json.loads(ok.stdout)
    assert config["client_ca"] == pki["ca"] and config["insecure_reasons"] == []

    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSCRIBE_")}
    env.update(LOCALSCRIBE_USER="doc", LOCALSCRIBE_PASSPHRASE=PASS,
               LOCALSCRIBE_DATA_DIR=str(vdir.paths.data_dir))
    proc = subprocess.Popen([sys.executable, "-m", "localscribe", "schedule", "listen"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    try:
        line = proc.stdout.readline()
        assert line.startswith("listening 127.0.0.1:") and \
            "(TLS, sender certificates required)" in line, (line, proc.stderr.read()
                                                             if proc.poll() is not None else "")
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            tls_send(config["port"], siu(control="ANON", mrn="MRN-ANON"), pki["ca"])
        ack = tls_send(config["port"], siu(control="AUTH", mrn="MRN-AUTH"), pki["ca"],
                       pki["client_cert"], pki["client_key"])
        assert ack.msa.msa_1.to_er7() == "AA"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "1 accepted" in out
    listed = json.loads(vdir.run("schedule", "list", "--date", "2026-11-29", "--json").stdout)
    assert [v["patient_id"] for v in listed["visits"]] == ["MRN-AUTH"]
    aud = vdir.session("aud")
    try:
        events = [(e.action, e.outcome) for e in aud.audit_events()]
    finally:
        aud.lock()
    assert ("schedule.listener.configure", "ok") in events
    assert ("schedule.refuse", "refused") in events and ("schedule.receive", "ok") in events


def test_plain_tcp_off_loopback_is_an_admins_explicit_audited_choice(vdir):
    from localscribe.ingest.listener_config import configure, load
    from localscribe.vault import settings as vault_settings

    admin = vdir.session("admin")
    try:
        admin.set_setting(vault_settings.EGRESS_ALLOW, ["10.1.2.3"])
        with pytest.raises(ListenerTlsError, match="plain TCP on 10.1.2.3"):
            configure(admin, {"host": "10.1.2.3"})
        assert load(admin).host == "127.0.0.1"            # nothing saved
        assert configure(admin, {"host": "10.1.2.3"}, insecure=True).insecure
        # The security report's list of insecure connections shows the waiver.
        from localscribe.ehr.service import insecure_connectors
        [shown] = insecure_connectors(admin.db)
        assert shown["name"] == "hl7-listener" and "plain TCP on 10.1.2.3" in shown["reasons"][0]
        # The next change must accept it again, or it is refused: the waiver is not sticky.
        with pytest.raises(ListenerTlsError):
            configure(admin, {"port": 2600})
        back = configure(admin, {"host": "127.0.0.1"})       # loopback needs no waiver
        assert back.insecure is False and insecure_connectors(admin.db) == []
    finally:
        admin.lock()
    shown = vdir.run("schedule", "listener", "--json", user="aud")
    assert shown.returncode == 0 and json.loads(shown.stdout)["host"] == "127.0.0.1"
