"""The one native part, jcall._pacer (see jcall/_pacer.c for why). It is optional: where
it cannot be built (no C compiler or Python headers), jcall paces packets from its
Python media thread instead, at a higher CPU cost."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("jcall._pacer", ["jcall/_pacer.c"], optional=True,
                             extra_compile_args=["-O2", "-Wall", "-Wextra", "-Werror=implicit"])])
