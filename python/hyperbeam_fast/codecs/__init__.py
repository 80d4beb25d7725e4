"""The keyless codecs of AO-Core (spec core §3, §6, §9, §10), one module each."""

from . import flat, httpsig, json, structured

__all__ = ["flat", "httpsig", "json", "structured"]
