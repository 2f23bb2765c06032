"""HL7 v2 MDM over MLLP against hl7apy's MLLPServer on loopback."""

from __future__ import annotations

import socket

import pytest
from hl7apy.parser import parse_message

from localscribe.ehr.hl7_mllp import Hl7MllpConnector
from localscribe.ehr.hl7_er7 import escape
from localscribe.ehr.hl7v2 import build_mdm, control_id, read_text
from localscribe.ehr.protocol import (ConnectorConfig, DeliveryError, PatientIdentifierMissing)


def connector(port, **extra):
    settings = {"host": "127.0.0.1", "port": port, "timeout_seconds": 5,
                "resend_on_timeout": 2, "mrn_authority": "CLINIC", **extra}
    return Hl7MllpConnector(ConnectorConfig(name="hl7", kind="hl7v2-mllp", settings=settings),
                            None)


def test_escaping_round_trips_every_delimiter(note_factory):
    text = "a|b^c&d~e\\f and a literal \\F\\ sequence\nsecond line"
    note = note_factory(1, text=text)
    msg = build_mdm(note)
    # The raw OBX value carries only escape sequences, never a bare delimiter.
    [obx] = [s for s in msg.split("\r") if s.startswith("OBX|")]
    assert obx.split("|")[5] == (r"a\F\b\S\c\T\d\R\e\E\f and a literal \E\F\E\ sequence"
                                 r"\.br\second line")
    assert read_text(msg)["text"] == text
    parsed = parse_message(msg, find_groups=False)
    assert len(parsed.children.get("OBX")) == 1
    assert escape("x|y") == r"x\F\y"


def test_mdm_t02_fields(note_factory):
    note = note_factory(2)
    msg = parse_message(build_mdm(note), find_groups=False)
    assert msg.msh.msh_9.to_er7() == "MDM^T02^MDM_T02"
    assert msg.msh.msh_10.value == control_id(note, "T02")
    assert msg.txa.txa_12.to_er7() == f"{note.note_id}^LOCALSCRIBE"
    assert msg.txa.txa_2.value == "PR"          # progress note for the SOAP template
    assert msg.txa.txa_17.value == "LA"
    assert msg.pid.pid_3.pid_3_1.value == "MRN-0042"
    first, later = build_mdm(note), build_mdm(note, sent_at="20991231235959+0000")
    without_msh7 = [lambda m: m.split("\r", 1)[1], lambda m: m.split("|")[:6]]
    for part in without_msh7:
        assert part(first) == part(later), "a retry differs from the first send in MSH-7 only"


def test_aa_is_delivered(receiver, note_factory):
    note = note_factory(3)
    receipt = connector(receiver.port).push(note)
    assert receipt.delivered and receipt.remote_id == note.note_id
    assert list(receiver.documents) == [note.note_id]
    assert read_text(receiver.documents[note.note_id][0])["text"] == note.text


def test_ae_is_held_for_review_with_receiver_text(receiver, note_factory):
    receiver.behave = lambda msg, n: ("AE", "unknown patient")
    with pytest.raises(DeliveryError) as err:
        connector(receiver.port).push(note_factory(4))
    assert not err.value.retryable, "an application error is not retried blindly"
    assert "AE" in err.value.message and "held for review" in err.value.message
    assert "unknown patient" in err.value.detail
    assert receiver.documents == {} and len(receiver.received) == 1


def test_ar_is_retried_with_receiver_text(receiver, note_factory):
    receiver.behave = lambda msg, n: ("AR", "not accepting messages now")
    with pytest.raises(DeliveryError) as err:
        connector(receiver.port).push(note_factory(5))
    assert err.value.retryable
    assert "not accepting messages now" in err.value.detail


