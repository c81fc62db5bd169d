"""jcall: peer-to-peer voice calls over XMPP with the Google session protocol."""

__version__ = "0.1.0"
