"""LocalScribe: an offline ambient scribe for clinicians."""

__version__ = "0.1.0"
