"""Stores (spec runtime §10.3-§10.4): RocksDB (the embedded default), fs, memory, remote, the
Arweave gateway, chains.

See :mod:`hyperbeam_fast.store.base` for the interface and its semantics.
"""

from .base import GROUP, LINK, MAX_HOPS, RAW, Batch, Store, join
from .chain import StoreChain
from .fs import FSStore
from .gateway import GatewayStore
from .memory import MemoryStore
from .remote import RemoteStore
from .rocksdb import RocksDBStore

__all__ = [
    "GROUP",
    "LINK",
    "MAX_HOPS",
    "RAW",
    "Batch",
    "FSStore",
    "GatewayStore",
    "MemoryStore",
    "RemoteStore",
    "RocksDBStore",
    "Store",
    "StoreChain",
    "join",
]
