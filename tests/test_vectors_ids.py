"""Golden vectors: message IDs of unsigned messages (message-ids.json, spec core §4.3-4.4).

``hb_message:id/1`` -> ``id(msg)``; ``hb_message:id/2`` with ``none`` / ``all`` ->
``id(msg, "none")`` / ``id(msg, "all")``. All three give the same ID for unsigned messages.
"""

import hyperbeam_fast
import pytest
from vectors import args, b64url_decode, output, vector_params

ID_VECTORS = vector_params("message-ids.json")


@pytest.mark.parametrize("vector", ID_VECTORS)
def test_message_id(vector):
    decoded = args(vector)
    msg = decoded[0]
    expected = output(vector).decode("ascii")
    assert len(expected) == 43
    if vector["function"] == "hb_message:id/1":
        got = hyperbeam_fast.id(msg)
    else:
        mode = decoded[1]
        assert mode in ("none", "all"), f"unexpected committers argument {mode!r}"
        got = hyperbeam_fast.id(msg, str(mode))
    assert isinstance(got, str)
    assert got == expected, f"{vector['name']}: got {got}, expected {expected}"


@pytest.mark.parametrize(
    "vector", vector_params("message-ids.json", select=lambda v: v["name"].endswith("/id_none"))
)
def test_message_id_list_of_no_committers(vector):
    """An empty committer list selects no commitments: the unsigned ID, as ``none``."""
    msg = args(vector)[0]
    assert hyperbeam_fast.id(msg, []) == output(vector).decode("ascii")


@pytest.mark.parametrize(
    "vector", vector_params("message-ids.json", select=lambda v: v["name"].endswith("/id_none"))
)
def test_message_id_is_stable_and_native_form_roundtrips(vector):
    msg = args(vector)[0]
    expected = output(vector).decode("ascii")
    assert hyperbeam_fast.id(msg) == hyperbeam_fast.id(msg)
    native = hyperbeam_fast.native_id(expected)
    assert native == b64url_decode(expected)
    assert len(native) == 32
    assert hyperbeam_fast.human_id(native) == expected
