"""`localscribe scorecard`: the practice scorecard for admins and auditors (no PHI).

A thin layer over ``localscribe.scorecard``: parse the range, unlock, load (role-checked and
audited there), print text, JSON or CSV.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import TYPE_CHECKING

from localscribe.cli.common import Subparsers, UserError
from localscribe.cli.common import guarded
from localscribe.cli.unlock import add_user_options, unlock

if TYPE_CHECKING:   # imported inside the command, when it runs
    from localscribe.scorecard.model import Scorecard


def _day(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{flag} expects a date YYYY-MM-DD, got {value!r}") from None


def _fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{share:.0%}"


def format_text(card: Scorecard) -> str:
    from localscribe.scorecard.export import label
    from localscribe.scorecard.model import ALL_PERIODS
    rng = f"{card.since or 'start'} .. {card.until or 'today'}"
    lines = [f"LocalScribe scorecard  ({rng}; clinic hours {card.hours.start}-{card.hours.end}, "
             f"days {','.join(map(str, card.hours.days))})", ""]
    if not card.trail_ok:
        lines[1:1] = [f"WARNING: the audit trail fails verification; figures may be wrong: "
                      f"{card.trail_problem}"]
    head = (f"{'period':<9} {'clinician':<14} {'visits':>6} {'signed':>6} {'minor':>6} "
            f"{'major':>6} {'flags':>9} {'draft':>7} {'close':>8} {'after-h':>7} "
            f"{'sent/fail/wait':>14} {'abandoned':>9}")
    lines.append(head)
    for r in card.rows:
        q, o, a = r.quality, r.operations, r.adoption
        lines.append(
            f"{r.period if r.period != ALL_PERIODS else 'all':<9} {label(r.clinician):<14} "
            f"{a.visits:>6} {q.notes_signed:>6} {_pct(q.share(q.minor)):>6} "
            f"{_pct(q.share(q.major)):>6} {f'{q.flags_fixed}/{q.flags_raised} fix':>9} "
            f"{_fmt_s(o.stop_to_draft.median_s):>7} {_fmt_s(o.stop_to_signature.median_s):>8} "
            f"{_pct(o.after_hours_share):>7} "
            f"{f'{o.sent}/{o.send_failed}/{o.send_pending + o.not_sent}':>14} "
            f"{a.abandoned_total:>9}")
    lines += ["", "draft / close: median time from Stop to draft / to signature; flags: blocking "
              "flags fixed by an edit / raised; wait: queued or never sent. --json for all "
              "figures and their definitions."]
    return "\n".join(lines) + "\n"


def cmd_scorecard(args: argparse.Namespace) -> int:
    from localscribe.scorecard import export, service
    since, until = _day(args.since, "--since"), _day(args.until, "--until")
    session = unlock(args)
    try:
        fmt = "json" if args.json else "csv" if args.csv else "text"
        card = service.load(session, since=since, until=until, clinician=args.clinician,
                            purpose=fmt)
    finally:
        session.lock()
    if args.json:
        sys.stdout.write(export.to_json(card) + "\n")
    elif args.csv:
        sys.stdout.write(export.to_csv(card))
    else:
        sys.stdout.write(format_text(card))
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("scorecard", help="practice scorecard: note quality, closure times, "
                       "adoption (admin, auditor; no PHI)")
    add_user_options(p)
    p.add_argument("--since", metavar="DATE", help="first visit day, YYYY-MM-DD (local)")
    p.add_argument("--until", metavar="DATE", help="last visit day, YYYY-MM-DD (local)")
    p.add_argument("--clinician", metavar="U", help="only this clinician's rows (user name)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="every figure with its definition")
    out.add_argument("--csv", action="store_true", help="one row per week and clinician")
    p.set_defaults(func=guarded(cmd_scorecard))

