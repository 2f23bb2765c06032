"""The no-egress guarantee: a Python audit hook that refuses network traffic to anywhere but
loopback and the endpoints the practice configured.

Call ``install_guard()`` first thing in every process (the CLI does; engine workers use
``worker_initializer`` or call it themselves). The hook sees ``socket.connect``, ``sendto``,
``sendmsg`` and every name lookup, and raises ``EgressBlocked`` *before* the call reaches the
OS, so no DNS query or packet leaves for a refused destination.

The allowlist travels to child processes through the environment variable
``LOCALSCRIBE_EGRESS_ALLOW`` (``host[:port]`` entries, comma separated), which ``allow()`` keeps
current, so a ``multiprocessing`` spawn child that calls ``install_guard()`` gets the same list.
Blocked attempts are kept in memory, handed to listeners (the vault session writes them to the
audit trail), and appended to a JSON-lines file when one is configured (``set_block_log``, also
inherited through ``LOCALSCRIBE_EGRESS_LOG``), so a worker's attempts reach the audit trail too.

Limits, stated plainly: an audit hook only sees Python-level sockets. Native code that opens its
own sockets (a C library, a subprocess) is not covered; see SECURITY.md.

Kept import-light on purpose: it runs before anything else at start-up.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable

ENV_ALLOW = "LOCALSCRIBE_EGRESS_ALLOW"
ENV_LOG = "LOCALSCRIBE_EGRESS_LOG"

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_RESOLVE_TTL_S = 60.0
_MEMORY_LIMIT = 1000


class EgressBlocked(PermissionError):
    """A network call to a destination outside loopback and the allowlist was refused."""


@dataclass(frozen=True)
class BlockedAttempt:
    """One refused call. Destinations and process ids only: never payloads, never PHI."""

    time: float
    pid: int
    event: str          # the audit event, e.g. "socket.connect", "socket.getaddrinfo"
    host: str
    port: int | None

    def to_dict(self) -> dict:
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
    def parse(cls, text: str) -> "Endpoint":
        """Read ``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 literal."""
        text = text.strip()
        if not text:
            raise ValueError("empty egress endpoint")
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") and rest[1:] else None
            return cls(_norm_host(host), port)
        if text.count(":") == 1:
            host, port = text.split(":")
            return cls(_norm_host(host), int(port) if port else None)
        return cls(_norm_host(text), None)


class _Guard:
    """All mutable guard state in one place (one instance per process)."""

    def __init__(self) -> None:
        self.installed = False
        self.lock = threading.RLock()
        self.endpoints: set[Endpoint] = set()
        self.resolved: dict[str, tuple[float, frozenset[str]]] = {}
        self.blocked: deque[BlockedAttempt] = deque(maxlen=_MEMORY_LIMIT)
        self.blocked_total = 0
        self.listeners: list[Callable[[BlockedAttempt], None]] = []
        self.log_path: Path | None = None
        self.unlogged: list[BlockedAttempt] = []
        self.local = threading.local()   # .inside: the hook's own look-ups pass through


_G = _Guard()


# ---------------------------------------------------------------- public API

def install_guard(allowlist: Iterable[str] | None = None, block_log: str | os.PathLike | None = None
                  ) -> None:
    """Install the hook once per process (later calls only add to the allowlist).

    Reads ``LOCALSCRIBE_EGRESS_ALLOW`` and ``LOCALSCRIBE_EGRESS_LOG`` so child processes inherit
    the parent's configuration.
    """
    env_allow = os.environ.get(ENV_ALLOW, "")
    for entry in [*(e for e in env_allow.split(",") if e.strip()), *(allowlist or ())]:
        _add(Endpoint.parse(entry))
    log = block_log or os.environ.get(ENV_LOG)
    if log:
        set_block_log(log)
    with _G.lock:
        if _G.installed:
            _publish_env()
            return
        sys.addaudithook(_hook)
        _G.installed = True
    _publish_env()


def worker_initializer(allowlist: Iterable[str] | None = None,
                       block_log: str | os.PathLike | None = None) -> None:
    """``initializer=`` for ``multiprocessing`` pools/processes: the same guard in the child.

    With no arguments the child relies on the inherited environment (``allow()`` keeps it
    current); pass ``allowed_strings()`` and ``block_log_path()`` explicitly when the child's
    environment is not inherited.
    """
    install_guard(allowlist, block_log)


def is_installed() -> bool:
    return _G.installed


def allow(host: str, port: int | None = None) -> None:
    """Let this process (and children started afterwards) reach ``host`` (optionally one port)."""
    _add(Endpoint(_norm_host(host), int(port) if port is not None else None))
    _publish_env()


def disallow(host: str, port: int | None = None) -> None:
    """Remove an endpoint added earlier (e.g. when a connector is removed from the settings)."""
    with _G.lock:
        _G.endpoints.discard(Endpoint(_norm_host(host), int(port) if port is not None else None))
        _G.resolved.clear()
    _publish_env()


def allowed() -> list[Endpoint]:
    with _G.lock:
        return sorted(_G.endpoints, key=lambda e: (e.host, e.port or 0))


def allowed_strings() -> list[str]:
    return [str(e) for e in allowed()]


def blocked_attempts() -> list[BlockedAttempt]:
    """Attempts refused in this process (the last 1000)."""
    with _G.lock:
        return list(_G.blocked)


def blocked_total() -> int:
    return _G.blocked_total


def set_block_listener(fn: Callable[[BlockedAttempt], None] | None) -> None:
    """Register ``fn`` to be called for each blocked attempt (None clears all listeners).

    A listener must not raise; exceptions are swallowed so they cannot mask the refusal.
    """
    with _G.lock:
        if fn is None:
            _G.listeners.clear()
        elif fn not in _G.listeners:
            _G.listeners.append(fn)


def remove_block_listener(fn: Callable[[BlockedAttempt], None]) -> None:
    with _G.lock:
        if fn in _G.listeners:
            _G.listeners.remove(fn)


def set_block_log(path: str | os.PathLike | None) -> None:
    """Append every blocked attempt (and those seen before this call) to a JSON-lines file."""
    with _G.lock:
        _G.log_path = Path(path) if path else None
        if path:
            os.environ[ENV_LOG] = str(path)
            pending, _G.unlogged = _G.unlogged, []
            for attempt in pending:
                _append_log(attempt)
        else:
            os.environ.pop(ENV_LOG, None)


def block_log_path() -> Path | None:
    return _G.log_path


def read_block_log(path: str | os.PathLike, offset: int = 0) -> tuple[list[BlockedAttempt], int]:
    """Records appended after byte ``offset`` and the offset to resume from.

    A torn last line (a process killed mid-write) is left for the next read.
    """
    p = Path(path)
    if not p.exists():
        return [], offset
    with _passthrough():
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


def check_destination(host: str, port: int | None = None) -> bool:
    """Whether a connection to (host, port) would be allowed. Does no network I/O itself
    except resolving allowlisted host names."""
    return _allowed(host, port)


# ---------------------------------------------------------------- the hook

_ADDRESS_EVENTS = {"socket.connect", "socket.sendto", "socket.sendmsg"}
_LOOKUP_EVENTS = {"socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
                  "socket.gethostbyaddr", "socket.getnameinfo"}


def _hook(event: str, args: tuple) -> None:
    if event not in _ADDRESS_EVENTS and event not in _LOOKUP_EVENTS:
        return
    if getattr(_G.local, "inside", False):
        return
    dest = _destination(event, args)
    if dest is None:
        return
    host, port = dest
    if _allowed(host, port):
        return
    _record(event, host, port)
    shown = f"{host}:{port}" if port is not None else host
    raise EgressBlocked(
        f"LocalScribe egress guard refused {event.split('.', 1)[1]} to {shown}: only loopback and "
        f"the configured EHR endpoints are allowed (allowlist: {', '.join(allowed_strings()) or 'empty'})")


def _destination(event: str, args: tuple) -> tuple[str, int | None] | None:
    """The (host, port) a call would reach, or None when it cannot leave the machine."""
    if event in _ADDRESS_EVENTS:
        sock, address = args[0], args[1]
        if address is None:          # sendmsg on a connected socket: connect was checked
            return None
        family = getattr(sock, "family", None)
        if family not in (socket.AF_INET, socket.AF_INET6):
            return None              # AF_UNIX, netlink, etc. stay on the machine
        if isinstance(address, tuple) and address:
            host = address[0]
            port = address[1] if len(address) > 1 else None
            return _norm_host(host), port
        return str(address), None
    if event == "socket.getaddrinfo":
        host, port = args[0], args[1]
        if host is None:
            return None              # passive look-up for bind()
        return _norm_host(host), _port_or_none(port)
    if event in ("socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr"):
        return _norm_host(args[0]), None
    if event == "socket.getnameinfo":
        sockaddr = args[0]
        if isinstance(sockaddr, tuple) and sockaddr:
            return _norm_host(sockaddr[0]), _port_or_none(sockaddr[1] if len(sockaddr) > 1 else None)
    return None


def _allowed(host: str, port: int | None) -> bool:
    host = _norm_host(host)
    if host in _LOOPBACK_NAMES or host == "":
        return True
    ip = _ip(host)
    if ip is not None and (ip.is_loopback or _is_v4mapped_loopback(ip)):
        return True
    with _G.lock:
        endpoints = list(_G.endpoints)
    for ep in endpoints:
        if ep.port is not None and port is not None and ep.port != port:
            continue
        if ep.host == host:
            return True
    if ip is None:
        return False
    # An IP reached after resolving an allowlisted name is allowed too.
    for ep in endpoints:
        if ep.port is not None and port is not None and ep.port != port:
            continue
        if _ip(ep.host) is None and str(ip) in _resolve(ep.host):
            return True
    return False


def _resolve(name: str) -> frozenset[str]:
    now = time.monotonic()
    with _G.lock:
        cached = _G.resolved.get(name)
    if cached and now - cached[0] < _RESOLVE_TTL_S:
        return cached[1]
    try:
        with _passthrough():
            infos = socket.getaddrinfo(name, None)
        ips = frozenset(str(ipaddress.ip_address(info[4][0].split("%")[0])) for info in infos)
    except (OSError, ValueError):
        ips = frozenset()
    with _G.lock:
        _G.resolved[name] = (now, ips)
    return ips


def _record(event: str, host: str, port: int | None) -> None:
    attempt = BlockedAttempt(time=time.time(), pid=os.getpid(), event=event, host=host, port=port)
    with _G.lock:
        _G.blocked.append(attempt)
        _G.blocked_total += 1
        listeners = list(_G.listeners)
        if _G.log_path is not None:
            _append_log(attempt)
        else:
            _G.unlogged.append(attempt)
            del _G.unlogged[:-_MEMORY_LIMIT]
    for fn in listeners:
        try:
            fn(attempt)
        except Exception:   # a broken listener must not turn a refusal into something else
            pass


def _append_log(attempt: BlockedAttempt) -> None:
    try:
        with _passthrough():
            _G.log_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(_G.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (json.dumps(attempt.to_dict(), sort_keys=True) + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)
    except OSError:
        _G.unlogged.append(attempt)


# ---------------------------------------------------------------- helpers

class _passthrough:
    """The guard's own file writes and look-ups of allowlisted names skip the hook."""

    def __enter__(self):
        self.prev = getattr(_G.local, "inside", False)
        _G.local.inside = True

    def __exit__(self, *exc):
        _G.local.inside = self.prev


def _add(ep: Endpoint) -> None:
    with _G.lock:
        _G.endpoints.add(ep)
        _G.resolved.pop(ep.host, None)


def _publish_env() -> None:
    """Children inherit the allowlist through the environment."""
    value = ",".join(allowed_strings())
    if value:
        os.environ[ENV_ALLOW] = value
    else:
        os.environ.pop(ENV_ALLOW, None)


def _norm_host(host) -> str:
    if isinstance(host, (bytes, bytearray)):
        host = host.decode("idna", "replace")
    host = str(host).strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host.split("%", 1)[0]   # drop an IPv6 zone id


def _port_or_none(port) -> int | None:
    if port is None:
        return None
    try:
        return int(port)
    except (TypeError, ValueError):
        try:
            with _passthrough():
                return socket.getservbyname(str(port))
        except OSError:
            return None


def _ip(host: str):
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _is_v4mapped_loopback(ip) -> bool:
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool(mapped and mapped.is_loopback)
