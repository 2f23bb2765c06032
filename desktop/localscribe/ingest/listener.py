"""The HL7 v2 inbound listener: MLLP on loopback (or an interface the admin allowlisted),
each SIU^S12 / ADT^A04 / ADT^A08 read, stored sealed, and acknowledged.

Only after the visit is committed to the vault does the sender get AA: an AA is the sender's
licence to forget the message. A message we cannot take gets AE/AR with the reason and nothing
is stored; a frame larger than ``MAX_FRAME`` or a connection idle past the timeout is closed.
Messages are handled one at a time (a lock around parse + store), so two senders cannot race
the same visit's update. TLS (and sender authentication by client certificate) in front when
configured; plain TCP only on loopback unless an admin accepted it (``listener_tls``).
"""

from __future__ import annotations

import ipaddress
import socket
import socketserver
import ssl
import threading
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable, Iterable

from localscribe.ehr.hl7_er7 import unescape
from localscribe.ehr.mllp import END, START
from localscribe.ingest.hl7_inbound import Rejected, ack, field, read_visit
from localscribe.ingest.listener_tls import ListenerTls, check_transport, peer_name
from localscribe.ingest.model import ScheduledVisit

MAX_FRAME = 1 << 20           # 1 MiB: a schedule message is a few hundred bytes


class BindRefused(ValueError):
    """The listener may not bind there: neither loopback nor an allowlisted interface."""


def check_bind(host: str, allowed: Iterable[str] = ()) -> None:
    """Loopback always; another address only when the admin allowlisted it (the vault's
    ``egress.allow`` entries ``host`` or ``host:port``). A wildcard never: it would listen on
    every interface, including ones nobody reviewed."""
    allowed_hosts = {a.rsplit(":", 1)[0].strip("[]") if a.count(":") == 1 or a.startswith("[")
                     else a for a in allowed}
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        if host == "localhost":
            return
        raise BindRefused(f"listen address {host!r} must be an IP address") from None
    if ip.is_unspecified:
        raise BindRefused("refusing to listen on every interface (0.0.0.0 / ::): give "
                          "loopback or one allowlisted address")
    if ip.is_loopback:
        return
    if str(ip) not in allowed_hosts:
        raise BindRefused(f"{ip} is not loopback and not on the admin's network allowlist "
                          "(the egress.allow setting: localscribe vault settings set, admin)")


@dataclass
class ListenerStats:
    accepted: int = 0
    rejected: int = 0


class Hl7Listener:
    """``store(visit, raw, kind) -> ScheduledVisit`` persists one visit (raises to refuse it:
    the sender then gets AE with a PHI-free reason). ``on_event(kind, detail)`` is told of
    each message (for the audit trail)."""

    def __init__(self, store: Callable[[ScheduledVisit, bytes, str], object], host: str = "127.0.0.1",
                 port: int = 0, *, allowed: Iterable[str] = (), processing_id: str = "",
                 idle_timeout: float = 60.0, tls: ListenerTls | None = None,
                 insecure: bool = False,
                 on_event: Callable[[str, dict[str, Any]], None] | None = None):
        check_bind(host, allowed)
        check_transport(host, tls, insecure)
        # Built before binding: a bad certificate or key fails here, not at the first sender.
        context = tls.context() if tls is not None else None
        self.tls = tls
        self.store, self.processing_id = store, processing_id
        self.on_event = on_event if on_event is not None else (lambda kind, detail: None)
        self.stats = ListenerStats()
        self._lock = threading.Lock()
        listener = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                conn: socket.socket = self.request
                conn.settimeout(idle_timeout)
                sender = ""
                if context is not None:
                    # The handshake runs here, in the connection's thread, under the idle
                    # timeout: a peer that stalls it holds one thread, not the listener.
                    try:
                        conn = context.wrap_socket(conn, server_side=True)
                    except (ssl.SSLError, OSError) as exc:
                        listener.on_event("ingest.hl7.refused", {
                            "reason": f"TLS handshake failed ({_tls_reason(exc)})"})
                        return
                    assert isinstance(conn, ssl.SSLSocket)
                    sender = peer_name(conn)
                try:
                    self._serve(conn, sender)
                finally:
                    if conn is not self.request:
                        conn.close()

            def _serve(self, conn: socket.socket, sender: str) -> None:
                buf = b""
                while True:
                    try:
                        chunk = conn.recv(65536)
                    except (TimeoutError, OSError):
                        return
                    if not chunk:
                        return
                    buf += chunk
                    while True:
                        start = buf.find(START)
                        end = buf.find(END, start + 1) if start >= 0 else -1
                        if end < 0:
                            break
                        reply = listener.handle(buf[start + 1:end], sender)
                        buf = buf[end + len(END):]
                        conn.sendall(START + reply.encode("utf-8") + END)
                    if len(buf) > MAX_FRAME:
                        listener.on_event("ingest.hl7.refused", {"reason": "frame too large"})
                        return

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server_cls = type("Server", (socketserver.ThreadingTCPServer,),
                          {"address_family": family, "allow_reuse_address": True,
                           "daemon_threads": True})
        self.server = server_cls((host, port), Handler)
        self.host, self.port = self.server.server_address[:2]
        self._thread: threading.Thread | None = None

    def handle(self, raw: bytes, sender: str = "") -> str:
        """One framed message in, the ACK text out. ``sender``: the client certificate's name
        (mutual TLS), kept in the audit events."""
        with self._lock:
            try:
                visit, msg, kind = read_visit(raw, self.processing_id)
            except Rejected as exc:
                self.stats.rejected += 1
                self.on_event("ingest.hl7.refused", {"code": exc.code, "reason": exc.reason})
                return ack(None, exc.code, exc.control_id, exc.reason)
            control = unescape(field(msg.first("MSH"), 10))
            try:
                stored = self.store(visit, raw, kind)
            except Exception as exc:     # nothing stored: the sender must keep the message
                self.stats.rejected += 1
                reason = f"not stored ({type(exc).__name__})"
                self.on_event("ingest.hl7.refused", {"code": "AE", "reason": reason})
                return ack(msg, "AE", control, reason)
            self.stats.accepted += 1
            event = {"kind": kind, "visit": getattr(stored, "id", "")}
            self.on_event("ingest.hl7.accepted", {**event, "sender": sender} if sender else event)
            return ack(msg, "AA", control)

    def start(self) -> Hl7Listener:
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.server.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _tls_reason(exc: BaseException) -> str:
    """PHI-free, one word or phrase: the OpenSSL reason (e.g. PEER_DID_NOT_RETURN_A_CERTIFICATE)."""
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason)
    return type(exc).__name__
