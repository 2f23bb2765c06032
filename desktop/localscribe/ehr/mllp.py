"""MLLP transport: HL7 messages framed as 0x0B message 0x1C 0x0D, each followed by the
receiver's ACK read back the same way, on a connection per message or one kept open for many.
TLS in front when configured (verification on by default).
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass

START, END = b"\x0b", b"\x1c\x0d"


class MllpError(Exception):
    """Transport failure; ``outcome_unknown`` is True when the message may have been received."""

    def __init__(self, message: str, outcome_unknown: bool):
        super().__init__(message)
        self.outcome_unknown = outcome_unknown


@dataclass(frozen=True)
class TlsOptions:
    ca_file: str | None = None       # None: the system's trust store
    cert_file: str | None = None     # client certificate (mutual TLS)
    key_file: str | None = None
    verify: bool = True
    server_hostname: str | None = None

    def context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.ca_file)
        if not self.verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.cert_file:
            ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx


def frame(message: str, codec: str = "utf-8") -> bytes:
    """The MLLP frame. A framing byte inside the message would end the frame early and the
    receiver would acknowledge a truncated note, so it is refused here whatever built the
    message (the HL7 builder escapes them; this is the last line)."""
    if "\x0b" in message or "\x1c" in message:
        raise ValueError("an MLLP framing byte (0x0B or 0x1C) is inside the message")
    return START + message.encode(codec) + END


class MllpConnection:
    """One MLLP connection (TLS in front when ``tls`` is given) that carries messages in turn,
    each answered by one ACK frame before the next is sent. Any failure closes it, so the next
    exchange starts on a fresh connection."""

    def __init__(self, host: str, port: int, timeout: float, tls: TlsOptions | None = None,
                 codec: str = "utf-8"):
        self.host, self.port, self.timeout, self.tls = host, port, timeout, tls
        self.codec = codec                # the message's character set (MSH-18)
        self._raw: socket.socket | None = None
        self._sock: socket.socket | None = None
        self.exchanges = 0          # messages this connection has carried

    @property
    def is_open(self) -> bool:
        return self._sock is not None

    def _open(self) -> None:
        host, port = self.host, self.port
        try:
            raw = socket.create_connection((host, port), timeout=self.timeout)
        except OSError as exc:
            # Nothing was sent: safe to retry, nothing can be duplicated.
            raise MllpError(f"cannot connect to {host}:{port}: {type(exc).__name__}",
                            outcome_unknown=False) from None
        sock = raw
        if self.tls is not None:
            try:
                sock = self.tls.context().wrap_socket(
                    raw, server_hostname=self.tls.server_hostname or host)
            except (ssl.SSLError, OSError) as exc:
                raw.close()
                raise MllpError(f"TLS handshake with {host}:{port} failed: {exc}",
                                outcome_unknown=False) from None
        self._raw, self._sock, self.exchanges = raw, sock, 0

    def exchange(self, message: str) -> str:
        """Send one message, return the ACK text. Raises MllpError (ValueError: not
        frameable, nothing sent)."""
        data = frame(message, self.codec)
        if self._sock is None:
            self._open()
        sock = self._sock
        assert sock is not None                 # _open sets it or raises
        try:
            try:
                sock.sendall(data)
            except OSError as exc:
                raise MllpError(f"connection to {self.host}:{self.port} broke while sending: "
                                f"{type(exc).__name__}", outcome_unknown=True) from None
            ack = _read_frame(sock, self.host, self.port, self.codec)
        except MllpError:
            self.close()
            raise
        self.exchanges += 1
        return ack

    def close(self) -> None:
        if self._raw is not None:
            try:
                self._raw.close()
            except OSError:
                pass
        self._raw = self._sock = None


def send_message(host: str, port: int, message: str, timeout: float,
                 tls: TlsOptions | None = None, codec: str = "utf-8") -> str:
    """Send one message on a connection of its own, return the ACK text. Raises MllpError."""
    conn = MllpConnection(host, port, timeout, tls, codec)
    try:
        return conn.exchange(message)
    finally:
        conn.close()


def _read_frame(sock: socket.socket, host: str, port: int, codec: str) -> str:
    buf = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            raise MllpError(f"no acknowledgement from {host}:{port} in time",
                            outcome_unknown=True) from None
        except OSError as exc:
            raise MllpError(f"connection to {host}:{port} broke awaiting the acknowledgement: "
                            f"{type(exc).__name__}", outcome_unknown=True) from None
        if not chunk:
            raise MllpError(f"{host}:{port} closed the connection without an acknowledgement",
                            outcome_unknown=True)
        buf += chunk
        start = buf.find(START)
        end = buf.find(END, start + 1) if start >= 0 else -1
        if end >= 0:
            return str(buf[start + 1:end].decode(codec, "replace"))
