"""Policy rule packs: loading, evaluation (Python and SQL), stored flags and the due list."""
