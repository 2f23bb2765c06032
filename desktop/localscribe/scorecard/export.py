"""The scorecard as JSON and CSV: one flat CSV row per (period, clinician).

Both hold only what ``model`` holds: user names, week labels, counts, shares and seconds.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from localscribe.scorecard import edits
from localscribe.scorecard.compute import ABANDON_AFTER_DAYS
from localscribe.scorecard.model import PRACTICE, AbandonReason, Row, Scorecard

DEFINITIONS = {
    "period": "ISO week of the visit (its local day), or 'all' for the whole range",
    "clinician": "user name of whoever signed (before signing: who opened the visit); "
                 "'practice' = everyone",
    "edit grade": f"word-level edit distance draft -> signed note, over the draft's words: "
                  f"unchanged = 0, minor <= {edits.MINOR_MAX_RATIO:.0%}, major above; "
                  "case, punctuation and layout are not edits",
    "flags": "blocking flags of the signed draft: unchanged = acknowledged and signed as "
             "drafted; fixed = the flagged statement was edited or deleted",
    "stop_to_draft": "seconds from the last Stop to the first draft saved after it",
    "stop_to_signature": "seconds from the last Stop to the first signature (chart closure)",
    "after_hours": "signatures outside the clinic hours setting (scorecard.clinic_hours)",
    "abandoned": f"unsigned visits: consent declined, failed, interrupted, or left unsigned "
                 f"more than {ABANDON_AFTER_DAYS} days",
    "source": "the vault's audit trail (no sealed column is opened)",
}


def _share(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def flat(row: Row, sections: list[str]) -> dict[str, Any]:
    q, o, a = row.quality, row.operations, row.adoption
    out: dict[str, Any] = {
        "period": row.period, "clinician": row.clinician or "practice",
        "visits": a.visits, "visits_recorded": a.visits_recorded,
        "notes_signed": q.notes_signed, "edits_measured": q.edits_measured,
        "unchanged": q.unchanged, "minor_edits": q.minor, "major_edits": q.major,
        "minor_share": _share(q.minor, q.edits_measured),
        "major_share": _share(q.major, q.edits_measured),
        "flags_raised": q.flags_raised, "flags_unchanged": q.flags_unchanged,
        "flags_fixed": q.flags_fixed,
        "stop_to_draft_n": o.stop_to_draft.n, "stop_to_draft_median_s": o.stop_to_draft.median_s,
        "stop_to_draft_p90_s": o.stop_to_draft.p90_s,
        "stop_to_signature_n": o.stop_to_signature.n,
        "stop_to_signature_median_s": o.stop_to_signature.median_s,
        "stop_to_signature_p90_s": o.stop_to_signature.p90_s,
        "signed_after_hours": o.signed_after_hours,
        "after_hours_share": _share(o.signed_after_hours, o.signed),
        "sent": o.sent, "send_failed": o.send_failed, "send_pending": o.send_pending,
        "not_sent": o.not_sent, "open": a.open,
    }
    for reason in AbandonReason:
        out[f"abandoned_{reason.value}"] = a.abandoned.get(reason.value, 0)
    by_key = {s.key: s for s in q.sections}
    for key in sections:
        s = by_key.get(key)
        ratio = s.edit_ratio if s else None
        out[f"edit_ratio.{key}"] = round(ratio, 4) if ratio is not None else None
    return out


def section_keys(card: Scorecard) -> list[str]:
    return sorted({s.key for r in card.rows for s in r.quality.sections})


def to_csv(card: Scorecard) -> str:
    keys = section_keys(card)
    rows = [flat(r, keys) for r in card.rows]
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buf.getvalue()


def to_json(card: Scorecard) -> str:
    keys = section_keys(card)
    return json.dumps({"scorecard": card.to_dict(), "rows": [flat(r, keys) for r in card.rows],
                       "definitions": DEFINITIONS}, indent=2, ensure_ascii=False)


def label(clinician: str) -> str:
    return clinician if clinician != PRACTICE else "practice"
