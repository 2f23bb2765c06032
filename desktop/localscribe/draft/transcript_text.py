"""Read a transcript given as text: ``[doctor] ...`` / ``[patient] ...`` turns, plain text, or the
JSON that ``localscribe transcribe --json`` writes."""

from __future__ import annotations

import json
import re

from localscribe.domain import Segment, Speaker, Transcript

_TURN = re.compile(r"^\s*\[([A-Za-z_ -]+)\]\s*(.*)$")
_ROLE = {"doctor": Speaker.CLINICIAN.value, "clinician": Speaker.CLINICIAN.value,
         "physician": Speaker.CLINICIAN.value, "nurse": Speaker.CLINICIAN.value,
         "patient": Speaker.PATIENT.value, "patient_guest": Speaker.OTHER.value,
         "guest": Speaker.OTHER.value, "other": Speaker.OTHER.value}
_SECONDS_PER_WORD = 0.4     # a made-up clock for text without times: ~150 words a minute
# A four-hour visit is ~0.5 MB as `transcribe --json`; far past that is not a visit, and a
# 56 MB file once kept the drafter busy for minutes with no output.
MAX_TRANSCRIPT_BYTES = 4 * 1024 * 1024
# The transcript format nests 3 levels; far deeper is hostile (it used to raise RecursionError).
MAX_JSON_DEPTH = 32
_JSON_TOKEN = re.compile(r'"(?:\\.|[^"\\])*"|[\[\]{}]')


class TranscriptFormatError(ValueError):
    pass


def parse_transcript_text(text: str) -> Transcript:
    """Turns become segments with their speaker; plain text becomes one segment per line."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_TRANSCRIPT_BYTES:
        raise TranscriptFormatError(
            f"the transcript is {size / 2**20:.1f} MB; the limit is "
            f"{MAX_TRANSCRIPT_BYTES // 2**20} MB, far more than any visit")
    stripped = text.lstrip()
    if stripped.startswith("{"):
        if _too_deep(stripped, MAX_JSON_DEPTH):
            raise TranscriptFormatError(
                f"the JSON transcript is nested more than {MAX_JSON_DEPTH} levels deep; a "
                "transcript is a list of segments")
        try:
            data = json.loads(stripped)
        except RecursionError:
            raise TranscriptFormatError("the JSON transcript is nested too deeply") from None
        except ValueError as exc:
            raise TranscriptFormatError(f"the transcript looks like JSON but is not valid: {exc}") from exc
        if not isinstance(data, dict) or "segments" not in data:
            raise TranscriptFormatError("a JSON transcript needs a 'segments' list")
        try:
            return Transcript.from_dict(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise TranscriptFormatError(f"a segment in the JSON transcript is malformed: {exc}") from exc
    segments: list[Segment] = []
    t = 0.0
    for line in text.splitlines():
        if not line.strip():
            continue
        m = _TURN.match(line)
        if m:
            speaker = _ROLE.get(m.group(1).strip().lower(), Speaker.UNKNOWN.value)
            body = m.group(2).strip()
        else:
            speaker, body = Speaker.UNKNOWN.value, line.strip()
        if not body:
            continue
        dur = max(1.0, len(body.split()) * _SECONDS_PER_WORD)
        segments.append(Segment(id=f"seg{len(segments) + 1}", t0=round(t, 2), t1=round(t + dur, 2),
                                text=body, speaker=speaker))
        t += dur
    if not segments:
        raise TranscriptFormatError("the transcript is empty")
    return Transcript(segments=segments)


def _too_deep(text: str, limit: int) -> bool:
    """Bracket depth outside strings, counted before json.loads recurses into it."""
    depth = 0
    for m in _JSON_TOKEN.finditer(text):
        tok = m.group()
        if tok in ("[", "{"):
            depth += 1
            if depth > limit:
                return True
        elif tok in ("]", "}"):
            depth -= 1
    return False
