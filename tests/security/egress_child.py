"""Runs in a fresh process (the audit hook cannot be removed once installed): installs the
guard, unlocks a vault, and tries the network from itself and from a spawned worker.
Prints one JSON object with what happened."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import socket
import sys
from pathlib import Path

from localscribe.security import egress

egress.install_guard()

TEST_NET = "192.0.2.1"        # RFC 5737 TEST-NET-1: never routed; and we never get that far


def syn_sent_to(ip: str) -> bool:
    """Whether the kernel has any TCP socket toward ip (a connect() that reached the OS)."""
    want = "".join(f"{int(o):02X}" for o in reversed(ip.split(".")))
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return any(line.split()[2].startswith(want + ":") for line in lines)


def try_network(port: int) -> dict:
    out = {"pid": os.getpid()}
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect((TEST_NET, 80))
        out["connect"] = "allowed"
    except egress.EgressBlocked as exc:
        out["connect"] = "blocked"
        out["message"] = str(exc)
    except BlockingIOError:
        out["connect"] = "reached the OS"
    out["syn_sent"] = syn_sent_to(TEST_NET)
    s.close()
    for name, call in (("dns", lambda: socket.getaddrinfo("example.com", 443)),
                       ("create_connection", lambda: socket.create_connection((TEST_NET, 443), 1)),
                       ("udp", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(
                           b"x", ("198.51.100.7", 53)))):
        try:
            call()
            out[name] = "allowed"
        except egress.EgressBlocked:
            out[name] = "blocked"
        except OSError as exc:
            out[name] = f"oserror {exc}"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        c.sendall(b"ping")
        out["loopback"] = c.recv(4).decode()
        out["probe_sees_loopback"] = syn_sent_to("127.0.0.1")   # the probe itself works
    out["allowlist"] = egress.allowed_strings()
    return out


def worker(port: int, q) -> None:
    q.put(try_network(port))


def main() -> None:
    data_dir, user, passphrase = sys.argv[1:4]
    from localscribe.config import Paths
    from localscribe.vault import Vault
    vault = Vault.open(Paths(Path(data_dir), Path(data_dir) / "models"))
    session = vault.unlock(user, passphrase)   # applies the configured allowlist
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    import threading

    def echo():
        while True:
            conn, _ = server.accept()
            with conn:
                conn.sendall(conn.recv(4))
    threading.Thread(target=echo, daemon=True).start()
    result = {"main": try_network(port)}
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_worker_entry, args=(port, q))
    p.start()
    result["worker"] = q.get(timeout=60)
    p.join(30)
    session.ingest_blocked_egress()
    result["audited"] = [{"object": e.object, "pid": e.details["pid"], "event": e.details["event"]}
                         for e in session._audit.events() if e.action == "network.blocked"]
    print(json.dumps(result), flush=True)


def _worker_entry(port: int, q) -> None:
    egress.worker_initializer()    # first thing in every worker
    worker(port, q)


if __name__ == "__main__":
    main()
