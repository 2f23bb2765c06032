"""The `localscribe` command: the desktop app with no arguments, headless subcommands otherwise.

Each subcommand lives in its own module as a thin layer over the library; this module only
wires them together. The egress guard goes in before anything else is imported.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Modules that contribute subcommands, each exposing ``register(subparsers)``.
COMMAND_MODULES = (
    "localscribe.cli.models_cmd",
    "localscribe.cli.transcribe_cmd",
    "localscribe.cli.vault_cmd",
    "localscribe.cli.pipeline_cmd",
    "localscribe.cli.scribe_cmd",
    "localscribe.cli.encounters_cmd",
    "localscribe.cli.note_cmd",
    "localscribe.cli.ehr_cmd",
    "localscribe.cli.scorecard_cmd",
    "localscribe.cli.instructions_cmd",
    "localscribe.cli.style_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    from localscribe import __version__
    from localscribe.config import PROFILES

    parser = argparse.ArgumentParser(
        prog="localscribe",
        description="Offline ambient scribe. With no command, opens the desktop app.")
    parser.add_argument("--version", action="version", version=f"localscribe {__version__}")
    # Also accepted before any command (`localscribe --data-dir DIR` opens the app on DIR).
    # Own dests: a subcommand's defaults would otherwise overwrite the value (argparse).
    parser.add_argument("--data-dir", dest="app_data_dir", metavar="DATA_DIR",
                        help="where the vault and audio live (env LOCALSCRIBE_DATA_DIR)")
    parser.add_argument("--models-dir", dest="app_models_dir", metavar="MODELS_DIR",
                        help="where model files live (env LOCALSCRIBE_MODELS_DIR)")
    parser.add_argument("--profile", dest="app_profile", choices=PROFILES, metavar="PROFILE",
                        help=f"model profile for the app ({', '.join(PROFILES)})")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from localscribe.security.egress import install_guard

    install_guard()
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("data_dir", "models_dir", "profile"):
        given = getattr(args, "app_" + name)
        if given is not None and getattr(args, name, None) is None:
            setattr(args, name, given)
    if not getattr(args, "func", None):
        from localscribe.ui.app import run_app

        return run_app(args)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`... | head`): not an error of ours. Point stdout at devnull so
        # the interpreter's final flush does not raise again.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
