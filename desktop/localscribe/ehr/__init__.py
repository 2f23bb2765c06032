"""EHR write-back: connectors (clipboard, file drop, FHIR R4, HL7 v2 over MLLP, and any a
practice installs through the ``localscribe.connectors`` entry point) behind a persistent
outbox. Start from ``localscribe.ehr.service.EhrService``; the contract a connector fulfils is
in ``localscribe.ehr.protocol``. Nothing here imports Qt (the UI's clipboard adapter lives in
``clipboard_qt`` and is imported only by the UI).
"""
