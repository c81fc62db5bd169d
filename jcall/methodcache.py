"""The methods ``dataclasses`` writes for jcall's classes, compiled once per machine.

For each class it decorates, Python 3.11's ``dataclasses`` writes ``__init__``,
``__repr__`` and ``__eq__`` (and ``__hash__``, ``__setattr__`` and ``__delattr__`` for
a frozen class) as source text and compiles it with ``exec`` while the class is
defined: at every start of the process, for every dataclass of every module it
imports. jcall's values and events are frozen dataclasses, and compiling their methods
was the largest single piece of a start's CPU time.

The import system keeps each module's compiled code beside it (PEP 3147). This keeps
the compiled code of those generated methods in the user's cache directory, keyed by
their source text: ``install`` gives ``dataclasses`` an ``exec`` that looks the text
up before compiling it, and the process writes what it compiled anew when it exits.
Equal text compiles to equal code, so a hit behaves exactly as a compilation would.

Only the methods of jcall's own modules are kept. A file written by another Python
(its bytecode magic number, ``importlib.util.MAGIC_NUMBER``), or one that cannot be
read or parsed, is ignored and replaced. The file is trusted as much as the user's
own ``__pycache__`` directories are: whoever can write it can write those.
"""

from __future__ import annotations

import atexit
import builtins
import dataclasses
import logging
import marshal
import os
import sys
import tempfile
from collections.abc import Mapping
from importlib.util import MAGIC_NUMBER
from pathlib import Path
from types import CodeType
from typing import Any

log = logging.getLogger(__name__)

HEADER = MAGIC_NUMBER + b"jcall dataclass methods 1\n"
MAX_ENTRIES = 1024  # about twice all of jcall's; beyond, a write keeps what its process used
OWN_MODULES = "jcall."


def cache_file(environ: Mapping[str, str]) -> Path | None:
    """Where the compiled methods are kept: the XDG base directory specification's
    cache directory ($XDG_CACHE_HOME, else ~/.cache), one file per interpreter
    version (``sys.implementation.cache_tag``, as ``__pycache__`` names its files)."""
    base = environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # (the specification ignores a relative path)
        home = environ.get("HOME", "")
        if not home:
            return None
        base = os.path.join(home, ".cache")
    return Path(base) / "jcall" / f"dataclass-methods.{sys.implementation.cache_tag}"


def parse(data: bytes) -> dict[str, CodeType]:
    """The cached methods in a file's contents; none from a file this interpreter did
    not write, or that is damaged."""
    if not data.startswith(HEADER):
        return {}
    try:
        entries = marshal.loads(data[len(HEADER):])
    except (EOFError, ValueError, TypeError):
        return {}
    if not isinstance(entries, dict) or not all(
            isinstance(text, str) and isinstance(code, CodeType)
            for text, code in entries.items()):
        return {}
    return entries


def serialize(entries: Mapping[str, CodeType]) -> bytes:
    return HEADER + marshal.dumps(dict(entries))


class MethodCache:
    """Compiled methods by their source text, and what this process compiled and used."""

    def __init__(self, entries: dict[str, CodeType]) -> None:
        self.entries = entries
        self.used: set[str] = set()
        self.compiled = 0  # sources this process compiled: the cache missed them

    def exec(self, source: Any, globals: dict[str, Any] | None = None,
             locals: Mapping[str, object] | None = None) -> None:
        """``exec`` as ``dataclasses`` calls it, with the code of jcall's methods
        looked up before it is compiled."""
        if isinstance(source, str) and globals is not None and str(
                globals.get("__name__", "")).startswith(OWN_MODULES):
            code = self.entries.get(source)
            if code is None:
                # As exec compiles a string, and not with this module's __future__
                # flags: annotations would turn to strings.
                code = compile(source, "<string>", "exec", dont_inherit=True)
                self.entries[source] = code
                self.compiled += 1
            self.used.add(source)
            source = code
        builtins.exec(source, globals, locals)

    def to_keep(self) -> dict[str, CodeType]:
        """What to write back: everything known, unless that has grown past
        ``MAX_ENTRIES`` (methods of older versions of jcall's classes pile up);
        then what this process used."""
        if len(self.entries) <= MAX_ENTRIES:
            return self.entries
        return {text: self.entries[text] for text in self.used}


def install(environ: Mapping[str, str] = os.environ) -> MethodCache | None:
    """Give ``dataclasses`` the cached methods, and write them back at exit if this
    process compiled any. Call it before importing the modules whose classes it is
    for; None (and nothing changed) where there is no cache directory."""
    path = cache_file(environ)
    if path is None:
        return None
    try:
        entries = parse(path.read_bytes())
    except OSError:
        entries = {}
    cache = MethodCache(entries)
    dataclasses.exec = cache.exec  # type: ignore[attr-defined]  # (its global "exec")
    atexit.register(save, cache, path)
    return cache


def save(cache: MethodCache, path: Path) -> None:
    """Write the cache if this process compiled something it lacked: into a new file
    beside it, then renamed over it, so that a process reading it at the same time
    sees the old file or the new one."""
    if not cache.compiled:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=path.name + ".", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(serialize(cache.to_keep()))
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as error:  # (a read-only home: every start compiles, as without it)
        log.debug("dataclass method cache not written: %s", error)
