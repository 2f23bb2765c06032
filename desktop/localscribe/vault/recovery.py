"""A recovery code for the PHI key, so a practice with one clinician does not lose its records
when that clinician forgets their passphrase.

Since admins never hold the PHI key, an admin's passphrase reset leaves the clinician without
patient-data access until another clinician grants it. Where there is no other clinician, the
recovery code is the way back: a clinician creates it (``localscribe users recovery-code``),
prints it once and the practice keeps it like a safe's combination (not on this computer). The
PHI key is stored wrapped under it (128 random bits, so HKDF suffices; no passphrase stretching
is needed). ``localscribe users recover`` then lets a clinician whose grant is missing open it,
which is audited. Whoever holds the code can read patient data given a clinician's account, so
it is a break-glass secret; creating a new code replaces the old one.
"""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from localscribe.vault import crypto, keys
from localscribe.vault.integrity import IntegrityError

META_KEY = "phi_recovery"
CODE_BYTES = 16


def new_code() -> str:
    raw = base64.b32encode(os.urandom(CODE_BYTES)).decode().rstrip("=")
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def _kek(code: str) -> bytes:
    norm = code.replace("-", "").replace(" ", "").upper().encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"localscribe/phi-recovery").derive(norm)


def _context(vault_id: str) -> str:
    return f"phi-recovery:{vault_id}"


def wrap(vault_id: str, phi: bytes, code: str) -> str:
    return crypto.wrap_key(_kek(code), phi, _context(vault_id)).hex()


def unwrap(vault_id: str, stored: str | None, code: str, phi_check: str | None) -> bytes:
    if not stored:
        raise ValueError("this vault has no PHI recovery code (a clinician can create one "
                         "with `localscribe users recovery-code`)")
    try:
        phi = crypto.unwrap_key(_kek(code), bytes.fromhex(stored), _context(vault_id))
    except (crypto.TamperError, ValueError):
        raise ValueError("that recovery code does not open this vault") from None
    if keys.phi_check(phi) != phi_check:
        raise IntegrityError("the stored recovery wrap holds a key this vault never issued "
                             "(planted); refused")
    return phi
