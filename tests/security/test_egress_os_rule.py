"""The OS rule (first line of the no-egress promise) against what the Python hook cannot see:
curl, bash /dev/tcp, ctypes libc.connect, a socket subclass lying about its family, a spawn
child, and a listener on 0.0.0.0 answering a network peer. All of them run WITHOUT the Python
hook, as the service user, inside a private network namespace this test creates; each is first
shown to get through without the rule (so the test can fail), then blocked with it.

Skipped, with the reason, where the sandbox cannot create a network namespace or load nftables.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from localscribe.security import os_rule

HERE = Path(__file__).parent


def _why_not() -> str | None:
    if sys.platform != "linux":
        return "the OS rule is nftables: Linux only"
    if os.geteuid() != 0:
        return "loading nftables and creating a network namespace needs root"
    for tool in ("unshare", "nft", "setpriv", "ip", "curl", "bash"):
        if not shutil.which(tool):
            return f"`{tool}` is not installed (the netns test needs it)"
    trial = subprocess.run(["unshare", "--net", "nft", "-f", "-"], capture_output=True, text=True,
                           input="table inet localscribe_trial { }\n")
    if trial.returncode != 0:
        return f"cannot load nftables in a private network namespace: {trial.stderr.strip()[-200:]}"
    return None


@pytest.fixture(scope="module")
def netns_run():
    why = _why_not()
    if why:
        pytest.skip(why)
    res = subprocess.run(["unshare", "--net", sys.executable, str(HERE / "os_rule_netns.py")],
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(HERE.parents[1] / "desktop")})
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout.strip().splitlines()[-1])



def test_each_attack_got_through_without_the_rule(netns_run):
    before = netns_run["before"]
    assert before["curl"]["rc"] != 7                     # 7: could not connect
    for name in ("bash_dev_tcp", "ctypes_connect", "lying_subclass"):
        assert before[name]["rc"] == 0, (name, before[name])
    assert before["spawn_child"]["connected"] is True
    assert before["listen_any"]["peer_received"] == "SECRET"
    assert netns_run["peer_accepted_before"] >= 4


def test_the_rule_blocks_them_all_and_keeps_loopback_and_the_allowlist(netns_run):
    after = netns_run["after"]
    assert after["curl"]["rc"] == 7
    for name in ("bash_dev_tcp", "ctypes_connect", "lying_subclass"):
        assert after[name]["rc"] != 0, (name, after[name])
    assert "refused" in after["bash_dev_tcp"]["err"]
    assert after["ctypes_connect"]["out"] == "-1 111"    # ECONNREFUSED: the rule's TCP reset
    assert after["spawn_child"]["connected"] is False
    assert "SECRET" not in after["listen_any"]["peer_received"]
    assert netns_run["peer_accepted_after"] == 0         # not one connection reached the peer
    assert after["allowlisted_endpoint"] == {"rc": 0, "out": "hi", "err": ""}
    assert after["loopback"]["out"] == "hi"
    assert netns_run["root_unaffected"] is True          # only the service user is confined


def test_install_is_idempotent_and_the_probe_tells_active_from_absent(netns_run):
    assert netns_run["tables"] == 1 and netns_run["jump_rules"] == 1
    assert netns_run["probe_as_app"]["rc"] == 0
    assert netns_run["probe_as_app"]["out"].startswith("OS egress rule ACTIVE")
    assert netns_run["probe_as_root"] == "open"          # the same probe, unconfined: it left


def test_render_names_only_loopback_and_the_allowlisted_endpoints():
    rules = os_rule.render(999, [("192.0.2.55", 443), ("2001:db8::7", None)])
    assert "meta skuid 999 jump app" in rules
    assert "ip daddr 192.0.2.55 tcp dport 443 accept" in rules
    assert "ip6 daddr 2001:db8::7 accept" in rules
    assert rules.index("delete table inet localscribe_egress") < rules.index("chain app")
    assert rules.rstrip().endswith("counter drop\n\t}\n}".rstrip())
