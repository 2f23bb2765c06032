"""`localscribe style show|reset`: the signed-in clinician's learned drafting style.

A thin layer over ``localscribe.style.store``: a clinician sees and resets only their own
(``--clinician`` naming anyone else is refused there, and audited).
"""

from __future__ import annotations

import argparse
import sys

from localscribe.cli.common import Subparsers, add_json, guarded, print_json
from localscribe.cli.unlock import add_user_options, unlock


def cmd_show(args: argparse.Namespace) -> int:
    from localscribe.style import store

    session = unlock(args)
    try:
        history = store.history(session, args.clinician)
        profile = store.profile(session, args.clinician)
        session.audit("style.show", session.user, notes=history.notes)
    finally:
        session.lock()
    rules = profile.describe()
    if args.json:
        print_json({"clinician": session.user, "notes": history.notes, "rules": rules})
        return 0
    sys.stdout.write(f"Learned from {history.notes} signed note(s).\n")
    if not rules:
        sys.stdout.write("No rule yet: a rule needs the same habit in several signed notes.\n")
    for line in rules:
        sys.stdout.write(f"- {line}\n")
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    from localscribe.style import store

    session = unlock(args)
    try:
        forgotten = store.reset(session, args.clinician)
    finally:
        session.lock()
    sys.stdout.write(f"Style reset: {forgotten} signed note(s) forgotten; new drafts use no "
                     "learned style until it is learned again.\n")
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("style", help="your learned drafting style: show it or reset it (clinician)")
    ss = p.add_subparsers(dest="style_command", metavar="ACTION", required=True)
    show = ss.add_parser("show", help="the rules learned from your signed notes, in plain words")
    add_user_options(show)
    add_json(show)
    show.add_argument("--clinician", metavar="U", help="must be yourself (anyone else is refused)")
    show.set_defaults(func=guarded(cmd_show))
    reset = ss.add_parser("reset", help="forget everything learned from your signed notes")
    add_user_options(reset)
    reset.add_argument("--clinician", metavar="U", help="must be yourself (anyone else is refused)")
    reset.set_defaults(func=guarded(cmd_reset))
