"""Options and helpers shared by subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from localscribe.config import PROFILES, Paths, resolve_paths


class UserError(Exception):
    """A problem the user can fix; printed as one clear line, exit status 2 by default."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


def add_dirs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="where the vault and audio live (env LOCALSCRIBE_DATA_DIR)")
    p.add_argument("--models-dir", help="where model files live (env LOCALSCRIBE_MODELS_DIR)")


def add_profile(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", choices=PROFILES, default=None,
                   help="model profile (default: env LOCALSCRIBE_PROFILE or 'standard')")


def add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")


def paths_from(args: argparse.Namespace) -> Paths:
    return resolve_paths(getattr(args, "data_dir", None), getattr(args, "models_dir", None))


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def fail(message: str, code: int = 2) -> int:
    print(f"localscribe: error: {message}", file=sys.stderr)
    return code


def guarded(func):
    """Turn UserError into a one-line message and exit status instead of a traceback."""

    def wrapper(args: argparse.Namespace) -> int:
        try:
            return int(func(args) or 0)
        except UserError as exc:
            return fail(str(exc), exc.exit_code)

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper
