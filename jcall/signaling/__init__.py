"""Pure signalling core: both dialects' messages (Gingle and Jingle XML <-> a neutral
model), XEP-0353 messages, and the session state table."""
