"""The media path of a call: the transport seam (``base``), RFC 8445 ICE through aioice
(``ice``, the only module that imports aioice), Google ICE (``stun_classic``,
``google_ice``, ``google_udp``), the choice between them (``flavor``, ``auto``), Gingle
p2p candidate values (``p2p``), STUN/TURN server settings (``servers``) and UDP with
kernel arrival times (``udp``).

Before any of them imports aioice, the DNS library of aioice's mDNS resolver is
deferred until a call uses it (``mdns``)."""

from . import mdns

mdns.defer()
