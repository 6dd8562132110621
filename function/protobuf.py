"""Protobuf, read and written lazily and from caches: the speed the core does not see.

The core reads plain dicts; converting a whole request field by field costs more than the
core's own work on a steady-state call, so observed objects are converted only when read, and
the desired objects' Structs are built from serialized copies of ones built before."""

import json
import struct
from collections.abc import Iterator, Mapping, Sequence

from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from google.protobuf import struct_pb2

from function.lru import LRU


def _value(v: struct_pb2.Value) -> object:
    kind = v.WhichOneof("kind")
    if kind == "struct_value":
        return {k: _value(x) for k, x in v.struct_value.fields.items()}
    if kind == "list_value":
        return [_value(x) for x in v.list_value.values]
    return None if kind == "null_value" else getattr(v, kind)


def to_dict(s: struct_pb2.Struct) -> dict:
    """resource.struct_to_dict's result, a third faster: no detour through JSON."""
    return {k: _value(x) for k, x in s.fields.items()}


# Objects are ~0.5-3 KB; a large one (a 256 KiB configYaml, 4 MiB of env) is built each
# time: kept, 1,024 of them would hold far more than the memo's budget.
_STRUCT_CACHE_MAX = 16 * 1024


# ~35 MB at most, ~6 MB for objects of the usual size.
_STRUCTS: LRU[str, bytes] = LRU(1024)


def _struct_bytes(text: str) -> bytes:
    found = _STRUCTS.get(text)
    if found is None:
        found = struct_bytes(json.loads(text))
        _STRUCTS.put(text, found)
    return found


# google/protobuf/struct.proto on the wire: a Struct is its map's entries (field 1), each a key
# (1) and a Value (2); a Value is one of null (1), number (2, a double), string (3), bool (4),
# Struct (5) or ListValue (6), whose values are field 1. Written here directly: Struct.update
# builds a message per node in Python and takes twice as long, for every object of a new
# ModelAPI (the names differ, so no cached copy serves).
_DOUBLE = struct.Struct("<d").pack
_NULL = b"\x08\x00"
_TRUE, _FALSE = b"\x20\x01", b"\x20\x00"
# Keys and short strings recur in every object (apiVersion, name, TCP): encoded once. Bounded:
# a team's strings (resource names, env values) must not grow them without end.
_CACHE_MAX = 4096
_KEYS: dict[str, bytes] = {}
_STRINGS: dict[str, bytes] = {}


def _prefixed(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: its tag, its length as a varint, its bytes."""
    n = len(payload)
    if n < 0x80:
        return tag + bytes((n,)) + payload
    varint = bytearray()
    while n >= 0x80:
        varint.append((n & 0x7F) | 0x80)
        n >>= 7
    varint.append(n)
    return tag + bytes(varint) + payload


def _json_value(v: object) -> bytes:
    """A Value's bytes, for what json.loads returns."""
    kind = type(v)
    if kind is str:
        found = _STRINGS.get(v)  # type: ignore[arg-type]
        if found is None:
            found = _prefixed(b"\x1a", v.encode())  # type: ignore[attr-defined]
            if len(found) <= 66 and len(_STRINGS) < _CACHE_MAX:
                _STRINGS[v] = found  # type: ignore[index]
        return found
    if kind is dict:
        return _prefixed(b"\x2a", struct_bytes(v))  # type: ignore[arg-type]
    if kind is list:
        return _prefixed(b"\x32", b"".join([_prefixed(b"\x0a", _json_value(x)) for x in v]))  # type: ignore[attr-defined]
    if kind is bool:
        return _TRUE if v else _FALSE
    if kind is int or kind is float:
        return b"\x11" + _DOUBLE(v)
    if v is None:
        return _NULL
    raise TypeError(f"not a JSON value: {kind.__name__}")


def struct_bytes(obj: dict) -> bytes:
    """The serialized Struct of a JSON object (the types json.loads returns)."""
    entries = []
    for key, value in obj.items():
        encoded_key = _KEYS.get(key)
        if encoded_key is None:
            encoded_key = _prefixed(b"\x0a", key.encode())
            if len(_KEYS) < _CACHE_MAX:
                _KEYS[key] = encoded_key
        entries.append(_prefixed(b"\x0a", encoded_key + _prefixed(b"\x12", _json_value(value))))
    return b"".join(entries)


def set_struct(s: struct_pb2.Struct, obj: dict) -> None:
    """s.update(obj), from a cache: the same objects come back on every reconcile, and
    building a Struct field by field in Python takes ~0.15 ms for a Deployment."""
    text = json.dumps(obj, sort_keys=True)
    if len(text) > _STRUCT_CACHE_MAX:
        s.update(obj)
        return
    s.MergeFromString(_struct_bytes(text))


class _LazyMap(Mapping[str, object]):
    """A protobuf map read as a dict, each entry converted when first read."""

    def __init__(self, entries: Mapping) -> None:
        self._entries = entries
        self._seen: dict[str, object] = {}

    def _convert(self, raw: object) -> object:
        raise NotImplementedError

    def __getitem__(self, key: str) -> object:
        if key not in self._seen:
            if key not in self._entries:  # reading a protobuf map would add the key
                raise KeyError(key)
            self._seen[key] = self._convert(self._entries[key])
        return self._seen[key]

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


class Fields(_LazyMap):
    """An observed object read as a dict, each top-level field converted when first read:
    the core reads a Deployment's status, not its spec (~0.25 ms to convert)."""

    def __init__(self, s: struct_pb2.Struct) -> None:
        super().__init__(s.fields)

    def _convert(self, raw: object) -> object:
        return _value(raw)  # type: ignore[arg-type]


class Observed(_LazyMap):
    """Observed composed resources, each converted from protobuf only when the core reads it."""

    def _convert(self, raw: object) -> object:
        return Fields(raw.resource)  # type: ignore[attr-defined]


class Pods(Sequence[dict]):
    """The required pods, each converted only when the core reads it: it does not while the
    Deployment is available, and a Pod takes ~0.3 ms to convert."""

    def __init__(self, items: Sequence[fnv1.Resource]) -> None:
        self._items = items
        self._seen: dict[int, dict] = {}

    def __getitem__(self, i):  # noqa: ANN001, ANN204 - Sequence's int and slice overloads
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i not in self._seen:
            self._seen[i] = to_dict(self._items[i].resource)
        return self._seen[i]

    def __len__(self) -> int:
        return len(self._items)


def field(s: struct_pb2.Struct, *path: str) -> struct_pb2.Value | None:
    """The value at path, without adding the keys a protobuf map adds when read."""
    value = None
    for part in path:
        if value is not None:
            if value.WhichOneof("kind") != "struct_value":
                return None
            s = value.struct_value
        if part not in s.fields:
            return None
        value = s.fields[part]
    return value
