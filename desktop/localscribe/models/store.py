"""Small JSON records kept in the models directory.

* ``.verify-cache.json``: SHA-256 of files already hashed, keyed by (path, size, mtime_ns,
  ctime_ns, inode), so start-up does not re-read a gigabyte on every launch. ``models verify``
  ignores it. The change time is what keeps this honest: any write, and any ``utime`` that
  puts the old mtime back, moves ctime, which only root (by changing the clock) can set.
* ``installed.json`` (Paths.model_registry): user-supplied model files and per-profile
  choices of which model to use for a role.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from localscribe.config import Paths

from .errors import ModelError

CACHE_NAME = ".verify-cache.json"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        # A damaged cache only costs a re-hash; a damaged registry is reported by the caller.
        return {"__unreadable__": True}
    return data if isinstance(data, dict) else {"__unreadable__": True}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _stat_key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


class VerifyCache:
    def __init__(self, models_dir: Path):
        self.path = Path(models_dir) / CACHE_NAME

    @staticmethod
    def _key(path: Path) -> str:
        return str(Path(path).resolve())

    def lookup(self, path: Path) -> str | None:
        """The cached digest if the file's size and mtime are unchanged since it was hashed."""
        entry = _read_json(self.path).get(self._key(path))
        if not isinstance(entry, dict):
            return None
        try:
            st = os.stat(path)
        except OSError:
            return None
        if entry.get("stat") == _stat_key(st):
            return entry.get("sha256")
        return None

    def store(self, path: Path, sha256: str) -> None:
        try:
            st = os.stat(path)
            data = _read_json(self.path)
            data.pop("__unreadable__", None)
            data[self._key(path)] = {"stat": _stat_key(st), "sha256": sha256}
            _write_json(self.path, data)
        except OSError:
            pass  # a read-only models dir still works; it just re-hashes next time


@dataclass
class UserModel:
    name: str
    role: str
    path: str
    sha256: str
    size: int
    format: str
    added: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))


class Registry:
    def __init__(self, paths: Paths):
        self.path = paths.model_registry

    def _load(self) -> dict[str, Any]:
        data = _read_json(self.path)
        if data.get("__unreadable__"):
            raise ModelError(f"{self.path} is unreadable; fix or delete it (it only lists "
                             "user-added models and model choices)")
        data.setdefault("user_models", {})
        data.setdefault("use", {})
        return data

    def user_models(self) -> dict[str, UserModel]:
        return {name: UserModel(**rec) for name, rec in self._load()["user_models"].items()}

    def add_user_model(self, model: UserModel) -> None:
        data = self._load()
        data["user_models"][model.name] = asdict(model)
        _write_json(self.path, data)

    def choice(self, profile: str, role: str) -> str | None:
        name = self._load()["use"].get(profile, {}).get(role)
        return None if name is None else str(name)

    def choices(self) -> dict[str, dict[str, str]]:
        use = self._load()["use"]
        return {profile: {role: str(name) for role, name in roles.items()}
                for profile, roles in use.items()}

    def set_choice(self, profile: str, role: str, name: str | None) -> None:
        data = self._load()
        per_profile = data["use"].setdefault(profile, {})
        if name is None:
            per_profile.pop(role, None)
        else:
            per_profile[role] = name
        if not per_profile:
            data["use"].pop(profile)
        _write_json(self.path, data)
