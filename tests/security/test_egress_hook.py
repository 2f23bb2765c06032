"""The Python hook (second line of the no-egress promise) against each bypass of issue 11, with
no OS rule: a lying socket subclass, ctypes look-ups of libc's network calls, the old bypass
functions, binding non-loopback addresses, a packet socket, and a plain spawn child.

What the hook cannot see (subprocesses, a ctypes call through a raw address) is tried against
the OS rule in test_egress_os_rule.py.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def _attempts() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSCRIBE_EGRESS")}
    res = subprocess.run([sys.executable, str(HERE / "egress_bypass_child.py")], capture_output=True,
                         text=True, env=env, timeout=120, cwd=HERE)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_every_in_process_bypass_is_refused_by_the_hook():
    out = _attempts()
    blocked = ("lying_subclass", "ctypes_dlsym_connect", "ctypes_getitem_connect", "ctypes_syscall",
               "allow_without_capability", "allow_forged_capability", "second_claim",
               "boot_child_again", "after_all_that_connect", "bind_any_v4", "bind_empty",
               "bind_any_v6", "packet_socket")
    assert {k: out[k] for k in blocked} == {k: "blocked" for k in blocked}
    # The old switches are gone, not merely guarded.
    assert out["old_passthrough"].startswith("no such bypass")
    assert out["install_guard_with_allowlist"].startswith("no such bypass")
    assert out["create_server_any"] != "allowed" and out["create_server_refused_by_hook"] is True
    assert out["bind_loopback"] == "allowed"
    # A plain spawn child is guarded before its target runs, with the parent's allowlist.
    assert out["spawn_child"] == {"installed_at_start": True, "connect": "blocked",
                                  "allowlist": ["ehr.example.test:443"]}
    # Stated residual (SECURITY.md): a call through a raw function address raises no audit event.
    assert out["ctypes_call_by_address"].startswith("reached the OS")
