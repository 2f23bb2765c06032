"""Errors raised by the model layer; each message names the file and what to run."""

from __future__ import annotations


class ModelError(Exception):
    """A model file is missing, damaged, or cannot be obtained. The message says what to do."""


class ConversionError(ModelError):
    """A CTranslate2 input could not be converted (truncated, corrupt, or an unexpected layout)."""


class FetchError(ModelError):
    """A registry package could not be downloaded."""


class IntegrityError(ModelError):
    """A file's SHA-256 or size differs from the pinned value."""
