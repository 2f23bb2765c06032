"""FHIR R4 (4.0.1) structural validation with SMART on FHIR's ``fhirclient`` models.

The servers we talk to speak R4, and fhir.resources (pinned at 8.x for its R5/R4B models)
ships no R4 package; fhirclient 4.x is generated from the R4 4.0.1 definitions by the SMART
Health IT project and checks, in strict mode, every element's name, type, cardinality
(list or single), required elements and date/time formats. It does not check terminology
bindings: the callers check the few required code bindings they fill themselves.

The message is one line naming the failing element paths; fhirclient's own text (which may
quote values, so possibly PHI) is kept apart in ``R4Invalid.detail``.
"""

from __future__ import annotations

from typing import Any

from fhirclient.models import fhirabstractbase  # type: ignore[import-untyped]
from fhirclient.models.appointment import Appointment  # type: ignore[import-untyped]
from fhirclient.models.documentreference import DocumentReference  # type: ignore[import-untyped]
from fhirclient.models.encounter import Encounter  # type: ignore[import-untyped]
from fhirclient.models.patient import Patient  # type: ignore[import-untyped]
from fhirclient.models.practitioner import Practitioner  # type: ignore[import-untyped]

# The resource types LocalScribe writes or reads; anything else is refused, not waved through.
MODELS: dict[str, Any] = {cls.resource_type: cls for cls in
                          (Appointment, DocumentReference, Encounter, Patient, Practitioner)}


class R4Invalid(ValueError):
    """A resource that is not valid FHIR R4. ``str()`` is one PHI-free line."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


def _leaves(exc: BaseException, path: str) -> list[tuple[str, str]]:
    """(element path, kind of problem) for each leaf error under a FHIRValidationError."""
    if not isinstance(exc, fhirabstractbase.FHIRValidationError):
        text = str(exc)
        if "Superfluous entry" in text:
            # The unknown element's name is the quoted word; element names carry no PHI.
            name = text.split('"')[1] if text.count('"') >= 2 else "?"
            return [(f"{path}.{name}" if path else name, "not an R4 element")]
        if "Non-optional property" in text:
            name = text.split('"')[1] if text.count('"') >= 2 else "?"
            return [(f"{path}.{name}" if path else name, "required, missing")]
        if "Wrong type" in text:
            return [(path or "(root)", "wrong type")]
        if "expected format" in text:
            return [(path or "(root)", "bad format")]
        return [(path or "(root)", type(exc).__name__)]
    here = ".".join(p for p in (path, exc.path or "") if p)
    out: list[tuple[str, str]] = []
    for err in exc.errors:
        out.extend(_leaves(err, here))
    return out


def validate_r4(resource: dict[str, Any]) -> None:
    """Raise :class:`R4Invalid` unless ``resource`` is a valid R4 resource of a type we use."""
    if not isinstance(resource, dict):
        raise R4Invalid(f"not a FHIR resource (a JSON object expected, got {type(resource).__name__})")
    kind = resource.get("resourceType")
    model = MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise R4Invalid(f"resourceType {str(kind)[:40]!r} is not one LocalScribe reads or writes")
    try:
        model(resource, strict=True)
    except fhirabstractbase.FHIRValidationError as exc:
        found = set(_leaves(exc, ""))
        # A broken child also makes fhirclient report its parent "missing": name the child only.
        problems = sorted((p, why) for p, why in found if not (
            why == "required, missing" and any(q.startswith(p + ".") for q, _ in found)))
        where = ", ".join(f"{p} ({why})" for p, why in problems[:8])
        more = f" and {len(problems) - 8} more" if len(problems) > 8 else ""
        raise R4Invalid(f"{kind} is not valid FHIR R4 at {where}{more}",
                        detail=str(exc)) from None
    except (TypeError, ValueError) as exc:   # e.g. a list where an object belongs, at the top
        raise R4Invalid(f"{kind} is not valid FHIR R4 ({type(exc).__name__})",
                        detail=str(exc)) from None
