"""Learning from edits: what a clinician changes between the draft and the note they sign
becomes their style, used in their later drafts.

- ``edits``: one draft/signed pair -> a ``NoteObservation`` (counts, and candidate phrase swaps);
- ``profile``: observations accumulate in a ``StyleHistory``; ``learn`` turns it into the
  ``StyleProfile`` of rules that passed their thresholds;
- ``apply``: the profile applied to drafting (sentence caps, skipped sections, the request's
  wording, phrase swaps before the verifier);
- ``store``: the history sealed in the vault per clinician, updated at signing, audited
  without PHI (``style.learned``, ``style.reset``).

The domain core only: nothing here knows about Qt.
"""
