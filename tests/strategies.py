"""Hypothesis strategies for AO-Core messages (spec ../shared/spec/core.md).

Every strategy here stays inside what HyperBEAM itself can round-trip (core §3.4) unless its
name says otherwise (``weird_*``, ``random_*``: inputs for the robustness properties).

A :class:`Profile` names the extra limits of one codec's wire form. The limits, each with its
spec reason:

Keys (all profiles)
    * lower case only: keys are lower-cased by ``normalize_key`` (§2.2), so ``A`` and ``a``
      collide and only one survives (§3.4 "A vs a collisions"). :func:`keys` can add upper-case
      keys for the ID/normalisation properties, which do not round-trip;
    * no ``/``: ``flat@1.0`` (§9) and the httpsig multipart decoder (§6.4, ``flat_from``) split
      every key on ``/``;
    * no ``? & +``: ``hb_escape`` keeps them (§1.5) but the structured-field dictionary parser
      rejects them (§1.6), so a typed value under such a key cannot be decoded (§3.4);
    * no ``:``: a key holding ``": "`` breaks the ``key: value`` lines of the flat text form
      (§9) and of multipart part headers (§6.4, "split at first ``": "``");
    * no leading ``.``: ``hb_escape`` keeps ``.`` but an SF dictionary key may not start with
      it (§1.5, §1.6), so a typed value under such a key cannot be decoded;
    * not empty: empty path segments are dropped by ``term_to_path_parts`` (§5.1, §9);
    * no ``@`` prefix: the HMAC signature base strips a leading ``@`` (§4.3 step 6);
    * generic keys are at most 24 bytes, so they are never 32, 42 or 43 bytes long: those are
      *ID keys* (§1.2, §2.2) that keep their case and, holding a binary, move into the
      ``ao-ids`` header under httpsig (§6.2). :func:`id_keys` generates those on purpose;
    * none of the reserved keys of §2.4 (``commitments``, ``ao-types``, ``ao-ids``,
      ``body-keys``, ``content-type``, ``content-digest``, ``inline-body-key``, the
      ``signature*`` keys, ``unsigned_id``) and none of the default ``#tx`` keys, whose default
      values are dropped by ``structured@1.0``'s ``to`` (§2.4) so they cannot round-trip;
      ``hashpath*`` keys are removed by httpsig ``from`` (§6.4) and ``content-disposition`` is
      the multipart part header (§6.3);
    * private keys (``priv*``, §2.3) are never serialised: :func:`private_entries` adds them
      only where a property expects them to vanish.

Values
    * integers have at most 15 digits: the SF parser rejects 16 (§1.6, §3.4);
    * floats are finite: Erlang has no NaN or infinity (§3.2);
    * strings inside lists and atom names are printable ASCII (0x20-0x7E): list elements and
      atoms are SF strings, whose parser accepts nothing else (§1.6, §3.4);
    * a map may only start a list (a map after a scalar crashes, §3.1), so scalar lists never
      contain maps, at any depth;
    * binary values under top-level ID keys are printable ASCII too: they are SF strings in
      ``ao-ids`` (§6.2). Other binaries are arbitrary bytes, empty and > 4096 bytes included.

Codec profiles (the extra limits of each wire form)
    * ``httpsig@1.0``: nested binaries of at most 4096 bytes become multipart part header
      lines joined by CRLF (§6.3), so they must not contain ``"\\r\\n"``; keys are ASCII,
      because part names are SF strings in ``content-disposition`` (§6.3, §6.4 parses it with
      the SF item parser, which accepts printable ASCII only, §1.6);
    * ``flat@1.0`` text form: lines split on ``\\n`` and must split on ``": "`` into exactly two
      parts (§9), so no key or value (atoms and list strings included) holds ``"\\n"`` or
      ``": "``;
    * ``json@1.0``: values must be valid UTF-8 (§10, §15 item 14).
"""

from __future__ import annotations

import base64
import string
from dataclasses import dataclass

from hyperbeam_fast import Atom
from hypothesis import strategies as st

