"""function/protobuf.struct_bytes writes a Struct's wire format itself: it must give exactly the
message Struct.update builds, for every JSON value."""

import math

import pytest
from google.protobuf import struct_pb2
from hypothesis import given
from hypothesis import strategies as st

from function import protobuf


def built(obj: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(obj)
    return s


def written(obj: dict) -> struct_pb2.Struct:
    return struct_pb2.Struct.FromString(protobuf.struct_bytes(obj))


@pytest.mark.parametrize(
    "obj",
    [
        {},
        {"empty": {}, "none": [], "null": None},
        # A bool is its own kind, never the number 1 or 0.
        {"yes": True, "no": False, "one": 1, "zero": 0},
        {"n": -1, "big": 2**53, "small": 0.1, "huge": 1e308, "minus zero": -0.0},
        # Lengths across a varint's byte boundaries.
        {"s127": "x" * 127, "s128": "x" * 128, "s16383": "y" * 16383, "s16384": "y" * 16384},
        {"k" * 200: "a long key", "ünïcode": "日本語", "": ""},
        {"nested": [[[]], [{"a": [1, "b", None, {"c": {}}]}], {"d": [True]}]},
    ],
)
def test_struct_bytes_is_the_struct_update_builds(obj):
    assert written(obj) == built(obj)


def test_a_bool_stays_a_bool():
    value = written({"v": True}).fields["v"]
    assert value.WhichOneof("kind") == "bool_value"
    assert written({"v": 1}).fields["v"].WhichOneof("kind") == "number_value"
    assert written({"v": None}).fields["v"].WhichOneof("kind") == "null_value"


def test_what_json_cannot_hold_is_refused():
    with pytest.raises(TypeError, match="not a JSON value: tuple"):
        protobuf.struct_bytes({"t": (1, 2)})


def test_the_encoded_strings_kept_are_bounded():
    protobuf.struct_bytes({f"key-{i}": f"value-{i}" for i in range(protobuf._CACHE_MAX + 100)})
    assert len(protobuf._KEYS) <= protobuf._CACHE_MAX
    assert len(protobuf._STRINGS) <= protobuf._CACHE_MAX
    # A long string is never kept: every object of a team would add its own.
    protobuf.struct_bytes({"k": "z" * 1000})
    assert "z" * 1000 not in protobuf._STRINGS


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


@given(st.dictionaries(st.text(), JSON, max_size=8))
def test_any_json_object_is_written_as_struct_update_builds_it(obj):
    assert written(obj) == built(obj)


@given(st.floats(allow_nan=False, allow_infinity=True))
def test_numbers_are_doubles_as_struct_update_stores_them(x):
    got = written({"x": x}).fields["x"].number_value
    assert got == x and math.copysign(1, got) == math.copysign(1, x)
