"""Who is acting and how a headless command unlocks the vault (shared by subcommands).

The acting user comes from ``--user`` or LOCALSCRIBE_USER, the passphrase from
LOCALSCRIBE_PASSPHRASE or a terminal prompt, never from an argument (it would show in ps).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import TYPE_CHECKING

from localscribe.cli.common import UserError, add_dirs, paths_from
from localscribe.config import ENV_PASSPHRASE

if TYPE_CHECKING:   # the vault is imported when a command opens it
    from localscribe.vault import Vault
    from localscribe.vault.session import Session

ENV_USER = "LOCALSCRIBE_USER"
ENV_NEW_PASSPHRASE = "LOCALSCRIBE_NEW_PASSPHRASE"


# ---------------------------------------------------------------- helpers

def acting_user(args: argparse.Namespace) -> str:
    user = getattr(args, "user", None) or os.environ.get(ENV_USER)
    if not user:
        raise UserError(f"say who you are: --user NAME or {ENV_USER}")
    return user


def ask(prompt: str, env: str, confirm: bool = False) -> str:
    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin.isatty():
        raise UserError(f"no passphrase: set {env} or run on a terminal")
    value = getpass.getpass(prompt)
    if confirm and getpass.getpass("Repeat: ") != value:
        raise UserError("the two passphrases differ")
    return value


def open_vault(args: argparse.Namespace) -> Vault:
    from localscribe.vault import Vault, VaultError
    try:
        return Vault.open(paths_from(args))
    except VaultError as exc:
        raise UserError(str(exc)) from None


def unlock(args: argparse.Namespace, repair: bool = False) -> Session:
    from localscribe.vault import AuthError, IntegrityError, TamperError
    vault = open_vault(args)
    user = acting_user(args)
    try:
        return vault.unlock(user, ask(f"Passphrase for {user}: ", ENV_PASSPHRASE),
                            repair=repair)
    except AuthError as exc:
        raise UserError(str(exc), exit_code=3) from None
    except (TamperError, IntegrityError) as exc:
        raise UserError(f"vault integrity check failed: {exc}", exit_code=4) from None


def add_user_options(p: argparse.ArgumentParser) -> None:
    add_dirs(p)
    p.add_argument("--user", help=f"acting user (env {ENV_USER})")
