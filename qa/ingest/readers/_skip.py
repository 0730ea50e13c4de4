class Skip(Exception):
    """A file that cannot be indexed; the message is the reason shown to the user."""
