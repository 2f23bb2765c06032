"""Roles and what each may do. Checked in the core (every Session method), not only in the UI.

Separation of duties, deliberately:
- clinician: reads and writes PHI, records, edits, signs, amends, copies and pushes notes.
- assistant: reads and writes PHI to record and prepare drafts and unsigned note versions;
  never signs, amends, copies out or pushes.
- auditor: reads the audit trail and the security report; never PHI.
- admin: manages users, connectors (their secrets) and settings and reads the security report;
  never PHI. An admin who could read charts would be a single person able to both grant access
  and read records without anyone else in the loop; keeping PHI out of the admin role means a
  compromised or curious admin account still needs a clinician's account to see a chart.
  (An admin can reset a clinician's passphrase; that reset is on the audit trail.)
"""

from __future__ import annotations

from enum import Enum


class Role(str, Enum):
    CLINICIAN = "clinician"
    ASSISTANT = "assistant"
    AUDITOR = "auditor"
    ADMIN = "admin"


class PermissionDenied(PermissionError):
    """The signed-in user's role does not allow this action."""


# Permission names are stable strings: they appear in audit details and the security report.
PHI_READ = "phi.read"
PHI_WRITE = "phi.write"          # create encounters, transcripts, drafts, unsigned versions
RECORD = "record"                # audio capture
NOTE_SIGN = "note.sign"          # sign and amend
NOTE_COPY = "note.copy"
NOTE_PUSH = "note.push"
SECRETS_USE = "secrets.use"      # connectors read their credentials at push time
SECRETS_MANAGE = "secrets.manage"
SETTINGS_MANAGE = "settings.manage"
USERS_MANAGE = "users.manage"
AUDIT_READ = "audit.read"
AUDIT_EXPORT = "audit.export"
SECURITY_REPORT = "security.report"
SCORECARD_READ = "scorecard.read"  # the practice scorecard: counts and times, never PHI
STYLE_OWN = "style.own"          # learn from, see and reset one's own drafting style

PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.CLINICIAN: frozenset({PHI_READ, PHI_WRITE, RECORD, NOTE_SIGN, NOTE_COPY, NOTE_PUSH,
                               SECRETS_USE, STYLE_OWN}),
    Role.ASSISTANT: frozenset({PHI_READ, PHI_WRITE, RECORD}),
    Role.AUDITOR: frozenset({AUDIT_READ, AUDIT_EXPORT, SECURITY_REPORT, SCORECARD_READ}),
    Role.ADMIN: frozenset({USERS_MANAGE, SETTINGS_MANAGE, SECRETS_MANAGE, SECRETS_USE,
                           SECURITY_REPORT, SCORECARD_READ}),
}


_PHRASES = {
    PHI_READ: "read patient information", PHI_WRITE: "change patient information",
    RECORD: "record audio", NOTE_SIGN: "sign or amend notes", NOTE_COPY: "copy signed notes",
    NOTE_PUSH: "send notes to the EHR", SECRETS_USE: "use connector credentials",
    SECRETS_MANAGE: "manage connector credentials", SETTINGS_MANAGE: "change settings",
    USERS_MANAGE: "manage users", AUDIT_READ: "read the audit trail",
    AUDIT_EXPORT: "export the audit trail", SECURITY_REPORT: "run the security report",
    SCORECARD_READ: "read the practice scorecard",
    STYLE_OWN: "learn, see or reset a drafting style",
}


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise ValueError(f"unknown role {value!r}; choose one of "
                         f"{', '.join(r.value for r in Role)}") from None


def allows(role: Role | str, permission: str) -> bool:
    return permission in PERMISSIONS[Role(role)]


def require(role: Role | str, permission: str, user: str = "") -> None:
    if not allows(role, permission):
        who = f"{user} ({Role(role).value})" if user else Role(role).value
        raise PermissionDenied(f"{who} is not allowed to {_PHRASES.get(permission, permission)} "
                               f"({permission})")
