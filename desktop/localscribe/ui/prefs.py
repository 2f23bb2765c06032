"""Window preferences that are not PHI and not vault policy (idle timeout, clipboard clear,
preferred microphone), kept as a small JSON file beside the vault."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path


@dataclass
class UiPrefs:
    idle_lock_s: int = 300
    clipboard_clear_s: int = 60       # 0: never clear
    microphone: str = ""              # device name; empty: the system default
    profile: str = ""                 # empty: LOCALSCRIBE_PROFILE or the default

    @classmethod
    def load(cls, path: Path) -> "UiPrefs":
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        tmp.replace(path)
