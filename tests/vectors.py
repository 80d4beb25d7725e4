"""Loading the golden vectors in ../shared/vectors/hyperbeam/ (format: spec erlang-reference.md).

A vector file holds ``{"vectors": [{"name", "function", "args", "output" | "error"}, ...]}``
where every argument and output is a *typed term*. ``decode`` turns a typed term into the
Python message model of ``hyperbeam_fast``:

* ``binary`` -> ``bytes`` (from the canonical ``b64url`` field);
* ``int`` -> ``int`` (``value`` is a JSON number or, for |n| >= 2^53, a decimal string);
* ``float`` -> ``float``;
* ``atom`` -> ``True`` / ``False`` / ``None`` for ``true`` / ``false`` / ``null``, otherwise
  ``hyperbeam_fast.Atom(name)``;
* ``list`` -> ``list``; ``tuple`` -> ``tuple``;
* ``map`` -> ``dict`` with ``str`` keys (binary keys decoded as UTF-8, atom keys -> their name).

Nothing here imports the native extension at import time, so test modules can collect their
vectors (by name) even when the extension is not built; ``Atom`` is imported on first use.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest

VECTOR_DIR = Path("vectors") / "hyperbeam"
SKIP_REASON = "reference material ../shared not found (set HYPERBEAM_SHARED)"


def find_shared_dir() -> Path | None:
    """``$HYPERBEAM_SHARED`` or ``<repo>/../shared``; ``None`` when it does not exist."""
    env = os.environ.get("HYPERBEAM_SHARED")
    path = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared"
    return path if path.is_dir() else None


def load_vectors(shared_dir: Path | str, filename: str) -> list[dict[str, Any]]:
    """The raw vector dicts of ``<shared_dir>/vectors/hyperbeam/<filename>``."""
    with open(Path(shared_dir) / VECTOR_DIR / filename, encoding="utf-8") as fh:
        return json.load(fh)["vectors"]


def vector_params(filename: str, select=None, skip=None) -> list[Any]:
    """``pytest.param(vector, id=name)`` for each vector of ``filename`` (collection time).

    ``select(vector) -> bool`` keeps only some vectors. ``skip(vector) -> str | None`` gives a
    skip reason for a vector that is collected but skipped. When the shared material is absent
    the result is one skipped placeholder, so that the absence is visible in the report.
    """
    shared = find_shared_dir()
    if shared is None or not (shared / VECTOR_DIR / filename).is_file():
        return [pytest.param(None, id="no-shared-material", marks=pytest.mark.skip(SKIP_REASON))]
    params = []
    for vec in load_vectors(shared, filename):
        if select is not None and not select(vec):
            continue
        marks = [pytest.mark.shared]
        reason = skip(vec) if skip is not None else None
        if reason:
            marks.append(pytest.mark.skip(reason=reason))
        params.append(pytest.param(vec, id=vec["name"], marks=marks))
    return params


def b64url_decode(text: str) -> bytes:
    """Unpadded base64url -> bytes."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data: bytes) -> str:
    """bytes -> unpadded base64url (HyperBEAM's ``hb_util:encode``)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _atom(name: str) -> Any:
    if name == "true":
        return True
    if name == "false":
        return False
    if name == "null":
        return None
    from hyperbeam_fast import Atom

    return Atom(name)


def decode(term: dict[str, Any]) -> Any:
    """Decode a typed term into the Python message model."""
    kind = term["type"]
    if kind == "binary":
        return b64url_decode(term["b64url"])
    if kind == "int":
        return int(term["value"])
    if kind == "float":
        return float(term["value"])
    if kind == "atom":
        return _atom(term["value"])
    if kind == "list":
        return [decode(t) for t in term["value"]]
    if kind == "tuple":
        return tuple(decode(t) for t in term["value"])
    if kind == "map":
        return {decode_key(k): decode(v) for k, v in term["value"]}
    raise ValueError(f"unsupported typed term {kind!r}")


def decode_key(term: dict[str, Any]) -> str:
    """A map key: binary -> its UTF-8 text, atom -> its name, integer -> its decimal text."""
    kind = term["type"]
    if kind == "binary":
        return b64url_decode(term["b64url"]).decode("utf-8")
    if kind == "atom":
        return term["value"]
    if kind == "int":
        return str(int(term["value"]))
    raise ValueError(f"unsupported map key term {kind!r}")


def args(vector: dict[str, Any]) -> list[Any]:
    """The decoded arguments of a vector."""
    return [decode(t) for t in vector["args"]]


def output(vector: dict[str, Any]) -> Any:
    """The decoded output of a vector (fails the test if the vector records an error)."""
    if "output" not in vector:
        pytest.fail(f"vector {vector['name']} records an error, not an output: {vector['error']}")
    return decode(vector["output"])


def has_cased_atom_keys(term: dict[str, Any]) -> bool:
    """Whether a typed term contains a map key that is an atom with upper-case letters.

    Erlang keeps the case of atom keys (spec core §2.2 rule 3) but the Python model only has
    ``str`` keys, which stand for *binary* keys and are lower-cased. Expected outputs of such
    vectors are compared after ``lowercase_keys``.
    """
    kind = term["type"]
    if kind == "map":
        return any(
            (k["type"] == "atom" and k["value"] != k["value"].lower())
            or has_cased_atom_keys(k)
            or has_cased_atom_keys(v)
            for k, v in term["value"]
        )
    if kind in ("list", "tuple"):
        return any(has_cased_atom_keys(t) for t in term["value"])
    return False


def lowercase_keys(value: Any) -> Any:
    """Lower-case every map key (and every segment of a flat ``a/b`` key), recursively."""
    if isinstance(value, dict):
        return {k.lower(): lowercase_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lowercase_keys(v) for v in value]
    return value


def typed_equal(a: Any, b: Any) -> bool:
    """Structural equality that also compares types: ``1``, ``1.0``, ``True``, ``b"1"`` differ.

    ``Atom`` values must be ``Atom`` of the same name (a plain ``str`` is not an atom).
    """
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(typed_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(typed_equal(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def describe_difference(got: Any, expected: Any, path: str = "") -> str:
    """A short human-readable description of the first difference found by ``typed_equal``."""
    where = path or "<root>"
    if type(got) is not type(expected):
        return (
            f"at {where}: got {type(got).__name__} {got!r:.200}, expected "
            f"{type(expected).__name__} {expected!r:.200}"
        )
    if isinstance(got, dict):
        missing = sorted(set(expected) - set(got))
        extra = sorted(set(got) - set(expected))
        if missing or extra:
            return f"at {where}: missing keys {missing}, unexpected keys {extra}"
        for k in expected:
            if not typed_equal(got[k], expected[k]):
                return describe_difference(got[k], expected[k], f"{path}/{k}")
    if isinstance(got, (list, tuple)):
        if len(got) != len(expected):
            return f"at {where}: length {len(got)} != expected {len(expected)}"
        for i, (x, y) in enumerate(zip(got, expected, strict=True)):
            if not typed_equal(x, y):
                return describe_difference(x, y, f"{path}[{i}]")
    return f"at {where}: got {got!r:.300}, expected {expected!r:.300}"


def assert_typed_equal(got: Any, expected: Any, what: str = "value") -> None:
    """``assert typed_equal(got, expected)`` with a readable message."""
    assert typed_equal(got, expected), f"{what} differs: {describe_difference(got, expected)}"
