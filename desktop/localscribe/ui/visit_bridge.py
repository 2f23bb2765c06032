"""Turn pipeline events (emitted on worker threads) into Qt signals on the UI thread.

The pipeline calls `VisitBridge.post` from any thread and must never block. Events cross
to the UI thread through a `UiInbox` (not a queued signal: see inbox.py for the PySide6 bug).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot

from localscribe.pipeline import events as ev
from localscribe.ui.inbox import UiInbox
from localscribe.ui.qtcompat import emit


class VisitBridge(QObject):

    level = Signal(float)              # dBFS
    state = Signal(str)
    segment = Signal(object)           # domain.Segment
    token = Signal(str)
    section = Signal(object)           # domain.Section
    draft = Signal(object)             # domain.Draft
    progress = Signal(str, object)     # stage, fraction or None
    error = Signal(str, str, bool)     # stage, message, recoverable

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._inbox = UiInbox(self)

    def post(self, event: object) -> None:
        """Callable handed to the pipeline as `on_event`; safe from any thread."""
        self._inbox.post(self._dispatch, event)

    @Slot(object)
    def _dispatch(self, event: object) -> None:
        if isinstance(event, ev.LevelChanged):
            emit(self.level, event.rms_dbfs)
        elif isinstance(event, ev.StateChanged):
            emit(self.state, event.state)
        elif isinstance(event, ev.SegmentAdded):
            emit(self.segment, event.segment)
        elif isinstance(event, ev.DraftToken):
            emit(self.token, event.text)
        elif isinstance(event, ev.SectionReady):
            emit(self.section, event.section)
        elif isinstance(event, ev.DraftReady):
            emit(self.draft, event.draft)
        elif isinstance(event, ev.Progress):
            emit(self.progress, event.stage, event.fraction)
        elif isinstance(event, ev.PipelineError):
            emit(self.error, event.stage, event.message, event.recoverable)
