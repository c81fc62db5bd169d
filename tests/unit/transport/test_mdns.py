"""aioice's mDNS resolver with its DNS library deferred (jcall/transport/mdns.py):
nothing of it is imported with aioice, and the resolver works once a call uses it.
The import case runs in a fresh interpreter: this one may have loaded dnspython."""

from __future__ import annotations

import json
import subprocess
import sys
import types

from jcall.transport import mdns

PROBE = """
import asyncio, json, socket, sys
import jcall.transport.ice  # (imports aioice, as a call does)
from jcall.transport import mdns as deferral

DEFERRED = sorted(deferral.DEFERRED)
before = {name: type(sys.modules.get(name)).__name__ for name in DEFERRED}
from aioice import mdns


class Sent:
    def __init__(self):
        self.datagrams = []

    def sendto(self, data, addr):
        self.datagrams.append(data)


async def main():
    # aioice's own use first: its resolver's zone loads dns.zone and what it needs
    responder, resolver = mdns.MDnsProtocol(), mdns.MDnsProtocol()
    responder.transport = Sent()
    import dns.message, dns.name, dns.rdata, dns.rdataset, dns.rdatatype
    name = dns.name.from_text("peer.local")
    rdata = dns.rdata.GenericRdata(mdns.MDNS_RDCLASS, dns.rdatatype.A,
                                   socket.inet_aton("192.0.2.7"))
    responder.zone.replace_rdataset(name, dns.rdataset.from_rdata(120, rdata))
    query = dns.message.make_query(name, rdtype=dns.rdatatype.A)
    responder.datagram_received(query.to_wire(), ("127.0.0.1", 5353))
    future = asyncio.get_running_loop().create_future()
    resolver.queries[name] = {future}
    for answer in responder.transport.datagrams:
        resolver.datagram_received(answer, ("127.0.0.1", 5353))
    return future.result() if future.done() else None

address = asyncio.run(main())
import dns
after = {name: type(sys.modules[name]).__name__ for name in DEFERRED}
rebound = all(getattr(dns, name.split(".")[1]) is sys.modules[name] for name in DEFERRED)
print(json.dumps({"before": before, "after": after, "address": address,
                  "rebound": rebound}))
"""


def test_aioice_is_imported_without_its_resolvers_dns_library_and_resolves_later() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True).stdout
    got = json.loads(out)
    assert set(got["before"].values()) == {"StandIn"}, got["before"]
    assert set(got["after"].values()) == {"module"}, got["after"]
    assert got["rebound"]  # the package's attributes are the real modules now
    assert got["address"] == "192.0.2.7"  # a query answered, and the answer resolved


def test_a_stand_in_becomes_the_real_module_at_its_first_attribute() -> None:
    name = "colorsys"  # (any small module this process has not imported)
    real_before = sys.modules.pop(name, None)
    stand_in = mdns.StandIn(name)
    sys.modules[name] = stand_in
    try:
        assert stand_in.rgb_to_hsv(1.0, 0.0, 0.0) == (0.0, 1.0, 1.0)
        real = sys.modules[name]
        assert type(real) is types.ModuleType and real is not stand_in
        assert stand_in.hsv_to_rgb is real.hsv_to_rgb  # (kept references work too)
    finally:
        mdns._loaded.discard(name)
        sys.modules.pop(name, None)
        if real_before is not None:
            sys.modules[name] = real_before


def test_names_already_imported_are_not_deferred() -> None:
    mdns.defer()
    finders = [f for f in sys.meta_path if type(f).__name__ == "_Finder"]
    assert len(finders) == 1  # (idempotent)
    for name in mdns.DEFERRED:
        if name in sys.modules and not isinstance(sys.modules[name], mdns.StandIn):
            assert finders[0].find_spec(name, None) is None
