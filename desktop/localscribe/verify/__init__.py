"""Grounding of draft statements in the transcript: numbers, doses, drugs, laterality, negation."""

from localscribe.verify.grounding import (
    UNSUPPORTED_KINDS,
    Verifier,
    unsupported_rate,
    verify_draft,
)

__all__ = ["UNSUPPORTED_KINDS", "Verifier", "unsupported_rate", "verify_draft"]