def test_no_answer_resends_same_identifiers_and_receiver_dedupes(receiver, note_factory):
    # First attempt: stored, but the ACK never comes. Second: answered.
    receiver.behave = lambda msg, n: ("silent", "") if n == 1 else ("AA", "")
    receiver.silent_wait = 3.0
    note = note_factory(6)
    receipt = connector(receiver.port, timeout_seconds=2.0).push(note)
    assert receipt.delivered
    assert len(receiver.received) == 2
    first, second = (read_text(m) for m in receiver.received)
    assert first["control_id"] == second["control_id"] == control_id(note, "T02")
    assert first["document_number"] == second["document_number"] == note.note_id
    assert first["text"] == second["text"] == note.text
    assert list(receiver.documents) == [note.note_id]


def test_no_answer_at_all_is_retryable(receiver, note_factory):
    receiver.behave = lambda msg, n: ("silent", "")
    with pytest.raises(DeliveryError) as err:
        connector(receiver.port, resend_on_timeout=1, timeout_seconds=0.5).push(note_factory(7))
    assert err.value.retryable and "no acknowledgement" in err.value.message
    assert len(receiver.received) == 2


def test_connection_dropped_mid_message_then_delivered(note_factory):
    """A receiver that reads part of the frame and hangs up; the resend is delivered."""
    from tests.ehr.conftest import Receiver
    from hl7apy.mllp import MLLPRequestHandler

    drops = {"left": 1}

    class DropOnce(MLLPRequestHandler):
        def handle(self):
            if drops["left"]:
                drops["left"] -= 1
                self.request.recv(40)                    # half a message at most
                self.request.shutdown(socket.SHUT_RDWR)
                self.request.close()
                return
            super().handle()

    r = Receiver()
    from hl7apy.mllp import MLLPServer

    real_init = MLLPServer.__init__

    def init(self, host, port, handlers, timeout=10, request_handler_class=DropOnce):
        real_init(self, host, port, handlers, timeout, request_handler_class)

    MLLPServer.__init__ = init
    try:
        r.start()
    finally:
        MLLPServer.__init__ = real_init
    try:
        note = note_factory(8, text="x" * 5000)          # long enough to be cut mid-message
        receipt = connector(r.port).push(note)
        assert receipt.delivered
        assert list(r.documents) == [note.note_id]
        assert drops["left"] == 0
    finally:
        r.stop()


def test_receiver_down_is_retryable_and_sends_nothing(note_factory):
    from tests.ehr.conftest import free_port

    with pytest.raises(DeliveryError) as err:
        connector(free_port()).push(note_factory(9))
    assert err.value.retryable and "cannot connect" in err.value.message


def test_amendment_is_t10_replacing_the_original(receiver, note_factory):
    original = note_factory(10)
    amended = note_factory(10, text="corrected", replaces=original.note_id)
    c = connector(receiver.port)
    c.push(original)
    c.amend(amended, original.note_id)
    info = read_text(receiver.documents[amended.note_id][0])
    assert info["event"] == "T10"
    assert info["parent_document"] == original.note_id
    assert info["document_number"] == amended.note_id


def test_missing_mrn_blocks_sending(receiver, note_factory):
    with pytest.raises(PatientIdentifierMissing) as err:
        connector(receiver.port).push(note_factory(11, mrn=""))
    assert "MRN" in str(err.value) and not err.value.retryable
    assert receiver.received == []


def test_optional_tls_with_verification(tmp_path, note_factory):
    """TLS in front of hl7apy's server; the client verifies the certificate against our CA."""
    import ssl

    from tests.ehr.tls_util import make_ca_and_cert
    from tests.ehr.conftest import Receiver

    ca, cert, key = make_ca_and_cert(tmp_path, "127.0.0.1")
    r = Receiver().start()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    real_get_request = type(r.server).get_request

    def get_request(server):
        sock, addr = real_get_request(server)
        return ctx.wrap_socket(sock, server_side=True), addr

    r.server.get_request = get_request.__get__(r.server)
    try:
        note = note_factory(12)
        ok = connector(r.port, tls=True, ca_file=str(ca)).push(note)
        assert ok.delivered and list(r.documents) == [note.note_id]
        with pytest.raises(DeliveryError) as err:     # system trust store: our CA is unknown
            connector(r.port, tls=True, resend_on_timeout=0).push(note_factory(13))
        assert "TLS" in err.value.message
    finally:
        r.stop()
