"""Driver for test_egress_os_rule.py; runs as root inside a private network namespace
(``unshare --net``), so the rule it installs touches nothing outside this test.

198.51.100.1 (TEST-NET-2) is put on this namespace's loopback device to stand for "a host on the
network": the kernel routes to it, and the rule judges it as non-loopback. The "app" is uid
65534 (nobody); the peers listening there run as root, which the rule leaves alone.
Prints one JSON object.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

HOST = "198.51.100.1"
APP_UID = 65534
DESKTOP = str(Path(__file__).resolve().parents[2] / "desktop")


class Peer:
    """A root listener on HOST: counts connections and answers each with b'hi'."""

    def __init__(self, host: str = HOST) -> None:
        self.sock = socket.create_server((host, 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            conn, _ = self.sock.accept()
            self.accepted += 1
            with conn:
                conn.sendall(b"hi")


AS_APP = ["setpriv", f"--reuid={APP_UID}", f"--regid={APP_UID}", "--clear-groups"]
ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": DESKTOP}


def as_app(argv: list[str], timeout: float = 10) -> subprocess.CompletedProcess:
    return subprocess.run(AS_APP + argv, capture_output=True, text=True, timeout=timeout,
                          env=ENV, cwd="/")


def bash_tcp(host: str, port: int) -> str:
    return f"exec 3<>/dev/tcp/{host}/{port} && head -c2 <&3"


PY_CTYPES = """
import ctypes, socket, sys
class A(ctypes.Structure):
    _fields_ = [("f", ctypes.c_ushort), ("p", ctypes.c_uint16), ("a", ctypes.c_uint32), ("z", ctypes.c_char * 8)]
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
a = A(socket.AF_INET, socket.htons(int(sys.argv[2])), int.from_bytes(socket.inet_aton(sys.argv[1]), "little"))
rc = libc.connect(fd, ctypes.byref(a), ctypes.sizeof(a))
print(rc, ctypes.get_errno()); sys.exit(0 if rc == 0 else 1)
"""
PY_LIAR = """
import socket, sys
class Liar(socket.socket):
    family = property(lambda self: socket.AF_UNIX)
s = Liar(socket.AF_INET, socket.SOCK_STREAM); s.settimeout(3)
s.connect((sys.argv[1], int(sys.argv[2]))); print(s.recv(2))
"""


def spawn_child_connect(host: str, port: int, q) -> None:
    try:
        with socket.create_connection((host, port), 3) as c:
            q.put("connected " + c.recv(2).decode())
    except OSError as exc:
        q.put(f"refused: {exc}")


def spawn_attack(host: str, port: int) -> int:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=spawn_child_connect, args=(host, port, q))
    p.start()
    print(q.get(timeout=30))
    p.join(10)
    return 0


def listen_attack() -> int:
    """The app listens on 0.0.0.0 and sends to whoever connects."""
    srv = socket.create_server(("0.0.0.0", 0))
    print(srv.getsockname()[1], flush=True)
    srv.settimeout(4)
    try:
        conn, _ = srv.accept()
        conn.sendall(b"SECRET")
        conn.close()
    except OSError:
        pass
    return 0


def attempts(peer: Peer, allowed: Peer, py: str) -> dict:
    runs = {
        "curl": as_app(["curl", "-s", "-m", "3", f"http://{HOST}:{peer.port}/"]),
        "bash_dev_tcp": as_app(["bash", "-c", bash_tcp(HOST, peer.port)]),
        "ctypes_connect": as_app([py, "-c", PY_CTYPES, HOST, str(peer.port)]),
        "lying_subclass": as_app([py, "-c", PY_LIAR, HOST, str(peer.port)]),
        "spawn_child": as_app([py, __file__, "spawn-attack", HOST, str(peer.port)], 40),
        "allowlisted_endpoint": as_app(["bash", "-c", bash_tcp(HOST, allowed.port)]),
        "loopback": as_app(["bash", "-c", bash_tcp("127.0.0.1", LOOP.port)]),
    }
    out = {k: {"rc": r.returncode, "out": r.stdout.strip()[-200:], "err": r.stderr.strip()[-200:]}
           for k, r in runs.items()}
    out["spawn_child"]["connected"] = out["spawn_child"]["out"].startswith("connected")
    out["listen_any"] = listen_probe(py)
    return out


def listen_probe(py: str) -> dict:
    proc = subprocess.Popen(AS_APP + [py, __file__, "listen-attack"], stdout=subprocess.PIPE,
                            text=True, env=ENV, cwd="/")
    port = int(proc.stdout.readline())
    got = b""
    try:
        with socket.create_connection((HOST, port), 3) as c:
            c.settimeout(3)
            got = c.recv(16)
    except OSError as exc:
        got = f"error: {exc}".encode()
    proc.wait(15)
    return {"peer_received": got.decode(errors="replace")}


def main() -> int:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "addr", "add", f"{HOST}/32", "dev", "lo"], check=True)
    # A route for the report's probe address, so its datagram reaches the OUTPUT hook (without a
    # route the kernel refuses it before any rule could).
    subprocess.run(["ip", "route", "add", "203.0.113.0/24", "dev", "lo"], check=True)
    sys.path.insert(0, DESKTOP)
    from localscribe.security import os_rule
    # The app-side attempts run as nobody, who may not reach the venv's interpreter (e.g. one
    # under /root): the system Python 3 does for them, as none of them needs a dependency.
    py = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
    global LOOP
    LOOP = Peer("127.0.0.1")
    peer, allowed = Peer(), Peer()
    result = {"before": attempts(peer, allowed, py), "peer_accepted_before": peer.accepted}
    peer.accepted = 0
    os_rule.install(APP_UID, [f"{HOST}:{allowed.port}"], etc_dir=None)
    os_rule.install(APP_UID, [f"{HOST}:{allowed.port}"], etc_dir=None)   # twice: idempotent
    listing = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout
    result["tables"] = listing.count(f"table inet {os_rule.TABLE}")
    result["jump_rules"] = listing.count("jump app")
    result["after"] = attempts(peer, allowed, py)
    result["peer_accepted_after"] = peer.accepted
    result["root_unaffected"] = subprocess.run(["bash", "-c", bash_tcp(HOST, peer.port)],
                                               capture_output=True, text=True).returncode == 0
    probe = as_app([py, "-m", "localscribe.security.os_rule", "probe"])
    result["probe_as_app"] = {"rc": probe.returncode, "out": probe.stdout.strip()}
    result["probe_as_root"] = os_rule.probe().state
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["spawn-attack"]:
        sys.exit(spawn_attack(sys.argv[2], int(sys.argv[3])))
    if sys.argv[1:2] == ["listen-attack"]:
        sys.exit(listen_attack())
    sys.exit(main())
