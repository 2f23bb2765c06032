"""Where LocalScribe keeps its files.

Configuration is resolved once from (in order) explicit arguments, environment
variables and the per-user platform directories; nothing else reads the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "localscribe"
ENV_DATA_DIR = "LOCALSCRIBE_DATA_DIR"
ENV_MODELS_DIR = "LOCALSCRIBE_MODELS_DIR"
ENV_PASSPHRASE = "LOCALSCRIBE_PASSPHRASE"
ENV_PROFILE = "LOCALSCRIBE_PROFILE"

DEFAULT_PROFILE = "standard"
PROFILES = ("tiny", "standard")


@dataclass(frozen=True)
class Paths:
    data_dir: Path
    models_dir: Path

    @property
    def vault_db(self) -> Path:
        return self.data_dir / "vault.sqlite"

    @property
    def audio_dir(self) -> Path:
        return self.data_dir / "audio"

    @property
    def model_registry(self) -> Path:
        """Installed-model records (hashes, user-supplied files, verification cache)."""
        return self.models_dir / "installed.json"


def resolve_paths(data_dir: str | os.PathLike[str] | None = None,
                  models_dir: str | os.PathLike[str] | None = None) -> Paths:
    data = Path(data_dir or os.environ.get(ENV_DATA_DIR) or platformdirs.user_data_dir(APP_NAME))
    models = Path(models_dir or os.environ.get(ENV_MODELS_DIR)
                  or Path(platformdirs.user_data_dir(APP_NAME)) / "models")
    return Paths(data_dir=data.expanduser().resolve(), models_dir=models.expanduser().resolve())


def default_profile() -> str:
    profile = os.environ.get(ENV_PROFILE, DEFAULT_PROFILE)
    if profile not in PROFILES:
        raise ValueError(f"{ENV_PROFILE}={profile!r} is not one of {', '.join(PROFILES)}")
    return profile
