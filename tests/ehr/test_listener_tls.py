"""The inbound MLLP listener over TLS, with and without sender authentication (client
certificates), against a sender built on hl7apy and Python's ssl module on loopback, with a
CA and certificates made in the test. Each attack a network peer could try is kept here:
plain TCP to a TLS port, no client certificate, a certificate from another CA, and the
configuration that would expose patient identity on the wire without an admin's consent."""

from __future__ import annotations

import socket
import ssl
import time
from pathlib import Path

import pytest
from hl7apy.parser import parse_message

from localscribe.ingest.listener import Hl7Listener
from localscribe.ingest.listener_tls import (ListenerTls, ListenerTlsError, check_transport,
                                             insecure_reasons)
from localscribe.ingest.store import ScheduleStore
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
