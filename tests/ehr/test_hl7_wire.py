"""HL7 v2 over MLLP as an attacker would try to break it (issue 11): content that tries to end
segments or the MLLP frame, ACKs that acknowledge nothing, bad birth dates, plain TCP to a
remote host. The receiver is hl7apy's MLLPServer; it decodes with its own unescaper."""

from __future__ import annotations

import socket
import ssl

import pytest
from hl7apy.parser import parse_message

from localscribe.domain import Patient
from localscribe.ehr.hl7_mllp import Hl7MllpConnector
from localscribe.ehr.hl7v2 import build_mdm, control_id
from localscribe.ehr.mllp import frame
from localscribe.ehr.outbox import DELIVERED, QUEUED
from localscribe.ehr.patient import PatientDataInvalid
from localscribe.ehr.protocol import ConnectorConfig, DeliveryError, InsecureSettings
from localscribe.ehr.service import EhrService, insecure_connectors

from conftest import Receiver, hl7_unescape, make_note, note_text, wire

# Every way we know to end a segment, a field or the frame, and text that looks like escapes.
HOSTILE = ("HPI\r\nCRLF line\rbare CR\nLF only\n| ^ ~ \\ & \\F\\ \\X0D\\ \\.br\\ \\E\\\n"
           "\x0b start-of-block \x1c end-of-block \x1c\r frame end inside\n"
           "MSH|^~\\&|FORGED|\rOBX|99|TX|||injected||||||F\n"
           "nel\u0085 ls\u2028 ps\u2029 tab\t nul\x00 del\x7f\n\n  trailing spaces  \n\r\n")


def connector(port, **extra):
    settings = {"host": "127.0.0.1", "port": port, "timeout_seconds": 5,
                "resend_on_timeout": 1, "mrn_authority": "CLINIC", **extra}
    return Hl7MllpConnector(ConnectorConfig(name="hl7", kind="hl7v2-mllp", settings=settings),
                            None)


def received_text(message: str) -> str:
    return note_text(message)


def hostile_note(i=0):
    note = make_note(i, text=HOSTILE)
    patient = Patient(name="Silva, Ana\rPID|1||FORGED", mrn="MRN\r\x1c\r|7^X",
                      birth_date="1980-02-29")
    return note.__class__(**{**note.__dict__, "patient": patient})


def test_hostile_note_arrives_exact_and_once(receiver):
    note = hostile_note(1)
    receipt = connector(receiver.port).push(note)
    assert receipt.delivered
    assert len(receiver.received) == 1 and list(receiver.documents) == [note.note_id]
    msg = receiver.received[0]
    assert received_text(msg) == note.text                     # exact, every CR/LF/CRLF kept
    # The structure is ours alone: the segments we wrote, nothing injected.
    names = [seg[:3] for seg in msg.split("\r") if seg]
    assert names == ["MSH", "EVN", "PID", "PV1", "TXA", "OBX"]
    assert receiver.invalid == []                              # strictly valid
    parsed = parse_message(msg, find_groups=False)
    assert hl7_unescape(wire(parsed.pid.pid_3)) == note.patient.mrn
    assert parsed.pid.pid_7.to_er7() == "19800229"
    assert "FORGED" not in parsed.pid.pid_3.to_er7()
    assert not any(c in msg for c in "\x0b\x1c\n\x00\x85\u2028"), "raw control in message"


def test_no_framing_byte_reaches_the_wire():
    """On the bytes the socket gets: one 0x0B at the start, one 0x1C at the end, none inside."""
    data = frame(build_mdm(hostile_note(2)))
    assert data.count(b"\x0b") == 1 and data.startswith(b"\x0b")
    assert data.count(b"\x1c") == 1 and data.endswith(b"\x1c\r")
    with pytest.raises(ValueError):
        frame("MSH|^~\\&|\rOBX|1|TX|||a\x1c\rb")      # the last line refuses a raw one


@pytest.mark.parametrize("msa2", ["", "LS000000000000000000", "ACK-FOR-SOMETHING-ELSE"])
def test_an_ack_that_names_another_message_is_not_a_delivery(receiver, db, cipher, audit,
                                                             msa2):
    receiver.msa2 = msa2
    service = EhrService(db, cipher, audit)
    service.configure("hl7", {"host": "127.0.0.1", "port": receiver.port,
                              "timeout_seconds": 5, "resend_on_timeout": 0},
                      kind="hl7v2-mllp")
    note = make_note(3)
    job = service.send(note, "hl7")
    assert job.state == QUEUED, "an AA for another message must not count"
    assert "MSA-2" in job.last_error
    receiver.msa2 = None                        # the receiver is fixed; the retry counts once
    service.outbox.retry(job.id)
    job = service.outbox.attempt(job.id, service._resolve)
    assert job.state == DELIVERED
    assert list(receiver.documents) == [note.note_id] and receiver.duplicates == 1


