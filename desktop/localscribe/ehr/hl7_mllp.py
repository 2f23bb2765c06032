"""HL7 v2 MDM over MLLP connector.

An ACK counts only when its MSA-2 names this message's MSH-10: an empty MSA-2, or one naming
another message, is not a delivery (the same message is sent again later; TXA-12 keeps the
receiver from storing it twice). AA: delivered. AE: an application error (bad data, as a
rule): held for review with the receiver's text, not retried blindly. AR: rejected by the
receiver's state (down, busy): retried with backoff, as network errors are. No ACK within the
timeout: the outcome is unknown, so the same message (same MSH-10 and TXA-12, a new MSH-7) is
sent again; the receiver's duplicate check on TXA-12 makes that safe.

TLS by default to any host that is not loopback; plain TCP there, or TLS without certificate
verification, only when an admin configured it with ``--insecure``.
"""

from __future__ import annotations

from typing import Any

from localscribe.domain import PushReceipt, SignedNote
from localscribe.ehr.hl7v2 import CHARSETS, Hl7Options, build_mdm, control_id, parse_ack
from localscribe.ehr.instructions_doc import with_companion
from localscribe.ehr.mllp import MllpConnection, MllpError, TlsOptions, send_message
from localscribe.ehr.patient import require_mrn
from localscribe.ehr.protocol import (BaseConnector, CheckResult, ConnectorConfig,
                                      ConnectorContext, DeliveryError, Setting, SettingsError)
from localscribe.ehr.settings import is_loopback

HL7_SETTINGS = (
    Setting("sending_application", default="LOCALSCRIBE", help="MSH-3"),
    Setting("sending_facility", default="", help="MSH-4 (the practice, as the EHR knows it)"),
    Setting("receiving_application", default="", help="MSH-5"),
    Setting("receiving_facility", default="", help="MSH-6"),
    Setting("processing_id", "choice", default="P", choices=("P", "T", "D"),
            help="MSH-11: P production, T training, D debugging"),
    Setting("mrn_authority", default="", help="PID-3.4 assigning authority (namespace) of MRNs"),
    Setting("mrn_authority_oid", default="", help="PID-3.4 universal id (ISO OID) of it"),
    Setting("document_namespace", default="LOCALSCRIBE",
            help="TXA-12/13 namespace of document numbers; authority of local clinician ids"),
    Setting("clinician_npi", default="",
            help="login=NPI pairs, comma-separated: TXA-5/9/10/22 carry the NPI"),
    Setting("patient_class", "choice", default="O", choices=("O", "E", "I", "P", "R", "B"),
            help="PV1-2 patient class (table 0004): O outpatient, E emergency, I inpatient, ..."),
    Setting("point_of_care", default="",
            help="PV1-3.1 point of care (PV1-3.4 is the sending facility)"),
    Setting("charset", "choice", default="UTF-8", choices=tuple(CHARSETS),
            help="MSH-18 and the bytes on the wire: UTF-8, or ISO-8859-1/ASCII for old "
                 "receivers (a note they cannot carry is held, never cut)"),
    Setting("note_format", "choice", default="FT", choices=("FT", "TX"),
            help="OBX-2 of the note: FT (one value, \\.br\\ line breaks) or TX (a repetition "
                 "per line)"),
)


