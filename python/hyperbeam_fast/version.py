"""The package version (one place: the package, the CLI and meta@1.0 read it here)."""

__version__ = "0.1.0"
