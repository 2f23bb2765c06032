"""TLS for the inbound MLLP listener, and the rule for when it may go without.

The same rule as the outbound side (``ehr.hl7_mllp``): plain TCP only on loopback, where no
network carries the message; on any other address TLS, unless an admin accepted plain TCP
(``insecure``), which the audit trail records. A client-certificate CA turns on sender
authentication: a sender without a certificate that CA signed never gets to send a byte of
HL7 (the handshake fails first).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from localscribe.ehr.settings import is_loopback


class ListenerTlsError(ValueError):
    """The listener's TLS settings cannot be used (one line, no secrets)."""


@dataclass(frozen=True)
class ListenerTls:
    cert_file: str                  # the listener's certificate chain (PEM)
    key_file: str                   # its private key (PEM, unencrypted: the listener runs unattended)
    client_ca_file: str = ""        # set: senders must present a certificate this CA signed

    def context(self) -> ssl.SSLContext:
        """A server context: TLS 1.2+, the system's default ciphers; raises ListenerTlsError
        naming which file could not be used."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            ctx.load_cert_chain(self.cert_file, self.key_file)
        except (OSError, ssl.SSLError) as exc:
            raise ListenerTlsError(f"cannot use the listener certificate {self.cert_file} with key "
                                   f"{self.key_file}: {_reason(exc)}") from None
        if self.client_ca_file:
            try:
                ctx.load_verify_locations(cafile=self.client_ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise ListenerTlsError(f"cannot use the client CA file {self.client_ca_file}: "
                                       f"{_reason(exc)}") from None
            ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return exc.reason or "not a usable PEM file"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


def insecure_reasons(host: str, tls: ListenerTls | None) -> list[str]:
    """What in this listener configuration exposes patient data on a network."""
    if tls is None and not is_loopback(host):
        return [f"plain TCP on {host}: schedule messages (patient identity) cross the network "
                "unencrypted and any host that reaches the port can send"]
    return []


def check_transport(host: str, tls: ListenerTls | None, insecure: bool) -> None:
    """Refuse plain TCP off loopback unless an admin accepted it."""
    reasons = insecure_reasons(host, tls)
    if reasons and not insecure:
        raise ListenerTlsError(f"refused, {reasons[0]}; give a TLS certificate and key, or have "
                               "an admin accept plain TCP with --insecure")


def peer_name(sock: ssl.SSLSocket) -> str:
    """The sender certificate's common name (empty without client authentication)."""
    cert = sock.getpeercert() or {}
    for rdn in cert.get("subject", ()):
        for pair in rdn:
            if pair[0] == "commonName":
                return str(pair[1])
    return ""
