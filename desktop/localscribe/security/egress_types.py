"""The egress guard's plain data: endpoints on the allowlist and records of refused attempts.

Stdlib only: imported by the guard at start-up.
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class BlockedAttempt:
    """One refused call. Destinations and process ids only: never payloads, never PHI."""

    time: float
    pid: int
    event: str          # the audit event, e.g. "socket.connect", "socket.getaddrinfo"
    host: str
    port: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Endpoint:
    host: str               # lower-cased host name or IP literal
    port: int | None = None  # None: any port

    def __str__(self) -> str:
        if self.port is None:
            return self.host
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        """Read ``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 literal."""
        text = text.strip()
        if not text:
            raise ValueError("empty egress endpoint")
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") and rest[1:] else None
            return cls(norm_host(host), port)
        if text.count(":") == 1:
            host, port_text = text.split(":")
            return cls(norm_host(host), int(port_text) if port_text else None)
        return cls(norm_host(text), None)


def read_block_log(path: str | os.PathLike[str], offset: int = 0) -> tuple[list[BlockedAttempt], int]:
    """Records appended after byte ``offset`` and the offset to resume from.

    A torn last line (a process killed mid-write) is left for the next read.
    """
    p = Path(path)
    if not p.exists():
        return [], offset
    with open(p, "rb") as f:
        f.seek(offset)
        data = f.read()
    attempts: list[BlockedAttempt] = []
    consumed = 0
    for line in data.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break
        consumed += len(line)
        try:
            d = json.loads(line)
            attempts.append(BlockedAttempt(time=float(d["time"]), pid=int(d["pid"]),
                                           event=str(d["event"]), host=str(d["host"]),
                                           port=None if d.get("port") is None else int(d["port"])))
        except (ValueError, KeyError, TypeError):
            continue   # a damaged line is skipped, never fatal to the reader
    return attempts, offset + consumed


def norm_host(host: str | bytes | bytearray) -> str:
    if isinstance(host, (bytes, bytearray)):
        host = host.decode("idna", "replace")
    host = str(host).strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host.split("%", 1)[0]   # drop an IPv6 zone id


def ip_or_none(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None
