"""Protobuf, read and written lazily and from caches: the speed the core does not see.

The core reads plain dicts; converting a whole request field by field costs more than the
core's own work on a steady-state call, so observed objects are converted only when read, and
the desired objects' Structs are built from serialized copies of ones built before."""

import json
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
        s = struct_pb2.Struct()
        s.update(json.loads(text))
        found = s.SerializeToString()
        _STRUCTS.put(text, found)
    return found


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
