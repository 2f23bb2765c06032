"""Find the verified model file for a role: the only way the app should obtain a model path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from localscribe.config import Paths, default_profile, resolve_paths

from .errors import IntegrityError, ModelError
from .manifest import ROLES, Manifest, load_manifest
from .store import Registry
from .verify import verify_file


@dataclass(frozen=True)
class ModelFile:
    path: Path          # absolute, verified against its pinned SHA-256
    sha256: str
    name: str           # manifest id, or the name given to a user-supplied file
    role: str           # "asr" | "llm"
    user_supplied: bool
    title: str = ""
    models_dir: Path | None = None  # where the verify cache for this file lives


def _install_hint(profile: str) -> str:
    return f"run: localscribe models install --profile {profile}"


def _manifest_file(name: str, role: str, profile: str, paths: Paths, manifest: Manifest) -> ModelFile:
    spec = manifest.model(name)
    if spec.role != role:
        raise ModelError(f"{name} is an {spec.role} model, not {role}")
    path = (paths.models_dir / spec.file).resolve()
    if not path.is_file():
        raise ModelError(f"{spec.title} is not installed: {path} is missing; "
                         + (_install_hint(profile) if profile in spec.profiles
                            else f"run: localscribe models install --model {spec.id}"))
    try:
        verify_file(path, spec.sha256, paths.models_dir)
    except IntegrityError as exc:
        raise ModelError(f"refusing to load {path}: {exc}. Run `localscribe models verify` to see "
                         f"every file, then `localscribe models install --profile {profile}` "
                         "to replace it.") from None
    return ModelFile(path, spec.sha256, spec.id, role, False, spec.title, paths.models_dir)


def _user_file(name: str, role: str, paths: Paths) -> ModelFile:
    user = Registry(paths).user_models().get(name)
    if user is None:
        raise ModelError(f"no model named {name!r} (chosen with `localscribe models use`); "
                         "see `localscribe models list`")
    if user.role != role:
        raise ModelError(f"user-supplied model {name} is an {user.role} model, not {role}")
    path = Path(user.path)
    try:
        verify_file(path, user.sha256, paths.models_dir)
    except IntegrityError as exc:
        raise ModelError(f"refusing to load user-supplied {name}: {exc}; re-add it with "
                         f"`localscribe models add {path} --role {role} --name {name}` if the "
                         "change is intended") from None
    except ModelError:
        raise ModelError(f"user-supplied model {name} is missing: {path}; add it again or run "
                         f"`localscribe models use --clear --role {role}`") from None
    return ModelFile(path.resolve(), user.sha256, name, role, True, name, paths.models_dir)


def resolve_model(role: str, profile: str | None = None, paths: Paths | None = None,
                  manifest: Manifest | None = None) -> ModelFile:
    """The verified file for ``role`` in ``profile``; raises ModelError saying what to run."""
    if role not in ROLES:
        raise ModelError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    profile = profile or default_profile()
    paths = paths or resolve_paths()
    manifest = manifest or load_manifest()
    chosen = Registry(paths).choice(profile, role)
    if chosen and chosen in Registry(paths).user_models():
        return _user_file(chosen, role, paths)
    name = chosen or manifest.profile_model(role, profile).id
    return _manifest_file(name, role, profile, paths, manifest)


def select_models(profile: str | None = None, paths: Paths | None = None,
                  manifest: Manifest | None = None) -> tuple[ModelFile, ModelFile]:
    """(asr, llm) for a profile, both verified."""
    manifest = manifest or load_manifest()
    return (resolve_model("asr", profile, paths, manifest), resolve_model("llm", profile, paths, manifest))
