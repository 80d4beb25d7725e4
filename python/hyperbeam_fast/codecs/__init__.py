"""The keyless codecs of AO-Core (spec core §3, §6, §9, §10), one module each."""

from . import ans104, flat, httpsig, json, structured

__all__ = ["ans104", "flat", "httpsig", "json", "structured"]
