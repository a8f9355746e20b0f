"""Network Explorer: build, inspect, train and look inside convolutional networks."""

from __future__ import annotations

import functools


@functools.cache
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("network-explorer")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+unknown"


def __getattr__(name: str) -> str:
    # ``__version__`` is read from the installed metadata on first use: importing
    # importlib.metadata costs more than the quick commands themselves
    if name == "__version__":
        return _version()
    raise AttributeError(f"module 'explorer' has no attribute {name!r}")
