"""Hash checks for model files: the fast cached check used at load time, and the full audit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from localscribe.config import Paths

from .errors import IntegrityError, ModelError
from .hashing import sha256_file
from .manifest import Manifest, load_manifest
from .store import Registry, VerifyCache


def file_digest(path: Path, models_dir: Path | None = None, use_cache: bool = True) -> str:
    cache = VerifyCache(models_dir or Path(path).parent)
    if use_cache and (digest := cache.lookup(path)):
        return digest
    digest = sha256_file(path)
    cache.store(path, digest)
    return digest


def verify_file(path: Path, expected_sha256: str, models_dir: Path | None = None,
                use_cache: bool = True) -> None:
    """Raise ModelError if ``path`` is missing, IntegrityError if its SHA-256 differs."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file {path} is missing")
    digest = file_digest(path, models_dir, use_cache)
    if digest != expected_sha256:
        raise IntegrityError(f"model file {path} has sha256 {digest}, expected {expected_sha256}: "
                             "it is damaged or has been modified")


@dataclass(frozen=True)
class FileStatus:
    name: str
    role: str
    path: str
    state: str  # ok | differs | missing | not installed
    user_supplied: bool
    profiles: tuple[str, ...] = ()
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.state in ("differs", "missing")


def audit(paths: Paths, manifest: Manifest | None = None, rehash: bool = True) -> list[FileStatus]:
    """Check every manifest model present in the models dir and every user-supplied file.

    A manifest model that was never installed is reported as such, not as a failure; a
    user-supplied file that vanished is a failure, since something points at it.
    """
    manifest = manifest or load_manifest()
    out = []
    for spec in manifest.models:
        path = paths.models_dir / spec.file
        if not path.exists():
            out.append(FileStatus(spec.id, spec.role, str(path), "not installed", False, spec.profiles))
            continue
        out.append(_check(spec.id, spec.role, path, spec.sha256, False, spec.profiles, paths, rehash))
    for user in Registry(paths).user_models().values():
        out.append(_check(user.name, user.role, Path(user.path), user.sha256, True, (), paths, rehash))
    return out


def _check(name: str, role: str, path: Path, sha256: str, user: bool, profiles: tuple[str, ...],
           paths: Paths, rehash: bool) -> FileStatus:
    try:
        verify_file(path, sha256, paths.models_dir, use_cache=not rehash)
    except IntegrityError as exc:
        return FileStatus(name, role, str(path), "differs", user, profiles, str(exc))
    except ModelError as exc:
        return FileStatus(name, role, str(path), "missing", user, profiles, str(exc))
    return FileStatus(name, role, str(path), "ok", user, profiles)
