"""The clinician's style history in the vault: one sealed row per clinician.

The row's body is the ``StyleHistory`` as JSON, sealed under the PHI key with (table,
clinician, "body") as associated data, so a row copied onto another clinician's fails to open
rather than steering their drafts. A clinician reads and resets only their own history: the
functions take no user to act for (``style.own``, vault.roles), and naming another clinician
is refused and audited. Events carry counts and a fingerprint, never the rules' words:
``style.learned`` (at each signing), ``style.reset``.
"""

from __future__ import annotations

import json
from typing import Any

from localscribe.domain import Draft, SignedNote
from localscribe.style import edits as E
from localscribe.style.profile import MIN_NOTES, StyleHistory, StyleProfile, learn
from localscribe.vault import roles
from localscribe.vault.audit import utcnow
from localscribe.vault.crypto import TamperError
from localscribe.vault.db import transaction
from localscribe.vault.schema import apply_migrations, register_migration

TABLE = "style_profiles"


def _profiles_v1(db: Any) -> None:
    db.execute(f"""CREATE TABLE {TABLE} (
        user TEXT PRIMARY KEY,                 -- the clinician (staff login, not PHI)
        updated_at TEXT NOT NULL,
        notes INTEGER NOT NULL,                -- signings learned from
        body BLOB NOT NULL                     -- sealed JSON: the StyleHistory
    )""")


register_migration("style-0001-profiles", _profiles_v1)


def ensure_schema(db: Any) -> None:
    """For a vault opened before this module was imported (idempotent)."""
    if TABLE not in db.table_names():
        apply_migrations(db)


def _own(session: Any, clinician: str | None, action: str) -> str:
    session.capability.require(roles.STYLE_OWN)
    if clinician is not None and clinician != session.user:
        session.audit(action, clinician, "denied", permission=roles.STYLE_OWN)
        raise roles.PermissionDenied(f"{session.user} may see or reset only their own style, "
                                     f"not {clinician}'s")
    ensure_schema(session.db)
    return str(session.user)


def _read(session: Any, user: str) -> StyleHistory:
    row = session.db.execute(f"SELECT body FROM {TABLE} WHERE user = ?", (user,)).fetchone()
    if row is None:
        return StyleHistory()
    payload = json.loads(session.cipher.open_text(TABLE, user, "body", row[0]))
    if payload.get("user") != user:
        raise TamperError(f"{TABLE}[{user}]: belongs to another clinician")
    return StyleHistory.from_dict(payload["history"])


def _write(session: Any, user: str, history: StyleHistory) -> None:
    body = session.cipher.seal_text(TABLE, user, "body",
                                    json.dumps({"user": user, "history": history.to_dict()}))
    session.db.execute(f"INSERT OR REPLACE INTO {TABLE} (user, updated_at, notes, body) "
                       "VALUES (?,?,?,?)", (user, utcnow(), history.notes, body))


def history(session: Any, clinician: str | None = None) -> StyleHistory:
    return _read(session, _own(session, clinician, "style.show"))


def profile(session: Any, clinician: str | None = None, k: int = MIN_NOTES) -> StyleProfile:
    """The signed-in clinician's learned style (what their next drafts use)."""
    return learn(history(session, clinician), k)


def _delete(db: Any, user: str) -> int:
    """The row gone (``secure_delete`` zeroes its pages: vault.db); how many signings it held."""
    row = db.execute(f"SELECT notes FROM {TABLE} WHERE user = ?", (user,)).fetchone()
    db.execute(f"DELETE FROM {TABLE} WHERE user = ?", (user,))
    return int(row[0]) if row else 0


def _checkpoint(db: Any) -> None:
    # The write-ahead log keeps the row's pages as they were (learned phrases are words from
    # notes) until a checkpoint copies the zeroed pages back and truncates it (vault/consent.py).
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def reset(session: Any, clinician: str | None = None) -> int:
    """Forget everything learned; returns how many signings were forgotten."""
    user = _own(session, clinician, "style.reset")
    with transaction(session.db):
        forgotten = _delete(session.db, user)
    _checkpoint(session.db)
    session.audit("style.reset", user, notes=forgotten)
    return forgotten


def erase_account(session: Any, user: str) -> None:
    """Called by ``disable_user`` (an admin's, already permitted) inside its transaction: a
    disabled account never signs in again (a name is never reused), so what it learned
    would only be words from its notes kept for no one. Audited as ``style.reset``."""
    if TABLE not in session.db.table_names():
        return
    forgotten = _delete(session.db, user)
    if forgotten:
        session.audit("style.reset", user, notes=forgotten, reason="user.disable")


def after_erase(session: Any) -> None:
    """After the disabling transaction has committed (a checkpoint cannot run inside one)."""
    _checkpoint(session.db)


def _titles(session: Any, draft: Draft | None, note: SignedNote) -> dict[str, str]:
    from localscribe.draft.templates import TemplateError, load_template

    titles: dict[str, str] = {}
    try:
        template = load_template(note.template, session.paths.data_dir)
        titles = {s.title.lower(): s.key for s in template.sections}
    except TemplateError:
        pass
    for sec in (draft.sections if draft else []):
        titles.setdefault(sec.title.lower(), sec.key)
    return titles


def learn_from_signing(session: Any, eid: str, draft: Draft | None, note: SignedNote) -> None:
    """Called by ``Session.sign`` right after the note is signed, by the signer. Never fails
    the signing: a problem is audited by its kind only (a message could quote the note)."""
    try:
        user = _own(session, None, "style.learned")
        titles = _titles(session, draft, note)
        if not titles:
            return
        transcript = session.load_transcript(eid)
        visit_words = sum(len(s.text.split()) for s in transcript.segments) if transcript else 0
        drafted = ({sec.key: " ".join(st.text for st in sec.statements) for sec in draft.sections}
                   if draft is not None else None)
        with transaction(session.db):
            hist = _read(session, user)
            known = {key.split("\t")[0] for key in hist.swaps}
            hist.add(E.observe(titles, drafted, note.text, visit_words, known))
            _write(session, user, hist)
        learned = learn(hist)
        session.audit("style.learned", eid, note_id=note.note_id, notes=hist.notes,
                      with_draft=draft is not None, rules=len(learned.describe()),
                      fingerprint=learned.fingerprint())
    except Exception as exc:  # noqa: BLE001 - the signature stands whatever happens here
        try:
            session.audit("style.learned", eid, "error", error=type(exc).__name__)
        except Exception:  # noqa: BLE001 - a locked session cannot audit; signing still stands
            pass


def drafting_style(session: Any, eid: str | None = None) -> StyleProfile | None:
    """The one home for which style a draft follows (window, redraft, ``scribe``, resume): the
    signed-in clinician's learned profile; None for any other role (no clinician is signed
    in) or when nothing is learned. A style applied is audited as ``style.apply`` on the
    encounter ``eid`` (the user's name when not given), with its fingerprint and rule count,
    never its words. Never fails a draft: a history that cannot be read is audited (by kind)
    and the draft is written without a style."""
    from localscribe.vault.roles import allows

    if not allows(session.role, roles.STYLE_OWN):
        return None
    try:
        learned = profile(session)
    except Exception as exc:  # noqa: BLE001 - drafting goes on without the style
        session.audit("style.apply", eid or session.user, "error", error=type(exc).__name__)
        return None
    if learned.empty:
        return None
    session.audit("style.apply", eid or session.user, notes=learned.notes,
                  rules=len(learned.describe()), fingerprint=learned.fingerprint())
    return learned
