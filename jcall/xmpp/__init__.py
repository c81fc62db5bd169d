"""The slixmpp adapter: login, presence and caps, Gingle iqs, and the ``-d`` stanza log."""
