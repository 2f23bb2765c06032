"""Runs in a fresh process with the Python hook installed and NO OS rule: tries each bypass that
got data out before (issue 11) and prints one JSON object saying what happened to each.

203.0.113.9 is TEST-NET-3 (routed nowhere on the Internet); an attempt that reached the kernel
shows up as "reached the OS". The one expected to (a ctypes call through a raw address, which
raises no audit event) sends at most a SYN there.
"""

from __future__ import annotations

import ctypes
import json
import multiprocessing as mp
import socket
import sys

TARGET = ("203.0.113.9", 80)


def _outcome(fn) -> str:
    try:
        fn()
        return "allowed"
    except PermissionError as exc:          # EgressBlocked is a PermissionError
        return "blocked" if "egress guard" in str(exc) or "egress allowlist" in str(exc) \
            else f"permission {exc}"
    except (AttributeError, TypeError) as exc:
        return f"no such bypass ({type(exc).__name__})"
    except OSError as exc:
        return f"reached the OS ({exc})"


class LyingSocket(socket.socket):
    @property
    def family(self):       # claims to be a local socket
        return socket.AF_UNIX


def lying_subclass() -> None:
    s = LyingSocket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(0.5)
    try:
        s.connect(TARGET)
    finally:
        s.close()


class SockaddrIn(ctypes.Structure):
    _fields_ = [("family", ctypes.c_ushort), ("port", ctypes.c_uint16),
                ("addr", ctypes.c_uint32), ("zero", ctypes.c_char * 8)]


def _sockaddr() -> SockaddrIn:
    return SockaddrIn(socket.AF_INET, socket.htons(TARGET[1]),
                      int.from_bytes(socket.inet_aton(TARGET[0]), "little"))


def ctypes_connect(fn=None) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    connect = fn or libc.connect              # the dlsym of "connect" is what the hook refuses
    fd = libc.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK, 0)
    addr = _sockaddr()
    if connect(fd, ctypes.byref(addr), ctypes.sizeof(addr)) != 0:
        raise OSError(ctypes.get_errno(), "native connect")


def spawn_target(q) -> None:
    """Runs in a plain spawn child: it never calls install_guard itself."""
    from localscribe.security import egress
    q.put({"installed_at_start": egress.is_installed(),
           "connect": _outcome(lambda: socket.create_connection(TARGET, 0.5)),
           "allowlist": egress.allowed_strings()})


def main() -> None:
    # An attacker who found libc's connect before the guard went in (or without dlsym).
    pre_connect = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32)(
        ctypes.cast(ctypes.CDLL(None).connect, ctypes.c_void_p).value)
    from localscribe.security import egress
    egress.install_guard()
    from localscribe.vault import egress_authority   # the vault claims the capability
    egress_authority.allow("ehr.example.test", 443)
    out = {}
    out["lying_subclass"] = _outcome(lying_subclass)
    out["ctypes_dlsym_connect"] = _outcome(ctypes_connect)
    out["ctypes_getitem_connect"] = _outcome(lambda: ctypes.CDLL("libc.so.6")["connect"])
    out["ctypes_syscall"] = _outcome(lambda: ctypes.CDLL(None).syscall)
    # Seen by no audit event: only the OS rule stops this (test_egress_os_rule.py).
    out["ctypes_call_by_address"] = _outcome(lambda: ctypes_connect(pre_connect))
    out["old_passthrough"] = _outcome(lambda: egress._passthrough())
    out["allow_without_capability"] = _outcome(lambda: egress.allow(*TARGET))
    out["allow_forged_capability"] = _outcome(lambda: egress.allow(*TARGET, capability=egress.Capability()))
    out["second_claim"] = _outcome(egress.claim_authority)
    out["install_guard_with_allowlist"] = _outcome(lambda: egress.install_guard(["203.0.113.9:80"]))
    out["boot_child_again"] = _outcome(lambda: egress._boot_child(["203.0.113.9:80"], None))
    out["after_all_that_connect"] = _outcome(lambda: socket.create_connection(TARGET, 0.5))
    for name, host in (("bind_any_v4", "0.0.0.0"), ("bind_empty", ""), ("bind_any_v6", "::"),
                       ("bind_loopback", "127.0.0.1")):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET

        def bind(host=host, fam=fam):
            with socket.socket(fam, socket.SOCK_STREAM) as s:
                s.bind((host, 0))
        out[name] = _outcome(bind)
    # create_server re-wraps the refusal in a plain OSError; the hook's record says who refused.
    before = egress.blocked_total()
    out["create_server_any"] = _outcome(lambda: socket.create_server(("", 0)).close())
    out["create_server_refused_by_hook"] = (egress.blocked_total() == before + 1
                                            and egress.blocked_attempts()[-1].event == "socket.bind")
    out["packet_socket"] = _outcome(lambda: socket.socket(17, socket.SOCK_RAW).close())   # AF_PACKET
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=spawn_target, args=(q,))
    p.start()
    out["spawn_child"] = q.get(timeout=60)
    p.join(30)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    sys.exit(main())
