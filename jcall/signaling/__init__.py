"""Pure signalling core: Gingle messages (XML <-> values) and the session state table."""
