"""jcall's entry point (``python -m jcall``, and the ``jcall`` command)."""

import os


def main() -> None:
    # numpy's OpenBLAS starts a thread per core when it loads, and they spin for work
    # that never comes: jcall does no linear algebra. One thread, unless the user says.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # Before the first of jcall's modules is imported: their classes' methods, and
    # no garbage collection while they load.
    from jcall import methodcache, startup

    startup.hold()
    methodcache.install()
    from jcall.cli import main as cli

    cli()


if __name__ == "__main__":
    main()
