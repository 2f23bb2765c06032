"""Encounter ingestion: the day's schedule and patient identity from the EHR (a FHIR R4 pull,
an HL7 v2 SIU/ADT listener), stored sealed in the vault. Qt-free; see ``service`` for the calls
the CLI and the window use."""
