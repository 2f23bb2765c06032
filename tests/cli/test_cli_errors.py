"""The one CLI error wrapper (cli.common.guarded): which library refusals become a one-line
error with which exit status, and that a bug still shows its traceback."""

from __future__ import annotations

import argparse
import importlib

import pytest

from localscribe.cli.common import REFUSALS, UserError, guarded


def _classes():
    for module, names, code, prefix in REFUSALS:
        mod = importlib.import_module(module)
        for name in names:
            cls = getattr(mod, name, None)
            assert isinstance(cls, type) and issubclass(cls, Exception), \
                f"cli.common.REFUSALS names {module}.{name}, which is gone: update the table"
            yield cls, code, prefix


def test_every_refusal_in_the_table_exists_and_none_is_shadowed_by_an_earlier_base():
    seen: list[type] = []
    for cls, _, _ in _classes():
        shadow = [base for base in seen if issubclass(cls, base)]
        assert not shadow, f"{cls.__name__} can never match: {shadow[0].__name__} comes first"
        seen.append(cls)


def _run(exc: BaseException, capsys) -> tuple[int, str]:
    def command(args):
        raise exc
    code = guarded(command)(argparse.Namespace())
    return code, capsys.readouterr().err


@pytest.mark.parametrize("module, name, args, code, text", [
    ("localscribe.vault.encounters", "EncounterNotFound", ("abc",), 2,
     "localscribe: error: no encounter 'abc'\n"),
    ("localscribe.vault.encounters", "NoteLocked", ("the note is signed",), 2,
     "localscribe: error: the note is signed\n"),
    ("localscribe.vault.crypto", "TamperError", ("row 3 altered",), 4,
     "localscribe: error: vault integrity check failed: row 3 altered\n"),
    ("localscribe.vault.roles", "PermissionDenied", ("sam may not sign",), 3,
     "localscribe: error: sam may not sign\n"),
    ("localscribe.models.errors", "ModelError", ("no model for profile tiny",), 1,
     "localscribe: error: no model for profile tiny\n"),
    ("builtins", "ValueError", ("--dob must be YYYY-MM-DD",), 2,
     "localscribe: error: --dob must be YYYY-MM-DD\n"),
])
def test_a_refusal_is_one_line_with_its_exit_status(module, name, args, code, text, capsys):
    exc = getattr(importlib.import_module(module), name)(*args)
    assert _run(exc, capsys) == (code, text)


def test_a_user_error_keeps_its_own_exit_status(capsys):
    assert _run(UserError("say who you are", exit_code=3), capsys) == (
        3, "localscribe: error: say who you are\n")


def test_a_bug_is_not_disguised_as_a_user_error():
    def command(args):
        raise RuntimeError("a bug")
    with pytest.raises(RuntimeError, match="a bug"):
        guarded(command)(argparse.Namespace())


def test_the_wrapper_keeps_the_command_name_and_its_return_code():
    def cmd_show(args):
        """Show it."""
        return 5
    wrapped = guarded(cmd_show)
    assert wrapped.__name__ == "cmd_show" and wrapped.__doc__ == "Show it."
    assert wrapped(argparse.Namespace()) == 5
