"""The package version, from one place: the workspace ``version`` in ``Cargo.toml``, compiled
into the native module (``CARGO_PKG_VERSION``) and written by maturin into the wheel's metadata.
The package (``hyperbeam_fast.__version__``), ``hyperbeam-fast --version`` and meta@1.0 read it
here."""

from ._native import __version__

__all__ = ["__version__"]
