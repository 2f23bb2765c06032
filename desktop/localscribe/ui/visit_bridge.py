"""Turn pipeline events (emitted on worker threads) into Qt signals on the UI thread.

The pipeline calls `VisitBridge.post` from any thread and must never block; emitting a
signal whose receiver lives on the UI thread queues the call there, which is all we need.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal, Slot

from localscribe.pipeline import events as ev


class VisitBridge(QObject):
    _incoming = Signal(object)

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
        self._incoming.connect(self._dispatch, Qt.ConnectionType.QueuedConnection)

    def post(self, event: object) -> None:
        """Callable handed to the pipeline as `on_event`; safe from any thread."""
        self._incoming.emit(event)

    @Slot(object)
    def _dispatch(self, event: object) -> None:
        if isinstance(event, ev.LevelChanged):
            self.level.emit(event.rms_dbfs)
        elif isinstance(event, ev.StateChanged):
            self.state.emit(event.state)
        elif isinstance(event, ev.SegmentAdded):
            self.segment.emit(event.segment)
        elif isinstance(event, ev.DraftToken):
            self.token.emit(event.text)
        elif isinstance(event, ev.SectionReady):
            self.section.emit(event.section)
        elif isinstance(event, ev.DraftReady):
            self.draft.emit(event.draft)
        elif isinstance(event, ev.Progress):
            self.progress.emit(event.stage, event.fraction)
        elif isinstance(event, ev.PipelineError):
            self.error.emit(event.stage, event.message, event.recoverable)
