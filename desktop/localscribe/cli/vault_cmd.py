"""Vault commands: init, users, lock, settings, audit verify/export/anchor, security report
and repair.

Headless: the acting user comes from ``--user`` or LOCALSCRIBE_USER, the passphrase from
LOCALSCRIBE_PASSPHRASE or a terminal prompt; a new user's passphrase from
LOCALSCRIBE_NEW_PASSPHRASE or a prompt (asked twice).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from localscribe.cli.common import Subparsers, UserError, add_json, guarded as _run, paths_from, print_json
from localscribe.config import ENV_PASSPHRASE

from localscribe.cli.unlock import (ENV_NEW_PASSPHRASE, ENV_USER, acting_user as _acting_user,  # noqa: F401
                                   add_user_options as _common, ask as _ask,
                                   open_vault as _open, unlock as _unlock)


ENV_RECOVERY_CODE = "LOCALSCRIBE_RECOVERY_CODE"

# ---------------------------------------------------------------- commands

def cmd_init(args: argparse.Namespace) -> int:
    from localscribe.vault import Vault, VaultError
    paths = paths_from(args)
    user = _acting_user(args)
    passphrase = _ask(f"New passphrase for admin {user}: ", ENV_PASSPHRASE, confirm=True)
    try:
        vault = Vault.create(paths, user, passphrase)
    except VaultError as exc:
        raise UserError(str(exc)) from None
    print(f"created vault {vault.vault_id} at {paths.vault_db}; first admin: {user}")
    vault.close()
    return 0


def cmd_users_add(args: argparse.Namespace) -> int:
    session = _unlock(args)
    session.add_user(args.name, args.role,
                     _ask(f"Passphrase for new user {args.name}: ", ENV_NEW_PASSPHRASE, True))
    print(f"added {args.name} ({args.role})")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    session = _unlock(args)
    rows = [{"user": u.id, "role": u.role.value, "disabled": u.disabled, "locked": u.locked,
             "failed_attempts": u.failed_attempts, "keyring_unlock": u.keyring_unlock}
            for u in session.list_users()]
    session.lock()
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            state = "disabled" if r["disabled"] else "locked" if r["locked"] else "active"
            print(f"{r['user']:<20} {r['role']:<10} {state}")
    return 0


def cmd_users_passwd(args: argparse.Namespace) -> int:
    session = _unlock(args)
    target = args.name or session.user
    session.set_passphrase(target, _ask(f"New passphrase for {target}: ", ENV_NEW_PASSPHRASE,
                                        True))
    session.lock()
    print(f"passphrase changed for {target}")
    return 0


def cmd_users_disable(args: argparse.Namespace) -> int:
    session = _unlock(args)
    session.disable_user(args.name)
    session.lock()
    print(f"disabled {args.name}")
    return 0


def cmd_lock(args: argparse.Namespace) -> int:
    from localscribe.vault.store import request_lock
    vault = _open(args)
    request_lock(vault, os.environ.get(ENV_USER) or getattr(args, "user", None) or "-")
    print("lock requested: every open LocalScribe session on this vault locks at its next use")
    return 0


def cmd_users_reset_attempts(args: argparse.Namespace) -> int:
    """Offline recovery (no unlock): clear a throttle or lock, e.g. the last admin's."""
    from localscribe.vault import users
    vault = _open(args)
    if not users.reset_attempts(vault.db, args.name):
        raise UserError(f"no user {args.name!r}")
    vault.record_pending("-", "-", "unlock.reset_attempts", args.name, "ok", offline=True)
    print(f"failed attempts for {args.name} cleared (recorded on the audit trail)")
    return 0


def cmd_users_recovery_code(args: argparse.Namespace) -> int:
    session = _unlock(args)
    code = session.create_phi_recovery_code()
    session.lock()
    print(f"PHI recovery code (shown once; keep it offline, like a safe's combination): {code}")
    return 0


def cmd_users_recover(args: argparse.Namespace) -> int:
    session = _unlock(args)
    session.recover_phi(_ask("Recovery code: ", ENV_RECOVERY_CODE))
    session.lock()
    print(f"patient-data access restored for {session.user} (audited)")
    return 0


def cmd_settings_show(args: argparse.Namespace) -> int:
    from localscribe.vault import settings
    vault = _open(args)
    values = settings.read_all(vault.db)   # the plain mirror: unlock-time checks verify it
    if args.json:
        print_json(values)
    else:
        for key, value in sorted(values.items()):
            print(f"{key} = {json.dumps(value)}")
    return 0


def cmd_settings_set(args: argparse.Namespace) -> int:
    try:
        value = json.loads(args.value)
    except ValueError:
        value = args.value
    session = _unlock(args)
    session.set_setting(args.key, value)
    session.lock()
    print(f"{args.key} = {json.dumps(value)}")
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from localscribe.vault.audit_export import verify_export
    if args.file:
        result = verify_export(Path(args.file), expect_fingerprint=args.expect_key)
    else:
        from localscribe.vault.audit import VerifyResult
        try:
            session = _unlock(args)
        except UserError as exc:
            if exc.exit_code != 4:
                raise
            # the vault refused to open because of tampering: that is the verdict
            session, result = None, VerifyResult(False, 0, "altered", None, str(exc))
        if session is not None:
            result = session.verify_audit(anchor=Path(args.anchor) if args.anchor else None)
            try:
                session.lock()
            except Exception:
                pass   # a broken trail cannot record the lock; the verdict below says why
    if args.json:
        print_json(result.to_dict())
    else:
        print(("OK: " if result.ok else "FAILED: ") + result.message)
    return 0 if result.ok else 1


