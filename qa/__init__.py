"""qa: answers from your documents, every citation checked against the file."""

from .answer.base import Answerer
from .api import QA
from .config import Settings
from .errors import BackendError, InputError, ModelError, NotIndexedError, QAError, StoreError
from .types import Answer, Citation, Draft, IngestReport, Passage, Proposal, Status

__all__ = [
    "QA",
    "Answer",
    "Answerer",
    "BackendError",
    "Citation",
    "Draft",
    "IngestReport",
    "InputError",
    "ModelError",
    "NotIndexedError",
    "Passage",
    "Proposal",
    "QAError",
    "Settings",
    "Status",
    "StoreError",
]
