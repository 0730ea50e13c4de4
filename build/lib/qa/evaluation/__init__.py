"""The eval suite behind ``qa eval``: retrieval, citations, answers and refusals on a dataset.

``run(dataset, corpus=...)`` evaluates and returns the summary; see ``run.run`` for options.
"""

from .dataset import DatasetError, Item, load
from .metrics import DEFINITIONS, METRICS
from .run import run

__all__ = ["DEFINITIONS", "METRICS", "DatasetError", "Item", "load", "run"]