def _npi_pairs(raw: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in str(raw or "").split(","):
        login, sep, npi = item.partition("=")
        if item.strip():
            if not sep or not login.strip() or not npi.strip().isdigit() or len(npi.strip()) != 10:
                raise ValueError(f"'clinician_npi': expected login=NPI (10 digits), got "
                                 f"{item.strip()!r}")
            pairs.append((login.strip(), npi.strip()))
    return tuple(pairs)


def hl7_options(config: ConnectorConfig) -> Hl7Options:
    """The message options from connector settings; raises SettingsError for a bad value."""
    try:
        npi = _npi_pairs(config.get("clinician_npi", ""))
    except ValueError as exc:
        raise SettingsError(config.name, [str(exc)]) from None
    return Hl7Options(sending_application=config.get("sending_application", "LOCALSCRIBE"),
                      sending_facility=config.get("sending_facility", ""),
                      receiving_application=config.get("receiving_application", ""),
                      receiving_facility=config.get("receiving_facility", ""),
                      mrn_authority=config.get("mrn_authority", ""),
                      mrn_authority_oid=config.get("mrn_authority_oid", ""),
                      processing_id=config.get("processing_id", "P"),
                      document_namespace=config.get("document_namespace", "LOCALSCRIBE"),
                      clinician_npi=npi,
                      note_format=config.get("note_format", "FT"),
                      charset=config.get("charset", "UTF-8"),
                      patient_class=config.get("patient_class", "O"),
                      point_of_care=config.get("point_of_care", ""))


def conformance_gaps(options: Hl7Options) -> list[str]:
    """Identifiers left empty that receivers commonly route or match on (shown by check)."""
    gaps = [f"{field} ({name}) is empty; receivers commonly route on it"
            for field, name, value in (("MSH-4", "sending_facility", options.sending_facility),
                                       ("MSH-5", "receiving_application",
                                        options.receiving_application),
                                       ("MSH-6", "receiving_facility",
                                        options.receiving_facility)) if not value]
    if not options.mrn_authority:
        gaps.append("PID-3.4 (mrn_authority) is empty: the MRN has no assigning authority")
    if options.processing_id != "P":
        gaps.append(f"MSH-11 is {options.processing_id}: messages are not for production")
    return gaps


def _uses_tls(settings: dict[str, Any]) -> bool:
    """TLS unless switched off, and by default only a loopback peer goes without it."""
    tls = settings.get("tls")
    return bool(tls) if tls is not None else not is_loopback(str(settings.get("host", "")))


class Hl7MllpConnector(BaseConnector):
    kind = "hl7v2-mllp"
    title = "HL7 v2 MDM^T02 over MLLP (optionally TLS)"
    settings = (
        Setting("host", required=True, help="receiver host name or address"),
        Setting("port", "int", required=True, help="receiver MLLP port"),
        Setting("timeout_seconds", "float", default=10.0, help="wait this long for each ACK"),
        Setting("persistent_connection", "bool", default=False,
                help="keep one connection open for the messages of a drain instead of one "
                     "connection per message"),
        Setting("resend_on_timeout", "int", default=2,
                help="resend the same message this many times when no ACK comes"),
        Setting("tls", "bool", help="wrap the connection in TLS (default: on, except to a "
                "loopback host; off to another host needs connectors configure --insecure)"),
        Setting("tls_verify", "bool", default=True, help="verify the receiver's certificate"),
        Setting("ca_file", "path", help="CA bundle for the receiver (default: system store)"),
        Setting("client_cert_file", "path", help="client certificate (mutual TLS)"),
        Setting("client_key_file", "path", help="client private key (mutual TLS)"),
        *HL7_SETTINGS,
    )

    @staticmethod
    def insecure_settings(settings: dict[str, Any]) -> list[str]:
        """What in these settings exposes the note on the network (needs --insecure)."""
        reasons = []
        if settings.get("tls") is False and not is_loopback(str(settings.get("host", ""))):
            reasons.append("tls=false: the note goes as plain TCP to a non-loopback host")
        if _uses_tls(settings) and settings.get("tls_verify") is False:
            reasons.append("tls_verify=false: the receiver's certificate is not checked")
        return reasons

    def __init__(self, config: ConnectorConfig, context: ConnectorContext | None = None) -> None:
        super().__init__(config, context)
        self.options = hl7_options(self.config)     # bad values refused when configured
        self._conn: MllpConnection | None = None

    def close(self) -> None:
        """Close a kept-open connection (the outbox calls this after each drain)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _exchange(self, message: str, timeout: float) -> str:
        host, port = self.endpoints()[0]
        if not self.config.get("persistent_connection", False):
            return send_message(host, port, message, timeout, self._tls(), self.options.codec)
        if self._conn is None:
            self._conn = MllpConnection(host, port, timeout, self._tls(), self.options.codec)
        reused = self._conn.is_open and self._conn.exchanges > 0
        try:
            return self._conn.exchange(message)
        except MllpError as exc:
            if not (reused and exc.outcome_unknown):
                raise
        # The receiver closed the idle connection since the last message (receivers commonly
        # do): once more on a fresh connection. Same MSH-10/TXA-12, so never a duplicate.
        return self._conn.exchange(message)

    def endpoints(self) -> list[tuple[str, int]]:
        return [(self.config.get("host"), int(self.config.get("port")))]

    def _tls(self) -> TlsOptions | None:
        if not _uses_tls(self.config.settings):
            return None
        return TlsOptions(ca_file=self.config.get("ca_file"),
                          cert_file=self.config.get("client_cert_file"),
                          key_file=self.config.get("client_key_file"),
                          verify=bool(self.config.get("tls_verify", True)))

    def check(self) -> CheckResult:
        import socket

        host, port = self.endpoints()[0]
        try:
            with socket.create_connection((host, port), timeout=float(
                    self.config.get("timeout_seconds", 10.0))) as raw:
                tls = self._tls()
                if tls is not None:
                    tls.context().wrap_socket(raw, server_hostname=host).close()
        except OSError as exc:
            return CheckResult(False, f"cannot reach {host}:{port}: {type(exc).__name__}: {exc}")
        tls = self._tls()
        return CheckResult(True, f"{host}:{port} accepts connections" + (
            "" if tls is None else " (TLS, certificate verified)" if tls.verify
            else " (TLS, certificate NOT verified)"), tuple(conformance_gaps(self.options)))

    second_document = ("a second MDM^T02 (TXA-2 'PI', OBX-3 LOINC 69730-0, TXA-12 <note id>-pi) "
                       "after the note's")

    def push(self, note: SignedNote) -> PushReceipt:
        # One message in flight per connection: the note's ACK comes first. A receiver that
        # refuses the second holds the job (the note's TXA-12 makes its resend a duplicate).
        return with_companion(lambda n: self._send(n, None), note, self.receipt)

    def amend(self, note: SignedNote, replaces_remote_id: str) -> PushReceipt:
        return self._send(note, replaces_remote_id)

    def _send(self, note: SignedNote, replaces: str | None) -> PushReceipt:
        require_mrn(note)
        event = "T10" if replaces else "T02"
        expected = control_id(note, event)
        timeout = float(self.config.get("timeout_seconds", 10.0))
        resends = max(0, int(self.config.get("resend_on_timeout", 2)))
        last: MllpError | None = None
        for _ in range(1 + resends):
            # Built per attempt: MSH-7 is when this attempt was made; MSH-10 and TXA-12 stay.
            message = build_mdm(note, self.options, replaces_document=replaces)
            try:
                ack_text = self._exchange(message, timeout)
            except ValueError:      # a framing byte survived escaping: never put it on the wire
                raise DeliveryError("the message contains an MLLP framing byte (not sent)",
                                    retryable=False) from None
            except MllpError as exc:
                last = exc
                if not exc.outcome_unknown:
                    break   # nothing reached the receiver: let the outbox wait and retry
                continue    # maybe received: resend the same identifiers right away
            return self._judge(note, ack_text, expected)
        raise DeliveryError(str(last), retryable=True)

    def _judge(self, note: SignedNote, ack_text: str, expected: str) -> PushReceipt:
        try:
            ack = parse_ack(ack_text, self.options.codec)
        except Exception as exc:   # hl7apy raises several types for garbage
            raise DeliveryError(f"unreadable acknowledgement ({type(exc).__name__})",
                                retryable=True, detail=ack_text[:2000]) from None
        if not ack.control_id:
            raise DeliveryError("acknowledgement names no message (empty MSA-2): not counted "
                                "as delivered", retryable=True, detail=ack.text)
        if ack.control_id != expected:
            raise DeliveryError("acknowledgement is for another message (MSA-2 mismatch)",
                                retryable=True, detail=ack.text)
        if ack.code in ("AA", "CA"):
            return self.receipt(note, remote_id=note.note_id, detail=f"{ack.code} {expected}")
        if ack.code in ("AE", "CE"):
            # An application error is almost always the data (unknown patient, bad field):
            # sending the same message again cannot fix it, so it waits for a person.
            raise DeliveryError(f"receiver reported an application error ({ack.code}): held "
                                "for review, see what the receiver said", retryable=False,
                                detail=ack.text)
        if ack.code in ("AR", "CR"):
            # A reject in original mode is the receiver's state (down, busy, not accepting):
            # retried with backoff, up to the outbox's limit.
            raise DeliveryError(f"receiver rejected the message for now ({ack.code}); will "
                                "retry", retryable=True, detail=ack.text)
        raise DeliveryError(f"acknowledgement code {ack.code or '(empty MSA-1)'} is not an HL7 "
                            "acknowledgement code", retryable=True, detail=ack.text)
