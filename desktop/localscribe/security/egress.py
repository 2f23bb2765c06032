"""The no-egress guarantee, second line: a Python audit hook that refuses network traffic to
anywhere but loopback and the endpoints the practice's admin allowlisted.

The first line is the operating system's rule (``security/os_rule.py``, set up by the
installer): it holds for native code and subprocesses, which this hook cannot see.

Call ``install_guard()`` first thing in every process (the CLI does). Once installed:

* ``socket.connect``/``sendto``/``sendmsg`` to a non-allowlisted address and every name look-up
  of a non-allowlisted name raise ``EgressBlocked`` *before* the call reaches the OS. The socket
  family is read from the C structure (``_socket.socket.family``), so a subclass that lies
  about ``family`` is judged by what it really is; families that can leave the machine other
  than IPv4/IPv6 (packet, Bluetooth, ...) are refused outright.
* ``bind`` to anything but loopback (``0.0.0.0`` and ``::`` included) is refused: a listener on
  the network is an exit too.
* ``ctypes`` cannot look up or call libc's ``connect``/``bind``/``sendto``/``sendmsg``/
  ``syscall`` (the ``ctypes.dlsym`` and ``ctypes.call_function`` audit events).
* Every ``multiprocessing`` spawn child installs the same guard, with the parent's allowlist,
  before it unpickles anything of the parent's (the spawn command line is extended).
* The allowlist changes only with the capability that ``claim_authority()`` hands out once per
  process; the vault claims it (``vault/egress_authority.py``) and feeds it the admin's
  persisted allowlist. There is no pass-through switch.

Blocked attempts are kept in memory, handed to listeners (the vault session writes them to the
audit trail) and appended to a JSON-lines file when one is configured (``set_block_log``, which
children inherit through ``LOCALSCRIBE_EGRESS_LOG``).

Code running inside the process can still defeat an in-process check (it can rewrite this
module's state or write machine code through ctypes); that is why the OS rule exists.
Kept import-light on purpose: it runs before anything else at start-up.
"""

from __future__ import annotations

import _socket
import ipaddress
import json
import os
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

# The guard's value types live in egress_types (no socket code there); re-exported here
# ("X as X"), since callers know them as egress.BlockedAttempt and egress.Endpoint.
from localscribe.security.egress_types import BlockedAttempt as BlockedAttempt
from localscribe.security.egress_types import Endpoint as Endpoint
from localscribe.security.egress_types import ip_or_none, norm_host
from localscribe.security.egress_types import read_block_log as read_block_log

ENV_LOG = "LOCALSCRIBE_EGRESS_LOG"
# Never read any more (an environment variable must not widen a child's allowlist: spawn
# children get it on their command line); kept so tools that clear it still work.
ENV_ALLOW = "LOCALSCRIBE_EGRESS_ALLOW"

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_RESOLVE_TTL_S = 60.0
_MEMORY_LIMIT = 1000
# Read the family from the C struct: Python's socket.socket.family is an overridable property.
_C_FAMILY = _socket.socket.__dict__["family"]
_INET = frozenset({socket.AF_INET, socket.AF_INET6})
_LOCAL_ONLY = frozenset({socket.AF_UNIX, getattr(socket, "AF_NETLINK", socket.AF_UNIX)})
# libc entry points that put bytes on the network; ctypes may neither look them up nor call them.
_NATIVE_NET = frozenset({"connect", "__connect", "bind", "sendto", "__sendto", "sendmsg", "__sendmsg",
                         "sendmmsg", "__sendmmsg", "syscall", "dlsym", "dlvsym"})


class EgressBlocked(PermissionError):
    """A network call to a destination outside loopback and the allowlist was refused."""


class Capability:
    """The right to change this process's allowlist. One exists per process (the vault's)."""

    __slots__ = ()

    def __reduce__(self) -> NoReturn:      # never travels to another process
        raise TypeError("the egress capability cannot be pickled")

    def __repr__(self) -> str:
        return "<egress capability>"


class _Guard:
    """All mutable guard state in one place (one instance per process)."""

    def __init__(self) -> None:
        self.installed = False
        self.authority: Capability | None = None
        self.lock = threading.RLock()
        self.endpoints: set[Endpoint] = set()
        self.resolved: dict[str, tuple[float, frozenset[str]]] = {}
        self.blocked: deque[BlockedAttempt] = deque(maxlen=_MEMORY_LIMIT)
        self.blocked_total = 0
        self.listeners: list[Callable[[BlockedAttempt], None]] = []
        self.log_path: Path | None = None
        self.unlogged: list[BlockedAttempt] = []
        self.native_addrs: frozenset[int] = frozenset()


