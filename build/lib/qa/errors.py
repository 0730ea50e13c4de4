"""Typed errors: each message is one line that says what went wrong and what to do."""


class QAError(Exception):
    """Base of every error qa raises on purpose; the CLI prints it as one line."""


class InputError(QAError):
    """The caller asked for something malformed: an empty question, a missing path."""


class NotIndexedError(QAError):
    """Asking before anything is indexed."""


class BackendError(QAError):
    """The answer backend failed: unreachable, timed out, refused, or replied nonsense."""


class ModelError(BackendError):
    """The embedded model or its runtime is missing or corrupt."""


class StoreError(QAError):
    """The vector store cannot be reached or used."""
