"""ICE transport: Gingle p2p candidates <-> aioice (the only module importing aioice
is :mod:`jcall.transport.ice`; :mod:`jcall.transport.p2p` maps values)."""
