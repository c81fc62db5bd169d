"""jcall's native parts, both optional: where they cannot be built (no C compiler or
Python headers), jcall does the same work in Python at a higher CPU cost.

* jcall._pacer (jcall/_pacer.c): sends a file call's packets at their deadlines;
* jcall._deviceclock (jcall/_deviceclock.c): a duplex sound stream's callback that
  enters Python once per packet rather than once per period;
* jcall._datagrams (jcall/_datagrams.c): every datagram waiting on a socket, with its
  kernel arrival time, in one call."""

from setuptools import Extension, setup

FLAGS = ["-O2", "-Wall", "-Wextra", "-Werror=implicit"]
setup(ext_modules=[Extension(f"jcall.{name}", [f"jcall/{name}.c"], optional=True,
                             depends=["jcall/_numeric_address.h"], extra_compile_args=FLAGS)
                   for name in ("_pacer", "_deviceclock", "_datagrams")])