_G = _Guard()


# ---------------------------------------------------------------- public API

def install_guard(block_log: str | os.PathLike[str] | None = None) -> None:
    """Install the hook once per process; later calls are no-ops (the allowlist changes only
    through ``allow`` with the vault's capability). Reads ``LOCALSCRIBE_EGRESS_LOG``."""
    log = block_log or os.environ.get(ENV_LOG)
    if log:
        set_block_log(log)
    with _G.lock:
        if _G.installed:
            return
        from localscribe.security import egress_spawn

        _G.native_addrs = egress_spawn.native_addresses(_NATIVE_NET)
        egress_spawn.guard_spawn_children(
            lambda: (allowed_strings(), str(_G.log_path) if _G.log_path else None))
        sys.addaudithook(_hook)
        _G.installed = True


def worker_initializer() -> None:
    """``initializer=`` for ``multiprocessing`` pools; spawn children are guarded already (the
    command line installs the guard), so this only makes the intent explicit."""
    install_guard()


def is_installed() -> bool:
    return _G.installed


def claim_authority() -> Capability:
    """The capability to change the allowlist, handed out once per process (to the vault)."""
    with _G.lock:
        if _G.authority is not None:
            raise EgressBlocked("the egress allowlist capability was already claimed in this process")
        _G.authority = Capability()
        return _G.authority


def allow(host: str, port: int | None = None, *, capability: Capability | None = None) -> None:
    """Let this process (and spawn children started afterwards) reach ``host`` (one port or any)."""
    _require(capability)
    _add(Endpoint(norm_host(host), int(port) if port is not None else None))


def disallow(host: str, port: int | None = None, *, capability: Capability | None = None) -> None:
    """Remove an endpoint added earlier (e.g. when the admin removes it from the allowlist)."""
    _require(capability)
    with _G.lock:
        _G.endpoints.discard(Endpoint(norm_host(host), int(port) if port is not None else None))
        _G.resolved.clear()


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


def set_block_log(path: str | os.PathLike[str] | None) -> None:
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


def check_destination(host: str, port: int | None = None) -> bool:
    """Whether a connection to (host, port) would be allowed. Does no network I/O itself
    except resolving allowlisted host names."""
    return _allowed(host, port)


# ---------------------------------------------------------------- the hook

_ADDRESS_EVENTS = {"socket.connect", "socket.sendto", "socket.sendmsg"}
_LOOKUP_EVENTS = {"socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
                  "socket.gethostbyaddr", "socket.getnameinfo"}
_NATIVE_EVENTS = {"ctypes.dlsym", "ctypes.dlsym/handle", "ctypes.call_function"}


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event in _ADDRESS_EVENTS or event in _LOOKUP_EVENTS:
        dest = _destination(event, args)
        if dest is None or _allowed(*dest):
            return
        _refuse(event, *dest, "only loopback and the configured EHR endpoints are allowed "
                f"(allowlist: {', '.join(allowed_strings()) or 'empty'})")
    elif event == "socket.bind":
        _check_bind(args[0], args[1])
    elif event == "socket.__new__":
        family = args[1]
        if family not in (-1, None) and family not in _INET and family not in _LOCAL_ONLY:
            _refuse(event, f"family {family}", None, "only IP and local sockets may be created")
    elif event in _NATIVE_EVENTS:
        _check_native(event, args)


def _refuse(event: str, host: str, port: int | None, why: str) -> NoReturn:
    _record(event, host, port)
    shown = f"{host}:{port}" if port is not None else host
    raise EgressBlocked(f"LocalScribe egress guard refused {event.split('.', 1)[1]} to {shown}: {why}")


def _check_bind(sock: socket.socket, address: Any) -> None:
    family = _C_FAMILY.__get__(sock)
    if family in _LOCAL_ONLY:
        return
    if family not in _INET:
        _refuse("socket.bind", f"family {family}", None, "only IP and local sockets may be bound")
    host = norm_host(address[0]) if isinstance(address, tuple) and address else str(address)
    port = address[1] if isinstance(address, tuple) and len(address) > 1 else None
    ip = ip_or_none(host)
    if host in _LOOPBACK_NAMES or (ip is not None and (ip.is_loopback or _is_v4mapped_loopback(ip))):
        return
    _refuse("socket.bind", host or "0.0.0.0", port, "listening is allowed on loopback only")


