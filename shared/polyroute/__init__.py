"""Polyroute: route each model request to a compliant provider, quote its cost, audit it verifiably.

Importing this package loads no vendor SDK and no price data; those load on first use.
`polyroute.__version__` is read from the installed distribution's metadata: pyproject.toml is the one
place the version is written.
"""


def __getattr__(name: str) -> str:
    if name != "__version__":
        raise AttributeError(f"module 'polyroute' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("polyroute")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"
