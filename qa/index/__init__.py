"""The index: embeddings in Chroma, and the manifest that says what is committed."""
