"""`localscribe schedule pull|list|listen`: the day's schedule from the EHR, headless.

pull: FHIR R4 (Encounter/Appointment + Patient + Practitioner) through a configured FHIR
connector, on its credentials. listen: an HL7 v2 MLLP listener (SIU^S12, ADT^A04/A08) on
loopback or an interface the admin allowlisted, storing each visit sealed before answering AA.
TLS, sender authentication and the address come from the admin's `schedule listener`
configuration. list: what is stored for a day. Start an encounter from a visit with
`localscribe encounters new --from-schedule VISIT` or `localscribe scribe AUDIO --from-schedule VISIT`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from localscribe.cli.common import Subparsers, UserError, add_json, print_json
from localscribe.cli.common import guarded
from localscribe.cli.unlock import add_user_options, unlock

if TYPE_CHECKING:
    from localscribe.ingest.model import ScheduledVisit
    from localscribe.vault.session import Session


def _day(value: str | None) -> str:
    if not value:
        return date.today().isoformat()
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise UserError(f"--date {value!r} is not a date (YYYY-MM-DD)") from None


def register(sub: Subparsers) -> None:
    p = sub.add_parser("schedule", help="the day's schedule from the EHR: pull, list, listen")
    ssub = p.add_subparsers(dest="schedule_command", metavar="ACTION", required=True)
    pull = ssub.add_parser("pull", help="pull a day's visits from a FHIR connector")
    pull.add_argument("--from", dest="connector", metavar="NAME",
                      help="configured FHIR connector (default: the only one configured)")
    lst = ssub.add_parser("list", help="the stored visits of a day")
    for q in (pull, lst):
        q.add_argument("--date", help="YYYY-MM-DD (default: today)")
        add_json(q)
        add_user_options(q)
    listen = ssub.add_parser("listen", help="receive SIU^S12 / ADT^A04 / ADT^A08 over MLLP")
    listen.add_argument("--host", help="listen address (default: the configured one): "
                        "loopback, or one the admin allowlisted")
    listen.add_argument("--port", type=int, help="default: the configured one (2575)")
    listen.add_argument("--processing-id", choices=("P", "T", "D"),
                        help="accept only messages with this MSH-11")
    add_user_options(listen)
    conf = ssub.add_parser("listener", help="show or set (admin) the listener's address and TLS")
    conf.add_argument("--host", help="listen address: loopback, or one on the egress allowlist")
    conf.add_argument("--port", type=int)
    conf.add_argument("--tls-cert", metavar="PEM", help="the listener's certificate chain")
    conf.add_argument("--tls-key", metavar="PEM", help="its private key (unencrypted PEM)")
    conf.add_argument("--client-ca", metavar="PEM",
                      help="require senders to present a certificate this CA signed")
    conf.add_argument("--no-tls", action="store_true", help="remove the TLS settings")
    conf.add_argument("--processing-id", choices=("P", "T", "D", ""))
    conf.add_argument("--insecure", action="store_true",
                      help="accept plain TCP on a non-loopback address (audited)")
    add_json(conf)
    add_user_options(conf)
    pull.set_defaults(func=guarded(cmd_pull))
    lst.set_defaults(func=guarded(cmd_list))
    listen.set_defaults(func=guarded(cmd_listen))
    conf.set_defaults(func=guarded(cmd_listener))


def _row(visit: ScheduledVisit, encounters: Sequence[str] = ()) -> dict[str, Any]:
    return {**visit.to_dict(), "name": visit.display_name, "encounters": list(encounters)}


def _print(visit: ScheduledVisit, encounters: Sequence[str] = ()) -> None:
    started = f"  encounter {encounters[-1][:12]}" if encounters else ""
    print(f"{visit.id[:12]}  {visit.visit_time[11:16] or '--:--'}  {visit.display_name}  "
          f"MRN {visit.patient_id}  visit {visit.visit_number or '-'}  "
          f"{visit.location or ''}{started}")


def _fhir_connector(session: Session, name: str | None) -> str:
    from localscribe.ehr.service import EhrService

    if name:
        return name
    fhir = [n for n, kind in EhrService.from_session(session).store.names() if kind == "fhir-r4"]
    if len(fhir) != 1:
        raise UserError("give the FHIR connector with --from NAME" + (
            f" (configured: {', '.join(fhir)})" if fhir else " (none is configured: "
            "localscribe connectors configure NAME --kind fhir-r4 ...)"))
    return fhir[0]


def cmd_pull(args: argparse.Namespace) -> int:
    from localscribe.ehr.protocol import ConnectorError
    from localscribe.ingest.service import pull_fhir

    day = _day(args.date)
    session = unlock(args)
    try:
        try:
            visits, problems = pull_fhir(session, _fhir_connector(session, args.connector), day)
        except ConnectorError as exc:
            raise UserError(f"schedule pull failed: {exc}") from None
    finally:
        session.lock()
    if args.json:
        print_json({"date": day, "visits": [_row(v) for v in visits], "skipped": problems})
    else:
        print(f"{len(visits)} visit(s) on {day}")
        for v in visits:
            _print(v)
        for problem in problems:
            print(f"  skipped {problem}", file=sys.stderr)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from localscribe.ingest.service import day_schedule

    day = _day(args.date)
    session = unlock(args)
    try:
        entries = day_schedule(session, day)
    finally:
        session.lock()
    if args.json:
        print_json({"date": day, "visits": [_row(e.visit, e.encounters) for e in entries]})
        return 0
    if not entries:
        print(f"no visits on {day}")
    for e in entries:
        _print(e.visit, e.encounters)
    return 0


def cmd_listen(args: argparse.Namespace) -> int:
    from localscribe.ingest.listener import BindRefused
    from localscribe.ingest.listener_config import start_listener
    from localscribe.ingest.listener_tls import ListenerTlsError
    from localscribe.vault.roles import PermissionDenied

    session = unlock(args)
    try:
        listener = start_listener(session, host=args.host, port=args.port,
                                  processing_id=args.processing_id,
                                  on_event=lambda kind, detail: _event(session, kind, detail))
    except PermissionDenied as exc:
        session.lock()
        raise UserError(str(exc), exit_code=3) from None
    except (BindRefused, ListenerTlsError) as exc:
        session.lock()
        raise UserError(str(exc)) from None
    except OSError as exc:
        session.lock()
        raise UserError(f"cannot listen on {args.host or 'the configured address'}"
                        f"{':' + str(args.port) if args.port else ''}: {exc.strerror}") from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    tls = " (TLS" + (", sender certificates required)" if listener.tls and listener.tls.client_ca_file
                     else ")") if listener.tls else ""
    print(f"listening {listener.host}:{listener.port}{tls}", flush=True)
    try:
        # The session locks itself after its idle timeout: then nothing can be stored, so the
        # listener stops rather than answer every sender AE.
        while not stop.wait(0.5):
            if session.locked or session.is_expired():
                print("localscribe: the session locked; the listener stopped (unlock again)",
                      file=sys.stderr)
                return 3
    except KeyboardInterrupt:
        pass
    finally:
        listener.stop()
        if not session.locked:
            session.lock()
    print(f"stopped: {listener.stats.accepted} accepted, {listener.stats.rejected} refused")
    return 0


def cmd_listener(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from localscribe.ingest.listener import BindRefused
    from localscribe.ingest.listener_config import configure, load
    from localscribe.ingest.listener_tls import ListenerTlsError, insecure_reasons

    session = unlock(args)
    try:
        values = {k: v for k, v in (("host", args.host), ("port", args.port),
                                    ("tls_cert", args.tls_cert), ("tls_key", args.tls_key),
                                    ("client_ca", args.client_ca),
                                    ("processing_id", args.processing_id)) if v is not None}
        if args.no_tls:
            values.update(tls_cert="", tls_key="", client_ca="")
        if values or args.insecure:
            try:
                config = configure(session, values, insecure=args.insecure)
            except (BindRefused, ListenerTlsError, ValueError) as exc:
                raise UserError(str(exc)) from None
        else:
            config = load(session)
    finally:
        session.lock()
    reasons = insecure_reasons(config.host, config.tls())
    if args.json:
        print_json({**asdict(config), "insecure_reasons": reasons})
        return 0
    tls = "off" if not config.tls_cert else f"{config.tls_cert} (key {config.tls_key})"
    print(f"listener {config.host}:{config.port}  TLS: {tls}  sender certificates: "
          f"{config.client_ca or 'not required'}  MSH-11: {config.processing_id or 'any'}")
    for reason in reasons:
        print(f"  INSECURE (accepted with --insecure): {reason}")
    return 0


def _event(session: Session, kind: str, detail: dict[str, Any]) -> None:
    if kind == "ingest.hl7.refused" and not session.locked:
        session.audit("schedule.refuse", "hl7", "refused", **detail)