def cmd_audit_export(args: argparse.Namespace) -> int:
    session = _unlock(args)
    n = session.export_audit(Path(args.out))
    fp = session.audit_public_key       # the copy authenticated by the user's own wrap
    session.lock()
    from localscribe.vault.audit import key_fingerprint
    print(f"exported {n} events to {args.out}; verify with: localscribe audit verify "
          f"--file {args.out} --expect-key {key_fingerprint(fp)}")
    return 0


def cmd_audit_anchor(args: argparse.Namespace) -> int:
    from localscribe.vault.audit_anchor import printed
    session = _unlock(args)
    result = session.verify_audit()
    if not result.ok:
        session.lock()
        raise UserError(f"not anchoring a damaged trail: {result.message}", exit_code=1)
    anchor = session.anchor_audit(Path(args.out) if args.out else None)
    session.lock()
    print(printed(anchor) + (f"; written to {args.out}" if args.out else "")
          + "; keep it outside this computer, then: localscribe audit verify --anchor FILE")
    return 0


def cmd_security_repair(args: argparse.Namespace) -> int:
    """Admin, after reviewing the refusal: rewrite the plain mirrors from the signed state."""
    session = _unlock(args, repair=True)
    session.lock()
    print("plain mirrors rewritten from the signed security state (audited)")
    return 0


def cmd_security_report(args: argparse.Namespace) -> int:
    from localscribe.security_report import build_report, format_text
    session = _unlock(args)
    report = build_report(paths_from(args), session)
    session.lock()
    if args.json:
        print_json(report)
    else:
        sys.stdout.write(format_text(report))
    return 0 if report["audit_chain"]["ok"] and report["integrity"]["settings_authenticated"] \
        else 1


# ---------------------------------------------------------------- wiring

def register(sub: Subparsers) -> None:
    p = sub.add_parser("init", help="create the vault and its first admin")
    _common(p)
    p.set_defaults(func=_run(cmd_init))

    users = sub.add_parser("users", help="manage local accounts (admin)")
    usub = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    p = usub.add_parser("add", help="add a user")
    _common(p)
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=("clinician", "assistant", "auditor", "admin"))
    p.set_defaults(func=_run(cmd_users_add))
    p = usub.add_parser("list", help="list users and roles")
    _common(p)
    add_json(p)
    p.set_defaults(func=_run(cmd_users_list))
    p = usub.add_parser("passwd", help="change your passphrase, or reset another's (admin)")
    _common(p)
    p.add_argument("name", nargs="?")
    p.set_defaults(func=_run(cmd_users_passwd))
    p = usub.add_parser("disable", help="disable a user (drops their key wrap)")
    _common(p)
    p.add_argument("name")
    p.set_defaults(func=_run(cmd_users_disable))
    p = usub.add_parser("reset-attempts", help="offline recovery: clear a throttle or lock "
                        "(no unlock; audited at the next unlock)")
    _common(p)
    p.add_argument("name")
    p.set_defaults(func=_run(cmd_users_reset_attempts))
    p = usub.add_parser("recovery-code", help="clinician: create the PHI key's break-glass "
                        "recovery code (shown once)")
    _common(p)
    p.set_defaults(func=_run(cmd_users_recovery_code))
    p = usub.add_parser("recover", help=f"clinician: regain patient-data access with the "
                        f"recovery code (env {ENV_RECOVERY_CODE} or prompt)")
    _common(p)
    p.set_defaults(func=_run(cmd_users_recover))

    p = sub.add_parser("lock", help="lock every open session on this vault now")
    _common(p)
    p.set_defaults(func=_run(cmd_lock))

    settings_p = sub.add_parser("settings", help="show or change non-PHI settings")
    ssub = settings_p.add_subparsers(dest="settings_command", metavar="ACTION", required=True)
    p = ssub.add_parser("show")
    _common(p)
    add_json(p)
    p.set_defaults(func=_run(cmd_settings_show))
    p = ssub.add_parser("set", help="set KEY to a JSON value (admin)")
    _common(p)
    p.add_argument("key")
    p.add_argument("value")
    p.set_defaults(func=_run(cmd_settings_set))

    audit = sub.add_parser("audit", help="verify or export the audit trail (auditor)")
    asub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    p = asub.add_parser("verify", help="check the chain; names the first broken event")
    _common(p)
    add_json(p)
    p.add_argument("--file", help="verify an exported file instead (no unlock needed)")
    p.add_argument("--expect-key", help="fingerprint the export must be signed with")
    p.add_argument("--anchor", help="an anchor file from `audit anchor`: detect a rollback")
    p.set_defaults(func=_run(cmd_audit_verify))
    p = asub.add_parser("anchor", help="sign the current head to keep outside the vault")
    _common(p)
    p.add_argument("out", nargs="?", help="anchor file to write (else only printed)")
    p.set_defaults(func=_run(cmd_audit_anchor))
    p = asub.add_parser("export", help="write the trail as PHI-free JSON lines")
    _common(p)
    p.add_argument("out")
    p.set_defaults(func=_run(cmd_audit_export))

    sec = sub.add_parser("security", help="security self-check")
    secsub = sec.add_subparsers(dest="security_command", metavar="ACTION", required=True)
    p = secsub.add_parser("report", help="versions, models, keys, egress, audit, users (no PHI)")
    _common(p)
    add_json(p)
    p.set_defaults(func=_run(cmd_security_report))
    p = secsub.add_parser("repair", help="admin: rewrite edited plain values from the signed "
                          "security state")
    _common(p)
    p.set_defaults(func=_run(cmd_security_repair))


def main(argv: list[str] | None = None) -> int:
    """The vault commands alone (``python -m localscribe.cli.vault_cmd``), guard first."""
    from localscribe.security.egress import install_guard

    install_guard()
    parser = argparse.ArgumentParser(prog="localscribe")
    register(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
