"""EHR commands: ``connectors list|check|configure|send`` and ``outbox list|retry|cancel|drain``.

Thin layer over ``localscribe.ehr.service.EhrService``; every command that touches the vault is
audited there (or here, for listings). Unlocking follows the vault commands: ``--user`` or
LOCALSCRIBE_USER, passphrase from LOCALSCRIBE_PASSPHRASE or a prompt.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localscribe.cli.common import Subparsers, UserError, add_json, guarded as _run, print_json
from localscribe.cli.unlock import ENV_USER, add_user_options as _common, unlock as _unlock

if TYPE_CHECKING:
    from localscribe.ehr.outbox import Job
    from localscribe.ehr.service import EhrService
    from localscribe.vault.session import Session


def _service(session: Session) -> EhrService:
    from localscribe.ehr.service import EhrService

    return EhrService.from_session(session)


def _parse_sets(pairs: list[str]) -> dict[str, str]:
    """``key=value`` pairs; ``key=@path`` reads the value from a file (keys, certificates)."""
    values = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set expects key=value, got {pair!r}")
        if value.startswith("@"):
            try:
                value = Path(value[1:]).expanduser().read_text("utf-8")
            except OSError as exc:
                raise UserError(f"cannot read {value[1:]}: {exc.strerror}") from None
        values[key.strip()] = value
    return values


def _require(session: Session, permission: str) -> None:
    from localscribe.vault import PermissionDenied, roles

    if not roles.allows(session.role, permission):
        session.audit("denied", "ehr", "denied", permission=permission)
        raise PermissionDenied(f"{session.user} ({session.role.value}) may not {permission}")


def _job_dict(job: Job) -> dict[str, Any]:
    return job.to_dict()


def _print_job(job: Job) -> None:
    line = f"{job.id[:12]}  {job.state:<9} {job.connector:<12} {job.kind:<6} " \
           f"note {job.note_id}  attempts {job.attempts}"
    if job.remote_id:
        line += f"  remote {job.remote_id}"
    print(line)
    if job.last_error:
        print(f"    error: {job.last_error}")
    if job.error_detail:
        print(f"    receiver said: {job.error_detail}")


# ---------------------------------------------------------------- connectors

def cmd_list(args: argparse.Namespace) -> int:
    from localscribe.ehr import registry

    found = registry.discover()
    configured = []
    if getattr(args, "user", None) or os.environ.get(ENV_USER):
        session = _unlock(args)
        service = _service(session)
        configured = [{"name": n, "kind": k} for n, k in service.store.names()]
        session.audit("ehr.connectors.list", "ehr", configured=len(configured))
    from localscribe.ehr.instructions_doc import carried_by

    installed = [{"kind": i.kind, "title": i.title, "distribution": i.distribution,
                  "target": i.target, "second_document": carried_by(i.factory),
                  "settings": [{"name": s.name, "kind": s.kind, "required": s.required,
                                "default": s.default, "help": s.help} for s in i.settings]}
                 for i in found.connectors.values()]
    if args.json:
        print_json({"installed": installed, "configured": configured,
                    "problems": list(found.problems)})
        return 0
    print("Installed connectors:")
    for i in installed:
        print(f"  {i['kind']:<14} {i['title']}  [{i['distribution']}]")
        print(f"  {'':<14} {i['second_document']}")
    for problem in found.problems:
        print(f"  ! {problem}")
    if configured:
        print("Configured:")
        for c in configured:
            print(f"  {c['name']:<14} ({c['kind']})")
    return 0


def cmd_configure(args: argparse.Namespace) -> int:
    from localscribe.vault import roles

    session = _unlock(args)
    _require(session, roles.SETTINGS_MANAGE)
    from localscribe.ehr import registry
    from localscribe.ehr.protocol import insecure_reasons
    from localscribe.ehr.service import configure_connector

    config = configure_connector(session, args.name, _parse_sets(args.set or []), kind=args.kind,
                                 insecure=args.insecure)
    shown = {k: v for k, v in config.settings.items()}
    insecure = insecure_reasons(registry.get_info(config.kind).factory, config.settings)
    if args.json:
        print_json({"name": config.name, "kind": config.kind, "settings": shown,
                    "secrets": sorted(config.secrets), "insecure": insecure})
    else:
        print(f"configured {config.name} ({config.kind})")
        for k, v in sorted(shown.items()):
            print(f"  {k} = {v}")
        for k in sorted(config.secrets):
            print(f"  {k} = (secret, stored encrypted)")
        for reason in insecure:
            print(f"  INSECURE (accepted with --insecure): {reason}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    session = _unlock(args)
    result = _service(session).check(args.name)
    if args.json:
        print_json(result.to_dict())
    else:
        print(("ok: " if result.ok else "FAILED: ") + result.summary)
        for d in result.details:
            print(f"  {d}")
    return 0 if result.ok else 1


def cmd_send(args: argparse.Namespace) -> int:
    from localscribe.ehr import delivery
    from localscribe.vault import roles

    session = _unlock(args)
    _require(session, roles.NOTE_PUSH)
    if not session.signed_notes(args.encounter):
        raise UserError(f"encounter {args.encounter} has no signed note: sign it first")
    service = _service(session)
    jobs = delivery.send_encounter(session, service, args.encounter, args.to)
    if args.json:
        print_json([_job_dict(j) for j in jobs])
    else:
        for job in jobs:
            _print_job(job)
        if any(j.state == "queued" for j in jobs):
            print("not delivered yet: kept in the outbox, retried automatically "
                  "(localscribe outbox list)")
        clear_s = getattr(service.connector(args.to), "auto_clear_seconds", None)
        if clear_s is not None and any(j.state == "delivered" for j in jobs):
            print(f"the clipboard clears itself in {clear_s} s if it still holds the note "
                  "(a background clearer outlives this command)" if clear_s > 0 else
                  "the clipboard is not cleared automatically (auto_clear_seconds=0)")
    return 0 if all(j.state == "delivered" for j in jobs) else 1


# ---------------------------------------------------------------- outbox

def cmd_outbox_list(args: argparse.Namespace) -> int:
    session = _unlock(args)
    outbox = _service(session).outbox
    jobs = outbox.list(states=tuple(args.state) if args.state else None)
    session.audit("ehr.outbox.list", "ehr", jobs=len(jobs))
    if args.json:
        print_json({"counts": outbox.counts(), "jobs": [_job_dict(j) for j in jobs]})
        return 0
    for job in jobs:
        _print_job(job)
    counts = outbox.counts()
    print(", ".join(f"{n} {s}" for s, n in counts.items() if n) or "outbox empty")
    return 0


def cmd_outbox_retry(args: argparse.Namespace) -> int:
    from localscribe.ehr import delivery

    session = _unlock(args)
    service = _service(session)
    job = service.outbox.retry(args.job)
    job = service.outbox.attempt(job.id, service._resolve)
    delivery.sync_statuses(session, service)
    if args.json:
        print_json(_job_dict(job))
    else:
        _print_job(job)
    return 0 if job.state == "delivered" else 1


def cmd_outbox_cancel(args: argparse.Namespace) -> int:
    from localscribe.ehr import delivery

    session = _unlock(args)
    service = _service(session)
    job = service.outbox.cancel(args.job)
    delivery.sync_statuses(session, service)
    if args.json:
        print_json(_job_dict(job))
    else:
        _print_job(job)
    return 0


def cmd_outbox_drain(args: argparse.Namespace) -> int:
    from localscribe.ehr import delivery

    session = _unlock(args)
    report = delivery.drain(session, _service(session))
    session.audit("ehr.outbox.drain", "ehr", delivered=len(report.delivered),
                  retrying=len(report.retrying), failed=len(report.failed))
    if args.json:
        print_json(report.to_dict())
    else:
        print(f"delivered {len(report.delivered)}, will retry {len(report.retrying)}, "
              f"failed {len(report.failed)}, waiting {len(report.deferred)}")
    return 0 if not report.failed else 1


# ---------------------------------------------------------------- wiring

def register(sub: Subparsers) -> None:
    con = sub.add_parser("connectors", help="EHR connectors: list, configure, check, send")
    csub = con.add_subparsers(dest="connectors_command", metavar="ACTION", required=True)

    p = csub.add_parser("list", help="installed connector kinds (and configured ones)")
    _common(p)
    add_json(p)
    p.set_defaults(func=_run(cmd_list))

    p = csub.add_parser("configure", help="create or update a connector (admin)")
    _common(p)
    add_json(p)
    p.add_argument("name", help="the connector's name, e.g. 'ehr'")
    p.add_argument("--kind", help="connector kind (default: the name, or the stored kind)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="a setting; KEY=@file reads the value from a file")
    p.add_argument("--insecure", action="store_true",
                   help="accept settings that weaken transport security (tls_verify=false, "
                        "no TLS to a non-loopback host); shown in the security report")
    p.set_defaults(func=_run(cmd_configure))

    p = csub.add_parser("check", help="can this connector deliver now?")
    _common(p)
    add_json(p)
    p.add_argument("name")
    p.set_defaults(func=_run(cmd_check))

    p = csub.add_parser("send", help="send an encounter's signed note through a connector")
    _common(p)
    add_json(p)
    p.add_argument("encounter")
    p.add_argument("--to", required=True, metavar="NAME", help="configured connector name")
    p.set_defaults(func=_run(cmd_send))

    out = sub.add_parser("outbox", help="delivery jobs: list, retry, cancel, drain")
    osub = out.add_subparsers(dest="outbox_command", metavar="ACTION", required=True)
    p = osub.add_parser("list", help="jobs and their state")
    _common(p)
    add_json(p)
    p.add_argument("--state", action="append",
                   choices=("queued", "sending", "delivered", "failed", "cancelled"))
    p.set_defaults(func=_run(cmd_outbox_list))
    for name, fn, helptext in (("retry", cmd_outbox_retry, "try a job again now"),
                               ("cancel", cmd_outbox_cancel, "cancel a queued or failed job")):
        p = osub.add_parser(name, help=helptext)
        _common(p)
        add_json(p)
        p.add_argument("job", help="job id (a unique prefix is enough)")
        p.set_defaults(func=_run(fn))
    p = osub.add_parser("drain", help="attempt every due job once")
    _common(p)
    add_json(p)
    p.set_defaults(func=_run(cmd_outbox_drain))

    from localscribe.cli import schedule_cmd     # the inbound side: schedule pull|list|listen

    schedule_cmd.register(sub)


def main(argv: list[str] | None = None) -> int:
    """Only these commands (``python -m localscribe.cli.ehr_cmd``), guard installed as in the
    full CLI."""
    from localscribe.security.egress import install_guard

    install_guard()
    parser = argparse.ArgumentParser(prog="localscribe")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
