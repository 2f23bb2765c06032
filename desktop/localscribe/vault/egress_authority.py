"""The vault's hold on the egress guard: the one module of the vault that changes the guard's
process-wide state (the allowlist, the block log, the listener for blocked attempts).

The guard (``security/egress.py``) changes its allowlist only with the capability it hands out
once per process; this module claims it at import, so the one path by which endpoints open is
the admin's persisted allowlist applied by the vault session. A second claimant (a plug-in
imported first) makes this import fail loudly instead of sharing the capability.
"""

from __future__ import annotations

from localscribe.security import egress as _egress
from localscribe.security.egress import (BlockedAttempt, EgressBlocked, Endpoint,
                                         read_block_log, remove_block_listener,
                                         set_block_listener, set_block_log)

# What the session uses of the guard comes through here, beside the capability.
__all__ = ["BlockedAttempt", "EgressBlocked", "Endpoint", "allow", "disallow", "read_block_log",
           "remove_block_listener", "set_block_listener", "set_block_log"]

_CAPABILITY = _egress.claim_authority()


def allow(host: str, port: int | None = None) -> None:
    _egress.allow(host, port, capability=_CAPABILITY)


def disallow(host: str, port: int | None = None) -> None:
    _egress.disallow(host, port, capability=_CAPABILITY)