MAX_DIGITS = 15
MAX_INT = 10**MAX_DIGITS - 1
MAX_HEADER_LENGTH = 4096  # §6.1

PRINTABLE_ASCII = "".join(chr(c) for c in range(0x20, 0x7F))
B64URL_ALPHABET = string.ascii_letters + string.digits + "-_"
KEY_ALPHABET = string.ascii_lowercase + string.digits + "-_.*% " + "éжø"
ID_SIZES = (32, 42, 43)

#: The default ``#tx`` keys (§2.4): their default values are dropped by ``structured@1.0``.
TX_KEYS = frozenset(
    "format id unsigned_id last_tx owner tags target quantity data manifest data_size data_tree "
    "data_root signature reward denomination signature_type".split()
)
#: Reserved and httpsig-artefact keys (§2.4, §6).
RESERVED_KEYS = frozenset(
    {
        "commitments",
        "signature",
        "signature-input",
        "x-signature-input",
        "ao-types",
        "ao-ids",
        "body-keys",
        "content-type",
        "content-digest",
        "content-disposition",
        "inline-body-key",
        "unsigned_id",
    }
)
#: Ordinary keys that name something special somewhere: the inline body key (§6.1), the
#: derived components that get an ``@`` in the HMAC base (§4.3 step 6).
SPECIAL_KEYS = ("body", "path", "method", "status", "target-uri", "authority", "query")


def same_typed(a: object, b: object) -> bool:
    """Equal values of the same types, dict keys in the same order (two decode paths that must
    give the very same message)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same_typed(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_typed(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def key_is_usable(key: str) -> bool:
    """Whether ``key`` is an ordinary (non-ID, non-reserved, non-private) round-trip key."""
    return (
        key not in TX_KEYS
        and key not in RESERVED_KEYS
        and not key.startswith(("priv", "hashpath", "@"))
        and len(key.encode()) not in ID_SIZES
        and key.strip() != ""
        and not key.startswith(".")
    )


@dataclass(frozen=True)
class Profile:
    """The extra limits of one codec's wire form (see the module docstring)."""

    name: str
    utf8_only: bool = False  # json@1.0
    no_crlf: bool = False  # httpsig@1.0 part headers
    flat_text: bool = False  # flat@1.0 text form: no "\n", no ": "
    ascii_keys: bool = False  # httpsig@1.0 part names

    def key_ok(self, key: str) -> bool:
        return self.text_ok(key) and (key.isascii() or not self.ascii_keys)

    def bytes_ok(self, b: bytes) -> bool:
        if self.no_crlf and b"\r\n" in b and len(b) <= MAX_HEADER_LENGTH:
            return False
        if self.flat_text and (b"\n" in b or b": " in b):
            return False
        return True

    def text_ok(self, s: str) -> bool:
        return self.bytes_ok(s.encode())


ANY = Profile("structured@1.0")
PROFILES = {
    "structured@1.0": ANY,
    "tabm": ANY,
    "httpsig@1.0": Profile("httpsig@1.0", no_crlf=True, ascii_keys=True),
    "flat@1.0": Profile("flat@1.0", no_crlf=True),
    "flat-text": Profile("flat-text", no_crlf=True, flat_text=True),
    "json@1.0": Profile("json@1.0", utf8_only=True, no_crlf=True),
}
#: The profile that suits every codec at once (IDs are compared across all of them).
ALL_CODECS = Profile("all", utf8_only=True, no_crlf=True, flat_text=True, ascii_keys=True)


def _sanitise(b: bytes, profile: Profile) -> bytes:
    """Remove what ``profile`` forbids (cheaper than filtering)."""
    if profile.utf8_only:
        b = b.decode("utf-8", "replace").encode()
    if profile.flat_text:
        b = b.replace(b"\n", b"")
        while b": " in b:
            b = b.replace(b": ", b":")
    if profile.no_crlf and len(b) <= MAX_HEADER_LENGTH:
        while b"\r\n" in b:
            b = b.replace(b"\r\n", b"\n" if not profile.flat_text else b"")
    return b


