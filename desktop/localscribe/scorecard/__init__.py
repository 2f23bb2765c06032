"""The practice scorecard: quality, operations and adoption figures per clinician and week,
computed locally from the vault's audit trail, with no PHI in what it shows or exports.

- ``edits``: how much the clinician changed the draft before signing (computed at signing,
  by the clinician's session, which holds the PHI key; only counts leave it).
- ``collect``: the PHI-free facts of each visit, read from the audit trail.
- ``compute``: those facts aggregated per ISO week and clinician; ``model``: the result types.
- ``service``: the role-checked, audited entry point; ``export``: JSON and CSV.

This package imports nothing at load time, so the vault session can use ``edits`` without an
import cycle.
"""
