"""Body sites and sides as a note and a visit name them: the everyday words for a clinical site,
and a side compared with itself."""

from __future__ import annotations

from localscribe.verify.text import words

# Clinical names of body sites and the everyday words a visit uses for them.
_SITE_WORDS = {
    "extremity": ("leg", "arm", "ankle", "foot", "feet", "hand", "knee", "thigh", "calf", "shin", "limb"),
    "abdominal": ("stomach", "belly", "abdomen", "tummy", "gut"), "abdomen": ("stomach", "belly", "tummy"),
    "epigastric": ("stomach", "belly", "upper", "abdom"), "lumbar": ("back",), "cervical": ("neck",),
    "thoracic": ("back", "chest"), "pedal": ("foot", "feet", "ankle"), "ocular": ("eye",),
    "periumbilical": ("belly", "stomach", "abdom", "navel"), "suprapubic": ("bladder", "lower", "pelvi"),
    "flank": ("side", "back", "kidney"), "musculoskeletal": ("muscle", "joint", "bone"),
    "joint": ("knee", "hip", "shoulder", "elbow", "wrist", "ankle", "finger", "toe", "joint"),
    "muscle": ("muscle", "ache"), "chest": ("chest", "heart"), "scalp": ("head", "scalp"),
}


COMPARATORS = {"than", "compared", "comparison", "versus", "vs", "vs."}
_SIDE_WORDS = {"left": "left", "right": "right"}


def self_comparison(text: str) -> str | None:
    """ "right worse than right", "less on the left in comparison to the left": a side compared
    with itself, which no visit can support."""
    toks = words(text)
    for i, t in enumerate(toks):
        if t not in COMPARATORS:
            continue
        before = next((toks[j] for j in range(i - 1, max(-1, i - 7), -1) if toks[j] in _SIDE_WORDS), None)
        after = next((toks[j] for j in range(i + 1, min(len(toks), i + 5)) if toks[j] in _SIDE_WORDS), None)
        if before and before == after:
            return before
    return None


def site_variants(site: str) -> tuple[str, ...]:
    for k, v in _SITE_WORDS.items():
        if site.startswith(k[:5]):
            return (site, *v)
    return (site,)
