"""Run `localscribe models ...` in-process for tests (kept out of conftest so it imports by name)."""

from __future__ import annotations

import argparse


def run_models_cli(*argv: str) -> int:
    """Run `localscribe models ...` through its real argparse wiring, in-process."""
    from localscribe.cli import models_cmd

    parser = argparse.ArgumentParser(prog="localscribe")
    models_cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return args.func(args)
