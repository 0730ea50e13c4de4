"""The ingest side: files read into numbered lines, chunked, handed to the index."""
