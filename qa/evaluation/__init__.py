"""The eval suite behind ``qa eval``: retrieval, citations, answers and refusals on a dataset.

``run(dataset, corpus=...)`` evaluates and returns the summary; see ``pipeline.run`` for
options. ``qa eval`` is ``cli.main``.
"""

from .dataset import DatasetError, Item, load
from .metrics import DEFINITIONS, METRICS
from .pipeline import run

__all__ = ["DEFINITIONS", "METRICS", "DatasetError", "Item", "load", "run"]