@pytest.mark.parametrize("dob,problem", [("1980-02-30", "calendar"), ("29/02/1980", "ISO"),
                                         ("2999-01-01", "future"), ("1980-02-29\rPID|", "ISO")])
def test_a_bad_birth_date_stops_the_send(receiver, dob, problem):
    note = make_note(4)
    note = note.__class__(**{**note.__dict__, "patient": Patient("Ana Silva", "M-1", dob)})
    with pytest.raises(PatientDataInvalid) as err:
        connector(receiver.port).push(note)
    assert problem in str(err.value) and not err.value.retryable
    assert dob not in str(err.value)                       # no PHI in the message
    assert receiver.received == []


@pytest.mark.parametrize("dob,expected", [("", None), ("1980", "1980"), ("1980-02", "198002")])
def test_partial_and_missing_birth_dates(dob, expected):
    note = make_note(5)
    note = note.__class__(**{**note.__dict__, "patient": Patient("Ana Silva", "M-1", dob)})
    pid = parse_message(build_mdm(note), find_groups=False).pid
    assert (pid.pid_7.to_er7() or None) == expected


def _own_ip() -> str | None:
    """An address of this machine that is not loopback (no packet is sent)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))         # TEST-NET-1: routing only, nothing leaves
            ip = s.getsockname()[0]
    except OSError:
        return None
    return None if ip.startswith("127.") else ip


def test_tls_is_the_default_for_a_non_loopback_host(tmp_path):
    ip = _own_ip()
    if ip is None:
        pytest.skip("this machine has no non-loopback IPv4 address to stand in for a remote host")
    from tests.ehr.tls_util import make_ca_and_cert

    # A plain receiver on a non-loopback address: the connector must not talk plain TCP to it.
    plain = Receiver()
    plain.host = ip
    plain.start()
    try:
        with pytest.raises(DeliveryError) as err:
            connector(plain.port, host=ip, resend_on_timeout=0,
                      timeout_seconds=1).push(make_note(6))
        assert "TLS" in err.value.message
        assert plain.documents == {} and plain.received == []
    finally:
        plain.stop()

    # The same receiver behind TLS, trusted through ca_file: delivered, without any tls=true.
    ca, cert, key = make_ca_and_cert(tmp_path, ip)
    secure = Receiver()
    secure.host = ip
    secure.start()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    real_get_request = type(secure.server).get_request
    secure.server.get_request = (lambda server: (lambda s, a: (ctx.wrap_socket(
        s, server_side=True), a))(*real_get_request(server))).__get__(secure.server)
    try:
        note = make_note(7)
        assert connector(secure.port, host=ip, ca_file=str(ca)).push(note).delivered
        assert list(secure.documents) == [note.note_id]
    finally:
        secure.stop()


def test_loopback_stays_plain_by_default_and_tls_can_be_forced():
    assert connector(1)._tls() is None
    assert connector(1, tls=True)._tls() is not None
    assert connector(1, host="ehr.example.org")._tls() is not None


def test_plain_tcp_or_no_verification_to_a_remote_host_needs_insecure(db, cipher, audit):
    service = EhrService(db, cipher, audit, context=_no_egress())
    remote = {"host": "ehr.example.org", "port": 2575}
    with pytest.raises(InsecureSettings) as err:
        service.configure("hl7", {**remote, "tls": "false"}, kind="hl7v2-mllp")
    assert "--insecure" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(InsecureSettings):
        service.configure("hl7", {**remote, "tls_verify": "false"}, kind="hl7v2-mllp")
    assert service.store.names() == []                        # nothing saved
    service.configure("lab", {"host": "127.0.0.1", "port": 2575, "tls": "false"},
                      kind="hl7v2-mllp")                      # loopback: no question asked
    service.configure("hl7", {**remote, "tls": "false"}, kind="hl7v2-mllp", insecure=True)
    assert [c["name"] for c in insecure_connectors(db)] == ["hl7"]
    assert "plain TCP" in insecure_connectors(db)[0]["reasons"][0]
    assert "ehr.connector.insecure" in audit.actions()
    with pytest.raises(InsecureSettings):        # a later change still needs the acceptance
        service.configure("hl7", {"timeout_seconds": "3"})
    service.configure("hl7", {"tls": "true"})               # back to secure: no flag needed
    assert insecure_connectors(db) == []


def _no_egress():
    from localscribe.ehr.protocol import ConnectorContext

    return ConnectorContext(allow_egress=lambda host, port: None)


def test_message_control_id_is_what_the_ack_must_name(receiver):
    note = make_note(8)
    connector(receiver.port).push(note)
    parsed = parse_message(receiver.received[0], find_groups=False)
    assert parsed.msh.msh_10.value == control_id(note, "T02")
