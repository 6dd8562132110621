"""The one cache: least recently used first out, within a budget, every instance cleared at once
by `clear_all` (tests: each computes its own answers)."""

import time
import weakref
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_ALL: "weakref.WeakSet[LRU]" = weakref.WeakSet()


class LRU(Generic[K, V]):
    """Entries by key, the most recently used last, within a budget: of entries (each costs 1),
    or of bytes (each costs what `put` says). An entry may carry a lifetime."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.size = 0
        self._items: dict[K, tuple[V, int, float | None]] = {}
        _ALL.add(self)

    def get(self, key: K) -> V | None:
        item = self._items.pop(key, None)
        if item is None:
            return None
        if item[2] is not None and item[2] < time.monotonic():
            self.size -= item[1]
            return None
        self._items[key] = item
        return item[0]

    def put(self, key: K, value: V, cost: int = 1, ttl: float | None = None) -> None:
        """Keep value, dropping the least recently used entries to make room; a value that
        costs more than the whole budget is not kept."""
        if cost > self.budget:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self.size -= old[1]
        self._items[key] = (value, cost, None if ttl is None else time.monotonic() + ttl)
        self.size += cost
        while self.size > self.budget:
            self.size -= self._items.pop(next(iter(self._items)))[1]

    def clear(self) -> None:
        self._items.clear()
        self.size = 0

    def __len__(self) -> int:
        return len(self._items)


def clear_all() -> None:
    for cache in list(_ALL):
        cache.clear()
