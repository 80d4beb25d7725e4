"""The message cache (HyperBEAM's ``hb_cache``, spec runtime §10.2, §2.9; core §2.5).

Layout written into any :mod:`~hyperbeam_fast.store` (runtime §10.4)::

    data/<b64url(sha256(bin))>        raw bytes (content-addressed: deduplicated; checked on read)
    <G>/                              a group per (sub-)message (TABM map): G is its unsigned ID,
                                      or, when that ID leaves keys out (commitments, signature,
                                      body-keys, content-digest: core §4.3), the hash of all of
                                      its content (``cache_layout::group_id``)
    <G>/<key> -> data/<h> | <SubG>
    <ID> -> <G>                       the unsigned ID, every verified commitment ID, id(all)
    <HP1>/<HP2> -> data/<h>           cached binary results (write_binary)

A message is written through one store batch, children before parents and ID links last, so
it becomes readable whole or not at all. Each write of a signed message is its own group, so
the same content signed by several keys or codecs keeps every signature, each readable by its
ID. IDs are never repointed: an ID already in the store keeps naming what it named.

Cache control (runtime §2.9), for ``ao.resolve``::

    status, value = cache.lookup(msg1, msg2, store, opts)   # before executing
    #   "hit"     -> value is the cached result: return it
    #   "loaded"  -> msg1 was an ID; value is the loaded message: execute with it
    #   "error"   -> value is {"status": 504|404, ...}: return it as the error result
    #   "miss"/"skip" -> execute normally
    ...execute -> msg3...
    cache.store_result(msg1, msg2, msg3, store, opts)        # after a successful result

``opts`` is the node's option dict: ``cache_control`` (a directive or list; the node default is
``["no-cache", "no-store"]``, HTTP requests use ``["always"]``), ``hashpath`` (``"ignore"`` forces
no store) and ``cache_lookup_hueristics`` (sic, HyperBEAM's spelling; default false).

The package's modules: :mod:`.writing` (groups, ``data/<h>``, links; a write is ``plan`` then
``apply``), :mod:`.verify` (the IDs a message is linked from, its commitments verified
first), :mod:`.reading` (reads, listings),
:mod:`.control` (cache-control settings) and :mod:`.results` (``lookup``, ``store_result``).
"""

from __future__ import annotations

from .control import lookup_settings, settings, store_settings
from .reading import MAX_READ_DEPTH as MAX_READ_DEPTH
from .reading import list, list_numbered, read, read_tabm
from .results import lookup, read_resolved, store_result
from .writing import Planned, apply, link, plan, write, write_binary, write_hashpath
from .writing import data_path as data_path  # public for process@1.0 snapshots
from .writing import writable as writable  # public for process@1.0 snapshots

__all__ = [
    "Planned",
    "apply",
    "link",
    "list",
    "list_numbered",
    "lookup",
    "lookup_settings",
    "plan",
    "read",
    "read_resolved",
    "read_tabm",
    "settings",
    "store_result",
    "store_settings",
    "write",
    "write_binary",
    "write_hashpath",
]
