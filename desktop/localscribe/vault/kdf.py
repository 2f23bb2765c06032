"""Passphrase -> key-encryption key (KEK) with scrypt.

The default cost was measured on the reference machine (2 cores, Debian 12): n=2**16, r=10, p=1
takes about 0.45-0.5 s and 80 MiB per derivation. Parameters are stored with each user's key wrap,
so raising the default later only affects new wraps and old ones keep opening.

Tests pass ``TEST_PARAMS`` explicitly (``Vault.create(..., kdf=TEST_PARAMS)``); no environment
variable lowers the cost in production code paths. The security report flags any wrap whose cost
is below ``PRODUCTION_FLOOR`` loudly.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

KEY_BYTES = 32
SALT_BYTES = 16


@dataclass(frozen=True)
class KdfParams:
    algorithm: str = "scrypt"
    n: int = 2 ** 16
    r: int = 10
    p: int = 1

    @property
    def memory_bytes(self) -> int:
        return 128 * self.r * self.n * self.p

    @property
    def is_weak(self) -> bool:
        """Below the production floor: acceptable for tests only."""
        return self.n * self.r * self.p < PRODUCTION_FLOOR.n * PRODUCTION_FLOOR.r * PRODUCTION_FLOOR.p

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> KdfParams:
        d = json.loads(text)
        if d.get("algorithm") != "scrypt":
            raise ValueError(f"unsupported key derivation {d.get('algorithm')!r}")
        return cls(algorithm="scrypt", n=int(d["n"]), r=int(d["r"]), p=int(d["p"]))


DEFAULT_PARAMS = KdfParams()
PRODUCTION_FLOOR = KdfParams(n=2 ** 15, r=8, p=1)
# Cheap parameters for the test suite only; the security report marks vaults that use them.
TEST_PARAMS = KdfParams(n=2 ** 10, r=8, p=1)


def check_floor(params: KdfParams, floor: KdfParams) -> KdfParams:
    """Refuse to write a wrap cheaper than ``floor`` (whatever a default or a caller says)."""
    cost = params.n * params.r * params.p
    if params.n < 2 or cost < floor.n * floor.r * floor.p or params.n < floor.n // 4:
        raise ValueError(f"key-derivation cost n={params.n}, r={params.r}, p={params.p} is below "
                         f"this vault's floor (n={floor.n}, r={floor.r}, p={floor.p}); refused")
    return params


def new_salt() -> bytes:
    return os.urandom(SALT_BYTES)


def derive_kek(passphrase: str, salt: bytes, params: KdfParams) -> bytes:
    if not passphrase:
        raise ValueError("empty passphrase")
    kdf = Scrypt(salt=salt, length=KEY_BYTES, n=params.n, r=params.r, p=params.p)
    return kdf.derive(passphrase.encode("utf-8"))
