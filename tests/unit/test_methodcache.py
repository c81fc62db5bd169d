"""The compiled methods of jcall's dataclasses, kept between starts."""

from __future__ import annotations

import dataclasses
import marshal
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jcall import methodcache
from jcall.methodcache import HEADER, MAX_ENTRIES, MethodCache, cache_file, parse, serialize

VALUE = '''
from __future__ import annotations
from dataclasses import dataclass, field

@dataclass(frozen=True)
class Value:
    """A value like jcall's."""

    name: str
    rate: int = 8000
    tags: tuple[str, ...] = field(default_factory=tuple)
'''


def define(module: str, cache: MethodCache | None, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The class ``Value`` of VALUE, defined in a new module named ``module``, with
    ``cache`` as dataclasses' exec (None: Python's own)."""
    with monkeypatch.context() as patch:
        if cache is not None:
            patch.setattr(dataclasses, "exec", cache.exec, raising=False)
        namespace = types.ModuleType(module)
        patch.setitem(sys.modules, module, namespace)
        exec(compile(VALUE, module, "exec"), namespace.__dict__)
        return namespace.Value


@pytest.fixture
def names() -> Iterator[Iterator[str]]:
    yield (f"jcall.test_values_{n}" for n in range(1000))


def test_a_class_from_cached_methods_behaves_as_one_compiled(
        monkeypatch: pytest.MonkeyPatch, names: Iterator[str]) -> None:
    plain = define(next(names), None, monkeypatch)
    first = MethodCache({})
    define(next(names), first, monkeypatch)
    assert first.compiled > 0
    again = MethodCache(parse(serialize(first.entries)))
    cached = define(next(names), again, monkeypatch)
    assert again.compiled == 0
    assert again.used == set(first.entries)

    one, same, other = cached("PCMU"), cached("PCMU"), cached("L16", 44100, ("x",))
    assert repr(one) == "Value(name='PCMU', rate=8000, tags=())"
    assert one == same and one != other and hash(one) == hash(same)
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.rate = 1
    with pytest.raises(TypeError):
        cached()
    # Compiled as exec compiles it: the annotations of __init__ are what the class
    # says, not the names of the variables dataclasses passes them in.
    assert cached.__init__.__annotations__ == plain.__init__.__annotations__
    assert [f.name for f in dataclasses.fields(cached)] == ["name", "rate", "tags"]


def test_only_jcall_modules_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = MethodCache({})
    value = define("elsewhere_values", cache, monkeypatch)
    assert cache.entries == {} and cache.compiled == 0
    assert value("a") == value("a")


def test_a_damaged_or_foreign_file_is_ignored(monkeypatch: pytest.MonkeyPatch,
                                              names: Iterator[str]) -> None:
    cache = MethodCache({})
    define(next(names), cache, monkeypatch)
    good = serialize(cache.entries)
    assert parse(good).keys() == cache.entries.keys()
    assert parse(b"") == {}
    assert parse(good[:len(good) // 2]) == {}  # cut short
    assert parse(b"\0\0\r\n" + good[4:]) == {}  # another Python's magic number
    assert parse(HEADER + marshal.dumps(["not", "a", "dict"])) == {}
    assert parse(HEADER + marshal.dumps({"text": b"not code"})) == {}
    assert parse(HEADER + b"\xff" * 16) == {}


def test_what_is_written_back_stays_bounded(monkeypatch: pytest.MonkeyPatch,
                                            names: Iterator[str]) -> None:
    old = MethodCache({})
    define(next(names), old, monkeypatch)
    code = next(iter(old.entries.values()))
    stale = {f"# an older class {n}\n": code for n in range(MAX_ENTRIES)}
    cache = MethodCache(dict(stale))
    define(next(names), cache, monkeypatch)
    assert cache.to_keep().keys() == cache.used
    small = MethodCache(dict(list(stale.items())[:10]))
    define(next(names), small, monkeypatch)
    assert len(small.to_keep()) == 10 + len(small.used)


def test_cache_file_follows_the_xdg_base_directories() -> None:
    tag = sys.implementation.cache_tag
    assert cache_file({"XDG_CACHE_HOME": "/c", "HOME": "/h"}) == Path(
        f"/c/jcall/dataclass-methods.{tag}")
    assert cache_file({"XDG_CACHE_HOME": "relative", "HOME": "/h"}) == Path(
        f"/h/.cache/jcall/dataclass-methods.{tag}")
    assert cache_file({"HOME": "/h"}) == Path(f"/h/.cache/jcall/dataclass-methods.{tag}")
    assert cache_file({}) is None


def test_save_writes_only_what_was_compiled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            names: Iterator[str]) -> None:
    path = tmp_path / "jcall" / "methods"
    cache = MethodCache({})
    methodcache.save(cache, path)
    assert not path.exists()  # nothing compiled: nothing to write
    define(next(names), cache, monkeypatch)
    methodcache.save(cache, path)
    assert parse(path.read_bytes()).keys() == cache.entries.keys()
    assert os.listdir(path.parent) == ["methods"]  # (no temporary file left)


def test_an_unwritable_cache_directory_is_not_an_error(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       names: Iterator[str]) -> None:
    cache = MethodCache({})
    define(next(names), cache, monkeypatch)
    (tmp_path / "jcall").write_text("a file where the directory would be")
    methodcache.save(cache, tmp_path / "jcall" / "methods")


def test_the_second_start_compiles_nothing(tmp_path: Path) -> None:
    """Two processes, as two starts of jcall: the first writes the cache at exit, the
    second compiles none of the methods of the modules a call imports."""
    program = ("from jcall import methodcache\n"
               "cache = methodcache.install()\n"
               "import jcall.cli, jcall.phone, jcall.media\n"
               "print(cache.compiled, len(cache.used))\n")
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path))
    runs = [subprocess.run([sys.executable, "-c", program], env=env, check=True,
                           capture_output=True, text=True).stdout.split() for _ in range(2)]
    (first_compiled, first_used), (second_compiled, second_used) = runs
    assert int(first_compiled) == int(first_used) > 100
    assert (int(second_compiled), int(second_used)) == (0, int(first_used))
    assert (tmp_path / "jcall").is_dir()
