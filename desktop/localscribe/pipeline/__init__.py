"""The scribe pipeline without Qt: capture -> transcription -> draft -> verification -> store.

``LiveVisit`` runs one visit; ``scribe_file`` runs a recording through the same path (the
``scribe`` and ``demo`` commands, benchmarks); the engines are built by ``engines``.
"""

from localscribe.pipeline.live_visit import LiveVisit, VisitResult, VisitTimings
from localscribe.pipeline.redraft import redraft, regenerate_section
from localscribe.pipeline.run import scribe_file
from localscribe.pipeline.stores import MemoryVisitStore, VaultVisitStore

__all__ = ["LiveVisit", "MemoryVisitStore", "VaultVisitStore", "VisitResult", "VisitTimings",
           "redraft", "regenerate_section", "scribe_file"]
