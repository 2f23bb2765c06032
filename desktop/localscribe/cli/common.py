"""Options and helpers shared by subcommands."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeAlias

from localscribe.config import PROFILES, Paths, resolve_paths

# What ``add_subparsers()`` returns. argparse names the class privately and it is generic only
# in typeshed, not at run time: hence a string.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


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


# What a library refusal means to the user, in one table: (defining module, class names,
# exit status, prefix). First match wins, so subclasses come before their bases (TamperError
# is a ValueError). Looked up in sys.modules: an exception of a module that was never
# imported cannot have been raised, so a command never imports a layer it did not use.
# tests/cli/test_cli_errors.py fails when a named class moves or is renamed.
REFUSALS: tuple[tuple[str, tuple[str, ...], int, str], ...] = (
    ("localscribe.vault.encounters", ("NoteLocked", "EncounterNotFound"), 2, ""),
    ("localscribe.vault.integrity", ("IntegrityError",), 4, "vault integrity check failed: "),
    ("localscribe.vault.crypto", ("TamperError",), 4, "vault integrity check failed: "),
    ("localscribe.vault.roles", ("PermissionDenied",), 3, ""),
    ("localscribe.vault.session_base", ("SessionLocked",), 3, ""),
    ("localscribe.models.errors", ("ModelError",), 1, ""),
    ("localscribe.ehr.protocol", ("ConnectorError",), 2, ""),
    ("localscribe.ehr.outbox", ("OutboxError",), 2, ""),
    ("builtins", ("ValueError",), 2, ""),
)


def as_user_error(exc: BaseException) -> UserError | None:
    """The one-line error a library refusal becomes, or None when it is not one (a bug)."""
    if isinstance(exc, UserError):
        return exc
    for module, names, code, prefix in REFUSALS:
        mod = sys.modules.get(module)
        classes = tuple(getattr(mod, n) for n in names if hasattr(mod, n)) if mod else ()
        if classes and isinstance(exc, classes):
            return UserError(prefix + str(exc), exit_code=code)
    return None


def guarded(func: Callable[[argparse.Namespace], int | None]) -> Callable[[argparse.Namespace], int]:
    """Every subcommand's wrapper: a UserError or a library refusal (REFUSALS) becomes one
    line on stderr and its exit status instead of a traceback."""

    @functools.wraps(func)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return int(func(args) or 0)
        except Exception as exc:
            err = as_user_error(exc)
            if err is None:
                raise
            return fail(str(err), err.exit_code)

    return wrapper
