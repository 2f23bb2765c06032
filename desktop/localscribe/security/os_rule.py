"""The no-egress guarantee, first line: an nftables rule that lets LocalScribe's processes reach
loopback and the admin's EHR endpoints and nothing else.

It matches the socket owner (``meta skuid``): LocalScribe runs as a dedicated service user, so
native code, subprocesses (curl, bash ``/dev/tcp``) and ctypes calls are judged by the kernel
whatever the Python audit hook sees. Packets of every other user, and those the kernel sends on
its own (no socket owner), are left alone.

The installer calls ``python -m localscribe.security.os_rule install`` as root (opt out with
``--no-egress-rule``). Installing replaces the table as a whole, so running it again is safe.
``probe()`` is the proof ``localscribe security report`` shows: a child process (bash, which the
Python hook never sees) sends one byte to a documentation address; the kernel's EPERM means the
rule is active.
"""

from __future__ import annotations

import argparse
import ipaddress
import pwd
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

TABLE = "localscribe_egress"
SERVICE_USER = "localscribe"
# RFC 5737 TEST-NET-3, discard port: without a rule the probe's one byte goes nowhere useful.
PROBE_HOST, PROBE_PORT = "203.0.113.1", 9
UNIT = """[Unit]
Description=LocalScribe egress rule (nftables)
After=network-pre.target
Before=network.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart={nft} -f {rules}

[Install]
WantedBy=multi-user.target
"""


class OsRuleError(RuntimeError):
    """The rule could not be installed; the message says why in one line."""


@dataclass(frozen=True)
class Probe:
    state: str      # "blocked" (rule active), "open" (the byte left), "unreachable", "unknown"
    detail: str

    @property
    def active(self) -> bool:
        return self.state == "blocked"

    def describe(self) -> str:
        if self.active:
            return (f"OS egress rule ACTIVE: a child process's send to {PROBE_HOST}:{PROBE_PORT} "
                    f"was refused by the kernel ({self.detail})")
        if self.state == "unreachable":
            return (f"OS egress rule NOT SEEN: this machine has no route to the probe address "
                    f"{PROBE_HOST} ({self.detail}), so the probe cannot tell; only the Python "
                    "hook is known to guard egress")
        return (f"NO OS egress rule is active for this process (probe to {PROBE_HOST}:{PROBE_PORT}: "
                f"{self.state}, {self.detail}); only the Python hook guards egress")


def render(uid: int, endpoints: list[tuple[str, int | None]]) -> str:
    """The nft script: create-then-delete makes the load idempotent (replaces the old table)."""
    allow = []
    for ip, port in endpoints:
        fam = "ip" if ipaddress.ip_address(ip).version == 4 else "ip6"
        allow.append(f"\t\t{fam} daddr {ip}" + (f" tcp dport {port}" if port else "") + " accept")
    return "\n".join([
        f"table inet {TABLE}",
        f"delete table inet {TABLE}",
        f"table inet {TABLE} {{",
        "\tchain output {",
        "\t\ttype filter hook output priority filter; policy accept;",
        f"\t\tmeta skuid {int(uid)} jump app",
        "\t}",
        "\tchain app {",
        "\t\tip daddr 127.0.0.0/8 accept",
        "\t\tip6 daddr ::1 accept",
        *allow,
        "\t\tmeta l4proto tcp counter reject with tcp reset",   # fail fast, not a 2-minute timeout
        "\t\tcounter drop",                                        # UDP & co: the sender gets EPERM
        "\t}",
        "}",
        ""])


def resolve(entries: list[str]) -> list[tuple[str, int | None]]:
    """``host[:port]`` entries to (IP, port): names are resolved now, as the kernel needs IPs."""
    from localscribe.security.egress import Endpoint

    out: list[tuple[str, int | None]] = []
    for entry in entries:
        ep = Endpoint.parse(entry)
        try:
            ips = [str(ipaddress.ip_address(ep.host))]
        except ValueError:
            try:
                ips = sorted({str(i[4][0]).split("%")[0] for i in socket.getaddrinfo(ep.host, None)})
            except OSError as exc:
                raise OsRuleError(f"cannot resolve allowlisted host {ep.host}: {exc}") from None
        out += [(ip, ep.port) for ip in ips if (ip, ep.port) not in out]
    return out


def install(uid: int, entries: list[str], etc_dir: Path | None = Path("/etc"),
            nft: str | None = None) -> str:
    """Load the rule for ``uid``; with ``etc_dir``, also keep it across reboots. Returns it."""
    nft = nft or shutil.which("nft") or "/usr/sbin/nft"
    if not Path(nft).exists():
        raise OsRuleError("nft is not installed (Debian: apt-get install nftables)")
    rules = render(uid, resolve(entries))
    res = subprocess.run([nft, "-f", "-"], input=rules, capture_output=True, text=True)
    if res.returncode != 0:
        why = (res.stderr.strip().splitlines() or ["no message"])[-1]
        raise OsRuleError(f"nft refused the rule (root and CAP_NET_ADMIN are needed): {why}")
    if etc_dir is not None:
        _persist(Path(etc_dir), rules, nft)
    return rules


def remove(nft: str | None = None) -> bool:
    nft = nft or shutil.which("nft") or "/usr/sbin/nft"
    res = subprocess.run([nft, "delete", "table", "inet", TABLE], capture_output=True, text=True)
    return res.returncode == 0


def _persist(etc: Path, rules: str, nft: str) -> None:
    conf = etc / "localscribe" / "egress.nft"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(rules)
    unit = etc / "systemd" / "system" / "localscribe-egress.service"
    if unit.parent.is_dir():
        unit.write_text(UNIT.format(nft=nft, rules=conf))
        if Path("/run/systemd/system").is_dir() and etc == Path("/etc"):
            subprocess.run(["systemctl", "enable", "localscribe-egress.service"],
                           capture_output=True)


def probe(timeout_s: float = 5.0) -> Probe:
    """Try a forbidden send from a child process the Python hook cannot see."""
    bash = shutil.which("bash") or "/bin/bash"
    cmd = f"exec 3<>/dev/udp/{PROBE_HOST}/{PROBE_PORT} && printf x >&3"
    try:
        res = subprocess.run([bash, "-c", cmd], capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Probe("unknown", f"probe did not run: {exc}")
    err = res.stderr.strip().splitlines()[-1] if res.stderr.strip() else ""
    if res.returncode == 0:
        return Probe("open", "the datagram was sent")
    if "Operation not permitted" in err:
        return Probe("blocked", "Operation not permitted")
    if "unreachable" in err.lower():
        return Probe("unreachable", err)
    return Probe("unknown", err or f"exit status {res.returncode}")


def service_uid(name: str, create: bool) -> int:
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        if not create:
            raise OsRuleError(f"no user {name!r}") from None
    res = subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                          "/usr/sbin/nologin", name], capture_output=True, text=True)
    if res.returncode != 0:
        raise OsRuleError(f"cannot create service user {name!r}: {res.stderr.strip()}")
    return pwd.getpwnam(name).pw_uid


def vault_allowlist(data_dir: Path) -> list[str]:
    """The admin's persisted allowlist, read without unlocking (settings are not secret)."""
    from localscribe.config import Paths
    from localscribe.vault import settings
    from localscribe.vault.store import Vault

    vault = Vault.open(Paths(data_dir, data_dir / "models"))
    try:
        return list(settings.read(vault.db, settings.EGRESS_ALLOW) or [])
    finally:
        vault.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m localscribe.security.os_rule")
    sub = ap.add_subparsers(dest="action", required=True)
    p = sub.add_parser("install", help="load the rule (root) and keep it across reboots")
    p.add_argument("--user", default=SERVICE_USER, help="the account LocalScribe runs as")
    p.add_argument("--uid", type=int, help="match this uid instead of --user")
    p.add_argument("--allow", action="append", default=[], metavar="HOST[:PORT]")
    p.add_argument("--data-dir", type=Path, help="also allow the vault's admin allowlist")
    p.add_argument("--etc", type=Path, default=Path("/etc"))
    sub.add_parser("remove", help="delete the rule")
    sub.add_parser("probe", help="show whether a rule blocks this process")
    args = ap.parse_args(argv)
    try:
        if args.action == "install":
            uid = args.uid if args.uid is not None else service_uid(args.user, create=True)
            entries = list(args.allow)
            if args.data_dir and (args.data_dir / "vault.sqlite").exists():
                entries += vault_allowlist(args.data_dir)
            install(uid, entries, args.etc)
            print(f"egress rule loaded for uid {uid}: loopback"
                  + "".join(f", {e}" for e in entries))
        elif args.action == "remove":
            print("egress rule removed" if remove() else "no egress rule was loaded")
        else:
            result = probe()
            print(result.describe())
            return 0 if result.active else 1
    except OsRuleError as exc:
        print(f"localscribe: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
