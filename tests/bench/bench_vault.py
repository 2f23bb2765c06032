"""Vault costs: key derivation (the ~0.5 s target), unlock, field sealing, audio chunk flush.

Run: .venv/bin/python tests/bench/bench_vault.py [--repeat 5]
Prints medians; compares the default scrypt parameters with one step cheaper and dearer.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from localscribe.config import Paths
from localscribe.domain import Patient
from localscribe.vault import TEST_PARAMS, Vault
from localscribe.vault.crypto import FieldCipher, new_data_key
from localscribe.vault.kdf import DEFAULT_PARAMS, KdfParams, derive_kek, new_salt


def median_s(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    n = ap.parse_args().repeat
    print(f"scrypt (median of {n}):")
    base = None
    for label, p in (("n/2", KdfParams(n=DEFAULT_PARAMS.n // 2, r=DEFAULT_PARAMS.r)),
                     ("default", DEFAULT_PARAMS),
                     ("n*2", KdfParams(n=DEFAULT_PARAMS.n * 2, r=DEFAULT_PARAMS.r))):
        s = median_s(lambda p=p: derive_kek("a passphrase", new_salt(), p), n)
        base = s if label == "default" else base
        print(f"  {label:<8} n=2^{p.n.bit_length() - 1} r={p.r} p={p.p} "
              f"{p.memory_bytes // 2**20:>4} MiB  {s * 1000:7.1f} ms")
    with tempfile.TemporaryDirectory() as d:
        paths = Paths(Path(d) / "data", Path(d) / "models")
        v = Vault.create(paths, "admin", "admin passphrase")
        unlock_s = median_s(lambda: v.unlock('admin', 'admin passphrase').lock(), n)
        print(f"unlock (default params): {unlock_s * 1000:.0f} ms")
        v.close()
        paths2 = Paths(Path(d) / "data2", Path(d) / "models")
        v2 = Vault.create(paths2, "admin", "admin passphrase", kdf_params=TEST_PARAMS)
        admin = v2.unlock("admin", "admin passphrase")
        admin.add_user("doc", "clinician", "doc passphrase")
        doc = v2.unlock("doc", "doc passphrase")
        eid = doc.create_encounter(Patient("A", "1", ""), "soap")
        spool = doc.open_audio_spool(eid)
        block = np.zeros(16000, np.float32)
        flush = median_s(lambda: spool.write(block), max(n, 10))
        spool.close()
        print(f"audio: 1 s chunk sealed + fsynced + renamed: {flush * 1000:.1f} ms (median)")
    c = FieldCipher(new_data_key())
    payload = b"x" * 4096
    blob = c.seal("t", "r", "f", payload)
    k = 2000
    seal = median_s(lambda: [c.seal("t", "r", "f", payload) for _ in range(k)], 3) / k
    opn = median_s(lambda: [c.open("t", "r", "f", blob) for _ in range(k)], 3) / k
    print(f"field 4 KiB: seal {seal * 1e6:.1f} us, open {opn * 1e6:.1f} us")


if __name__ == "__main__":
    main()
