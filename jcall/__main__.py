"""jcall's entry point (``python -m jcall``, and the ``jcall`` command)."""


def main() -> None:
    # Before the first of jcall's modules is imported: their classes' methods.
    from jcall import methodcache

    methodcache.install()
    from jcall.cli import main as cli

    cli()


if __name__ == "__main__":
    main()