# --- keys ----------------------------------------------------------------------------------------


def keys(allow_upper: bool = False) -> st.SearchStrategy[str]:
    """Ordinary message keys (lower case unless ``allow_upper``), see the module docstring."""
    alphabet = KEY_ALPHABET + (string.ascii_uppercase if allow_upper else "")
    generic = st.text(alphabet=alphabet, min_size=1, max_size=12)
    # Odd keys: digits first, dots, dashes, spaces, percent signs, non-ASCII.
    odd = st.sampled_from(["1", "007", "a.b", "-x-", "_", "a b", "%41", "café", "*", " lead"])
    return st.one_of(generic, odd, st.sampled_from(SPECIAL_KEYS)).filter(key_is_usable)


def id_keys() -> st.SearchStrategy[str]:
    """Keys of exactly 32, 42 or 43 bytes: ID keys that keep their case (§1.2, §2.2)."""
    return st.one_of(
        st.binary(min_size=32, max_size=32).map(lambda b: base64.urlsafe_b64encode(b)[:43]),
        st.text(alphabet=B64URL_ALPHABET, min_size=43, max_size=43).map(str.encode),
        st.text(alphabet=B64URL_ALPHABET, min_size=32, max_size=32).map(str.encode),
        st.text(alphabet="0123456789abcdefABCDEF", min_size=40, max_size=40).map(
            lambda h: ("0x" + h).encode()
        ),
    ).map(bytes.decode)


# --- scalar values -------------------------------------------------------------------------------


def ints() -> st.SearchStrategy[int]:
    """Integers of at most 15 digits (§1.6)."""
    return st.one_of(
        st.integers(-MAX_INT, MAX_INT),
        st.sampled_from([0, -1, MAX_INT, -MAX_INT, 10**14, 1234567890]),
    )


def floats() -> st.SearchStrategy[float]:
    """Finite floats (§3.2)."""
    return st.floats(allow_nan=False, allow_infinity=False)


def atom_names(profile: Profile = ANY) -> st.SearchStrategy[str]:
    """Printable-ASCII atom names (SF strings, §1.6)."""
    return st.text(alphabet=PRINTABLE_ASCII, max_size=12).filter(profile.text_ok)


def atoms(profile: Profile = ANY) -> st.SearchStrategy:
    """``True``/``False``/``None`` and :class:`Atom` values."""
    return st.one_of(st.sampled_from([True, False, None]), atom_names(profile).map(Atom))


