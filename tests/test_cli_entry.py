import subprocess
import sys

from localscribe import __version__
from localscribe.cli import build_parser


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "localscribe", *args],
                          capture_output=True, text=True, timeout=120)


def test_version_and_help_list_every_command():
    out = run_cli("--version")
    assert out.returncode == 0
    assert __version__ in out.stdout
    help_text = run_cli("--help").stdout
    for command in ("models", "transcribe", "draft", "scribe", "demo", "audit", "security", "users",
                    "connectors", "outbox"):
        assert command in help_text, command


def test_unknown_command_is_a_clean_usage_error():
    out = run_cli("no-such-command")
    assert out.returncode == 2
    assert "invalid choice" in out.stderr
    assert "Traceback" not in out.stderr


def test_parser_builds_without_side_effects():
    parser = build_parser()
    assert parser.prog == "localscribe"
