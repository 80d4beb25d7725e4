"""Preloaded devices and the device registry (spec runtime §2.5, §8.3).

A device is any Python object (methods named after the keys it handles, ``-`` -> ``_``) or a
plain mapping of key -> function, optionally with an ``info`` (``handler``, ``default``,
``exports``, ``excludes``). Register one under a versioned name with
:func:`hyperbeam_fast.ao.register_device`; a message then selects it with
``{"device": "name@1.0"}`` (or holds the device object / mapping itself). See docs/devices.md.

Importing this package registers the core devices and the step hook runner (``hook``); the
resolver (:mod:`hyperbeam_fast.ao`) imports no device. The process devices (wasmtime) register
with :func:`hyperbeam_fast.devices.process.register_process_devices`.
"""

from __future__ import annotations

from ..ao import register_device
from . import codecs, dedup, hook, message, multipass, patch, stack, test_device

CORE_DEVICES = (
    "message@1.0",
    "stack@1.0",
    "multipass@1.0",
    "patch@1.0",
    "dedup@1.0",
    "test-device@1.0",
    *(d.name for d in codecs.DEVICES),
)


def register_core_devices() -> None:
    """(Re-)register the core devices in the global registry."""
    for mod in (message, stack, multipass, patch, dedup, test_device):
        register_device(mod.DEVICE.name, mod.DEVICE)
    for dev in codecs.DEVICES:  # json@1.0, flat@1.0, httpsig@1.0, structured@1.0, ans104@1.0
        register_device(dev.name, dev)


register_core_devices()

__all__ = ["CORE_DEVICES", "hook", "register_core_devices"]