def _check_native(event: str, args: tuple[Any, ...]) -> None:
    if event == "ctypes.call_function":
        if args and args[0] in _G.native_addrs:
            _refuse(event, "libc network call", None, "native network calls are not allowed")
        return
    name = args[1] if len(args) > 1 else None
    if isinstance(name, bytes):
        name = name.decode("ascii", "replace")
    if name in _NATIVE_NET:
        _refuse(event, f"libc {name}", None, "native network calls are not allowed")


def _destination(event: str, args: tuple[Any, ...]) -> tuple[str, int | None] | None:
    """The (host, port) a call would reach, or None when it cannot leave the machine."""
    if event in _ADDRESS_EVENTS:
        sock, address = args[0], args[1]
        if address is None:          # sendmsg on a connected socket: connect was checked
            return None
        family = _C_FAMILY.__get__(sock)
        if family in _LOCAL_ONLY:
            return None              # AF_UNIX, netlink stay on the machine
        if family not in _INET:
            return f"family {family}", None   # packet sockets etc.: never allowed
        if isinstance(address, tuple) and address:
            host = address[0]
            port = address[1] if len(address) > 1 else None
            return norm_host(host), port
        return str(address), None
    if event == "socket.getaddrinfo":
        host, port = args[0], args[1]
        if host is None:
            return None              # passive look-up for bind()
        return norm_host(host), _port_or_none(port)
    if event in ("socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr"):
        return norm_host(args[0]), None
    if event == "socket.getnameinfo":
        sockaddr = args[0]
        if isinstance(sockaddr, tuple) and sockaddr:
            return norm_host(sockaddr[0]), _port_or_none(sockaddr[1] if len(sockaddr) > 1 else None)
    return None


def _allowed(host: str, port: int | None) -> bool:
    host = norm_host(host)
    if host in _LOOPBACK_NAMES or host == "":
        return True
    ip = ip_or_none(host)
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
    # An IP reached after resolving an allowlisted name is allowed too. The look-up below
    # passes the hook because the name itself is on the allowlist.
    for ep in endpoints:
        if ep.port is not None and port is not None and ep.port != port:
            continue
        if ip_or_none(ep.host) is None and str(ip) in _resolve(ep.host):
            return True
    return False


def _resolve(name: str) -> frozenset[str]:
    now = time.monotonic()
    with _G.lock:
        cached = _G.resolved.get(name)
    if cached and now - cached[0] < _RESOLVE_TTL_S:
        return cached[1]
    try:
        infos = socket.getaddrinfo(name, None)
        ips = frozenset(str(ipaddress.ip_address(str(info[4][0]).split("%")[0])) for info in infos)
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
    path = _G.log_path
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (json.dumps(attempt.to_dict(), sort_keys=True) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        _G.unlogged.append(attempt)


# ---------------------------------------------------------------- children and native code

def _boot_child(allowlist: list[str], block_log: str | None) -> None:
    """First statement of a spawn child (see ``egress_spawn``): the parent's
    allowlist, then the hook. Refused in a process that is already guarded."""
    if _G.installed:
        raise EgressBlocked("the egress guard is already installed in this process")
    for entry in allowlist:
        _add(Endpoint.parse(entry))
    install_guard(block_log)


def _require(capability: Capability | None) -> None:
    if capability is None or capability is not _G.authority:
        raise EgressBlocked("the egress allowlist changes only through the vault "
                            "(an admin's allowlist, `localscribe ehr configure`)")


# ---------------------------------------------------------------- helpers

def _add(ep: Endpoint) -> None:
    with _G.lock:
        _G.endpoints.add(ep)
        _G.resolved.pop(ep.host, None)


def _port_or_none(port: Any) -> int | None:
    if port is None:
        return None
    try:
        return int(port)
    except (TypeError, ValueError):
        try:
            return socket.getservbyname(str(port))   # no audit hook of ours sees this event
        except OSError:
            return None


def _is_v4mapped_loopback(ip: object) -> bool:
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool(mapped and mapped.is_loopback)
