"""``message@1.0`` (spec runtime §3): defined in :mod:`hyperbeam_fast.ao.message`, next to the
resolver that falls back to it; re-exported here with the other devices."""

from __future__ import annotations

from ..ao.message import DEVICE, FUNCTION_KEYS, MessageDevice, get

__all__ = ["DEVICE", "FUNCTION_KEYS", "MessageDevice", "get"]
