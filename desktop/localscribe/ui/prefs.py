"""Window preferences that are not PHI and not vault policy (clipboard clear, preferred
microphone, model profile), kept as a small JSON file beside the vault. The idle lock is vault
policy (the signed setting session.idle_timeout_s), so it is not here."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path


@dataclass
class UiPrefs:
    clipboard_clear_s: int = 60       # 0: never clear
    microphone: str = ""              # device name; empty: the system default
    profile: str = ""                 # empty: LOCALSCRIBE_PROFILE or the default

    @classmethod
    def load(cls, path: Path) -> UiPrefs:
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
