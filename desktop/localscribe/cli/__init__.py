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
)


def build_parser() -> argparse.ArgumentParser:
    from localscribe import __version__

    parser = argparse.ArgumentParser(
        prog="localscribe",
        description="Offline ambient scribe. With no command, opens the desktop app.")
    parser.add_argument("--version", action="version", version=f"localscribe {__version__}")
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
