"""aioice's mDNS resolver (draft-ietf-mmusic-mdns-ice-candidates), with the DNS library
it is built on loaded when it is first used.

aioice imports dnspython's message, zone and record modules at its own import, for
the mDNS resolver it creates only when a peer's candidate names a ``.local`` host.
Those imports are a large part of every jcall's start, in calls that never meet
such a name. ``defer`` puts a finder first on ``sys.meta_path`` (PEP 451) that
answers those module names with a stand-in; the first attribute asked of a
stand-in imports the real module, which then takes its place in ``sys.modules``
and in its package. So aioice's ``import`` statements cost nothing, and the first
mDNS name a peer sends pays for them.
"""

from __future__ import annotations

import importlib
import sys
import types
from importlib.machinery import ModuleSpec
from typing import Any

# What aioice.mdns imports from dnspython and uses only inside its resolver
# (dns.rdataclass it uses at import, and dns.exception is small).
DEFERRED = frozenset({"dns.flags", "dns.message", "dns.name", "dns.rdata", "dns.rdataset",
                      "dns.rdatatype", "dns.zone"})

_loaded: set[str] = set()  # stand-ins no longer: the finder leaves these alone


# Where a module lives: what the import system asks of every module it creates (a
# stand-in loading then would be put back over the real module), and what
# introspection asks of every module in sys.modules. A stand-in has no location.
LOCATION = frozenset({"__path__", "__file__", "__cached__"})


class StandIn(types.ModuleType):
    """A deferred module until one of its attributes is asked for."""

    def __getattr__(self, attr: str) -> Any:  # (only for what its __dict__ lacks)
        if attr in LOCATION:
            raise AttributeError(attr)
        return getattr(load(self), attr)


def load(stand_in: StandIn) -> types.ModuleType:
    """Import the real module for ``stand_in`` (once; safe if two threads race, as the
    import system's module locks order them), and give the stand-in its contents
    for whoever kept a reference to it."""
    name = stand_in.__name__
    _loaded.add(name)
    if sys.modules.get(name) is stand_in:
        del sys.modules[name]
    real = importlib.import_module(name)  # (also rebinds the package's attribute)
    stand_in.__dict__.update(real.__dict__)
    return real


class _StandInLoader:
    """PEP 451 loader of stand-ins: nothing to execute."""

    @staticmethod
    def create_module(spec: ModuleSpec) -> StandIn:
        return StandIn(spec.name)

    @staticmethod
    def exec_module(module: types.ModuleType) -> None:
        pass


class _Finder:
    """PEP 451 meta path finder: a stand-in for each deferred name not loaded yet."""

    @staticmethod
    def find_spec(fullname: str, path: object = None, target: object = None
                  ) -> ModuleSpec | None:
        if fullname in DEFERRED and fullname not in _loaded:
            return ModuleSpec(fullname, _StandInLoader())  # type: ignore[arg-type]
        return None


def defer() -> None:
    """Defer the DEFERRED modules not imported yet (idempotent)."""
    _loaded.update(name for name in DEFERRED if name in sys.modules)
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
