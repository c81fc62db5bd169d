"""jcall's native parts, both optional: where they cannot be built (no C compiler or
Python headers), jcall does the same work in Python at a higher CPU cost.

* jcall._pacer (jcall/_pacer.c): sends a file call's packets at their deadlines;
* jcall._deviceclock (jcall/_deviceclock.c): a duplex sound stream's callback that
  enters Python once per packet rather than once per period;
* jcall._datagrams (jcall/_datagrams.c): every datagram waiting on a socket, with its
  kernel arrival time, in one call;
* jcall._jitter (jcall/_jitter.c over jcall/_jitter_core.c): the jitter buffer and its
  concealment."""

from setuptools import Extension, setup

FLAGS = ["-O2", "-Wall", "-Wextra", "-Werror=implicit"]
CORE = {"_jitter": ["jcall/_jitter_core.c"],
        "_deviceclock": ["jcall/_receive_core.c", "jcall/_jitter_core.c"]}
setup(ext_modules=[Extension(f"jcall.{name}", [f"jcall/{name}.c", *CORE.get(name, [])],
                             optional=True, extra_compile_args=FLAGS,
                             depends=["jcall/_numeric_address.h", "jcall/_jitter_core.h",
                                      "jcall/_receive_core.h", "jcall/_stamped.h"])
                   for name in ("_pacer", "_deviceclock", "_datagrams", "_jitter")])
