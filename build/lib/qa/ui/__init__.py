"""The Gradio chat UI behind ``qa serve``.

``render`` and ``uploads`` are plain Python (testable without a browser); only ``app`` imports
Gradio, and only when ``qa serve`` runs, so ``qa --help`` stays instant.
"""