def big_bytes() -> st.SearchStrategy[bytes]:
    """Binaries around and above the 4096-byte header limit (multipart parts, §6.1)."""
    return st.tuples(
        st.binary(min_size=1, max_size=8), st.sampled_from([4095, 4096, 4097, 5000, 9000])
    ).map(lambda t: (t[0] * (t[1] // len(t[0]) + 1))[: t[1]])


def binaries(profile: Profile = ANY, big: bool = True) -> st.SearchStrategy[bytes | str]:
    """Binary values: empty, short, non-UTF-8, text (``str`` = its UTF-8), > 4096 bytes."""
    if profile.utf8_only:
        small = st.text(max_size=40).map(str.encode)
    else:
        small = st.binary(max_size=40)
    parts = [
        small,
        st.sampled_from([b"", b"\xff\xfe", b"0", b"true", b"\r\n", b"a: b", b" x ", b'"q"']),
        st.text(max_size=20),
    ]
    if big:
        parts.append(
            big_bytes().map(lambda b: b.decode("latin-1").encode() if profile.utf8_only else b)
        )
    return st.one_of(*parts).map(
        lambda v: _sanitise(v.encode() if isinstance(v, str) else v, profile)
    )


def list_strings(profile: Profile = ANY) -> st.SearchStrategy[bytes]:
    """Binaries allowed inside a list: printable ASCII (SF strings, §1.6, §3.4)."""
    return st.text(alphabet=PRINTABLE_ASCII, max_size=16).map(str.encode).filter(profile.bytes_ok)


def list_scalars(profile: Profile = ANY) -> st.SearchStrategy:
    return st.one_of(list_strings(profile), ints(), floats(), atoms(profile))


def scalar_lists(profile: Profile = ANY) -> st.SearchStrategy[list]:
    """Lists of scalars, possibly holding further scalar lists (never maps, §3.1)."""

    def extend(inner):
        return st.lists(st.one_of(list_scalars(profile), inner), max_size=4)

    return st.recursive(st.lists(list_scalars(profile), max_size=4), extend, max_leaves=8)


def scalars(profile: Profile = ANY) -> st.SearchStrategy:
    """Any leaf value allowed directly under a key."""
    return st.one_of(binaries(profile), ints(), floats(), atoms(profile))


# --- messages ------------------------------------------------------------------------------------


def _values(profile: Profile, depth: int) -> st.SearchStrategy:
    leaf = st.one_of(
        scalars(profile), scalar_lists(profile), st.just([]), st.just({}), st.just(b"")
    )
    if depth <= 0:
        return leaf
    sub = maps(profile, depth - 1)
    list_of_maps = st.tuples(
        sub, st.lists(st.one_of(sub, scalars(profile), scalar_lists(profile)), max_size=3)
    ).map(lambda t: [t[0], *t[1]])
    list_of_lists = st.tuples(
        scalar_lists(profile).filter(bool), st.lists(list_scalars(profile), max_size=2)
    ).map(lambda t: [t[0], *t[1]])
    return st.one_of(leaf, sub, list_of_maps, list_of_lists)


def maps(profile: Profile = ANY, depth: int = 2, max_size: int = 5) -> st.SearchStrategy[dict]:
    """A nested map (any level below the top): ordinary keys, bounded depth and size."""
    key = keys().filter(profile.key_ok)
    return st.deferred(lambda: st.dictionaries(key, _values(profile, depth), max_size=max_size))


def messages(
    profile: Profile | str = ANY, depth: int = 2, max_size: int = 6, with_ids: bool = True
) -> st.SearchStrategy[dict]:
    """Top-level messages that round-trip through ``profile``'s codec (module docstring)."""
    if isinstance(profile, str):
        profile = PROFILES[profile]
    body = maps(profile, depth, max_size)
    if not with_ids:
        return body
    id_entry = st.tuples(
        id_keys(),
        st.one_of(
            list_strings(profile).filter(bool), ints(), maps(profile, 0, 2), scalar_lists(profile)
        ),
    )
    return st.tuples(body, st.lists(id_entry, max_size=2)).map(lambda t: {**t[0], **dict(t[1])})


def private_entries() -> st.SearchStrategy[dict]:
    """Private keys (§2.3) with arbitrary message values: never serialised or hashed."""
    return st.dictionaries(
        st.sampled_from(["priv", "private", "priv_x", "privacy", "PRIV-Upper"]),
        st.one_of(binaries(big=False), maps(ANY, 1, 3)),
        max_size=2,
    )


def upper_case_messages() -> st.SearchStrategy[dict]:
    """Messages whose keys may hold upper case (and so collide after normalisation, §2.2)."""
    return st.dictionaries(keys(allow_upper=True), scalars(ALL_CODECS), max_size=6)


def inline_body_messages(profile: Profile = ANY) -> st.SearchStrategy[dict]:
    """Messages exercising the inline body key (§6.1 step 3): ``data`` without ``body``, both,
    or ``body`` holding a map. ``data`` is never empty (an empty one is a #tx default, §2.4)."""
    data = binaries(profile).filter(lambda b: b != b"")
    return st.tuples(
        maps(profile, 1, 3),
        st.one_of(
            st.fixed_dictionaries({"data": data}),
            st.fixed_dictionaries({"data": data, "body": binaries(profile)}),
            st.fixed_dictionaries({"body": maps(profile, 1, 3)}),
            st.fixed_dictionaries({"data": st.one_of(ints(), maps(profile, 1, 2))}),
        ),
    ).map(lambda t: {**t[0], **t[1]})


def reorder(msg: object, rng_key: int = 0) -> object:
    """The same message built with another insertion order (reversed, or rotated by
    ``rng_key``) at every level. Lists keep their order (it is meaningful)."""
    if isinstance(msg, dict):
        items = list(msg.items())
        if items:
            k = rng_key % len(items)
            items = items[k:] + items[:k] if rng_key else items[::-1]
        return {key: reorder(v, rng_key) for key, v in items}
    if isinstance(msg, list):
        return [reorder(v, rng_key) for v in msg]
    return msg


# --- hashpaths -----------------------------------------------------------------------------------


def human_ids() -> st.SearchStrategy[str]:
    """43-character base64url IDs (§1.2)."""
    return st.binary(min_size=32, max_size=32).map(
        lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    )


def key_names() -> st.SearchStrategy[str]:
    """Key names used as hashpath parts: no ``/``, never 43 bytes (that would be an ID)."""
    return st.one_of(keys(), st.text(alphabet=PRINTABLE_ASCII, min_size=1, max_size=20)).filter(
        lambda k: "/" not in k and len(k.encode()) != 43
    )


def hashpaths() -> st.SearchStrategy[str]:
    """Stored hashpaths: one part, or two parts ``<id>/<id-or-key>`` (§5.1)."""
    return st.one_of(
        human_ids(),
        st.tuples(human_ids(), st.one_of(human_ids(), key_names())).map("/".join),
    )


# --- inputs for the robustness properties (anything at all) ------------------------------------


class _Opaque:
    """An object no codec knows."""


def weird_scalars() -> st.SearchStrategy:
    return st.one_of(
        st.binary(max_size=20),
        st.text(max_size=10),
        st.integers(),
        st.floats(),
        st.booleans(),
        st.none(),
        st.text(max_size=5).map(Atom),
        st.builds(set),
        st.builds(_Opaque),
        st.complex_numbers(allow_nan=True),
        st.builds(bytearray, st.binary(max_size=5)),
        st.builds(memoryview, st.binary(max_size=5)),
        st.just(len),
        st.just(lambda: 1),
    )


def weird_keys() -> st.SearchStrategy:
    return st.one_of(
        st.text(max_size=12),
        st.binary(max_size=12),
        st.integers(),
        st.none(),
        st.booleans(),
        st.floats(),
        st.tuples(st.integers()),
        st.text(max_size=5).map(Atom),
        st.sampled_from(["ao-types", "ao-ids", "body", "priv", "commitments", "a/b", "/", ""]),
    )


def weird_values() -> st.SearchStrategy:
    """Any Python value, including ones no codec accepts (sets, objects, NaN, tuples...)."""
    return st.recursive(
        weird_scalars(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.tuples(inner, inner),
            st.dictionaries(weird_keys(), inner, max_size=4),
        ),
        max_leaves=12,
    )


def weird_messages() -> st.SearchStrategy[dict]:
    return st.dictionaries(weird_keys(), weird_values(), max_size=5)


_SF_FRAGMENTS = [
    '"integer"',
    '"float"',
    '"atom"',
    '"list"',
    '"empty-binary"',
    '"empty-list"',
    '"empty-message"',
    '"map"',
    '"binary"',
    '"wibble"',
    "?1",
    "1",
    "(1 2)",
    ":aGk=:",
    "tok",
    '"',
    "=",
    ", ",
    ";p=1",
    "\\",
]


def random_sf_text() -> st.SearchStrategy[bytes]:
    """Structured-field-ish text, mostly (in)valid dictionaries for ``ao-types``."""
    member = st.tuples(
        st.sampled_from(["a", "b", "l", "1", "%41", "A", "a/b", "", "*"]),
        st.sampled_from(_SF_FRAGMENTS),
    ).map(lambda t: f"{t[0]}={t[1]}")
    return st.one_of(
        st.lists(member, max_size=4).map(", ".join),
        st.lists(st.sampled_from(_SF_FRAGMENTS), max_size=6).map("".join),
        st.text(max_size=20),
    ).map(lambda s: s.encode("utf-8", "surrogatepass"))


def random_tabm_values() -> st.SearchStrategy:
    """TABM leaf values that may or may not parse as their ``ao-types`` type."""
    return st.one_of(
        st.binary(max_size=12),
        st.sampled_from(
            [
                b"1",
                b"-5",
                b"1234567890123456",
                b"1.5",
                b"1e5",
                b"nan",
                b"inf",
                b'"true"',
                b'"x',
                b'"(ao-type-integer) 1", "b"',
                b'"(ao-type-wibble) 1"',
                b'"(ao-type-map) 1"',
                b'"(ao-type-list) \\"(ao-type-integer) x\\""',
                b"\xff",
                b"?1",
                b"(1 2)",
            ]
        ),
        st.text(max_size=8),
    )


def random_tabms() -> st.SearchStrategy[dict]:
    """TABM-shaped dicts with random ``ao-types`` and values (valid or not)."""
    keys_ = st.sampled_from(["a", "b", "l", "1", "2", "A", "a/b", "body", "ao-types"])
    return st.recursive(
        st.dictionaries(keys_, random_tabm_values(), max_size=4),
        lambda inner: st.tuples(
            st.dictionaries(keys_, st.one_of(random_tabm_values(), inner), max_size=4),
            random_sf_text(),
        ).map(lambda t: {**t[0], "ao-types": t[1]}),
        max_leaves=10,
    )


def random_multipart() -> st.SearchStrategy[tuple[bytes, bytes]]:
    """``(content_type, body)``: multipart bodies, well-formed or broken (§6.4)."""
    boundary = st.sampled_from(["abc", "B", "x y", ""])
    cd = st.sampled_from(
        [
            b"content-disposition: inline",
            b'content-disposition: form-data;name="k"',
            b'content-disposition: form-data;name="a/b"',
            b'content-disposition: form-data;name="ao-types"',
            b'content-disposition: form-data;name="body"',
            b"content-disposition: form-data",
            b"content-disposition: (",
            b"Content-Disposition: inline",
            b"",
        ]
    )
    header = st.sampled_from(
        [b"x: 1", b'ao-types: x="integer"', b'ao-types: x="', b"noseparator", b"a/b: c", b""]
    )
    part = st.tuples(cd, st.lists(header, max_size=3), st.binary(max_size=12)).map(
        lambda t: b"\r\n".join([t[0], *t[1]]) + (b"\r\n\r\n" + t[2] if t[2] else b"")
    )

    def assemble(t):
        b, parts, close, ct_style = t
        bb = b.encode()
        body = b"".join(b"--" + bb + b"\r\n" + p + b"\r\n" for p in parts)
        body = body + (b"--" + bb + b"--" if close else b"")
        ct = {
            0: b'multipart/form-data; boundary="' + bb + b'"',
            1: b"multipart/form-data; boundary=" + bb,
            2: b"multipart/form-data",
            3: b'multipart/form-data; boundary="',
            4: b"text/plain",
        }[ct_style]
        return ct, body

    return st.tuples(boundary, st.lists(part, max_size=4), st.booleans(), st.integers(0, 4)).map(
        assemble
    )


def random_http_messages() -> st.SearchStrategy[dict]:
    """Dicts of header fields (+ ``body``) for httpsig@1.0 ``from``, valid or not."""
    field = st.sampled_from(
        [
            "ao-types",
            "ao-ids",
            "body-keys",
            "inline-body-key",
            "signature",
            "signature-input",
            "hashpath",
            "content-digest",
            "a",
            "a/b",
            "k",
        ]
    )
    value = st.one_of(
        random_sf_text(), random_tabm_values().filter(lambda v: not isinstance(v, str))
    )
    headers = st.dictionaries(field, value, max_size=5)
    return st.tuples(headers, random_multipart(), st.integers(0, 2)).map(
        lambda t: {
            **t[0],
            **(
                {"content-type": t[1][0], "body": t[1][1]}
                if t[2] == 0
                else ({"body": t[1][1]} if t[2] == 1 else {})
            ),
        }
    )
