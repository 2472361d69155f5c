"""One process-wide cache of results that depend only on the configuration, shared by every session.

Why: a class opens the same lesson link thirty times at once; each session training the same runs
again made one Python process do the same work thirty times. Here a value is computed once per
process, under a key that holds everything it depends on (lab.runs.run_key and its siblings), and
handed to every session that asks for that key.

- Bounded in bytes (an estimate: NumPy arrays by their buffers, bytes by their length, containers
  and plain objects by what they hold), DESCENT_LAB_CACHE_MB megabytes by default 256; the least
  recently used values go first. A value larger than the whole bound is returned but not kept;
  a bound of 0 turns the cache off (nothing kept, nothing shared: for comparisons).
- Single flight: when several threads (sessions) ask for the same missing key at once, one
  computes it and the others wait for its value. An exception raised by the computation goes to
  every waiter and nothing is cached. A computation stopped by a BaseException that is not an
  Exception (Streamlit stops a script run with one when its user reruns it) is not another
  session's error: a waiter then computes the value itself.
- Values are shared, not copied: callers must treat them as read-only.

Plain Python (threading), no Streamlit: ui/cache.py puts the page's per-kind API on top of it.
"""

from __future__ import annotations

import os
import sys
import threading
import types
from collections import OrderedDict
from dataclasses import fields, is_dataclass
from typing import Any, Callable, Hashable

import numpy as np

ENV_MB = "DESCENT_LAB_CACHE_MB"
DEFAULT_MB = 256
_MISSING = object()
# Per-object overhead counted for a container, a plain object or a small scalar: what a value
# costs beyond its payload, so that many tiny values are not counted as free.
_OVERHEAD = 64


def estimate_size(value: Any) -> int:
    """About how many bytes `value` holds: NumPy arrays by their buffers, bytes and strings by
    their length, containers, dataclasses, named tuples and plain objects by what they hold, each
    object counted once (shared parts and cycles too)."""
    seen: set[int] = set()
    total = 0
    stack = [value]
    while stack:
        v = stack.pop()
        if v is None or isinstance(v, (bool, int, float, complex)):
            total += 32
            continue
        if id(v) in seen:
            continue
        seen.add(id(v))
        if isinstance(v, np.ndarray):
            # A view shares its base's buffer: count the base's once.
            base = v
            while isinstance(base.base, np.ndarray):
                base = base.base
            if base is not v:
                if id(base) in seen:
                    total += _OVERHEAD
                    continue
                seen.add(id(base))
            total += int(base.nbytes) + 112
        elif isinstance(v, (bytes, bytearray, memoryview)):
            total += len(v) + 33
        elif isinstance(v, str):
            total += len(v) + 49
        elif isinstance(v, np.generic):
            total += 32
        elif isinstance(v, dict):
            total += _OVERHEAD + 48 * len(v)
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, (list, tuple, set, frozenset)):
            total += _OVERHEAD + 8 * len(v)
            stack.extend(v)
        elif is_dataclass(v) and not isinstance(v, type):
            total += _OVERHEAD
            stack.extend(getattr(v, f.name, None) for f in fields(v))
        elif callable(v) or isinstance(v, (type, types.ModuleType)):
            total += _OVERHEAD  # functions, classes, modules belong to the program, not the value
        elif hasattr(v, "__dict__"):
            total += _OVERHEAD
            stack.append(vars(v))
        else:
            total += sys.getsizeof(v, _OVERHEAD)
    return total


def bound_from_env() -> int:
    """The bound in bytes: DESCENT_LAB_CACHE_MB (a number, 0 keeps nothing), else 256 MB."""
    text = os.environ.get(ENV_MB, "").strip()
    try:
        mb = float(text) if text else DEFAULT_MB
    except ValueError:
        mb = DEFAULT_MB
    if not mb >= 0:  # NaN and negatives
        mb = DEFAULT_MB
    return int(mb * 1024 * 1024)


class _Flight:
    """One computation in progress: its waiters block on `done`."""

    __slots__ = ("done", "value", "error", "abandoned", "owner")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None
        self.abandoned = False
        self.owner = threading.get_ident()


class SharedCache:
    """A thread-safe LRU cache bounded in bytes, with single-flight computation (get_or_compute)."""

    def __init__(self, max_bytes: int | None = None, sizer: Callable[[Any], int] = estimate_size):
        self.max_bytes = bound_from_env() if max_bytes is None else int(max_bytes)
        self._sizer = sizer
        self._lock = threading.Lock()
        self._store: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._flights: dict[Hashable, _Flight] = {}
        self._bytes = 0
        # Counters for benchmarks and tests: what was served, computed, waited for, evicted.
        self.hits = self.misses = self.computations = self.waits = self.evictions = self.puts = 0

    # --- the store ------------------------------------------------------------------------------

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._store)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._store

    def keys(self) -> list:
        """The keys held, least recently used first."""
        with self._lock:
            return list(self._store)

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            entry = self._store.get(key, _MISSING)
            if entry is _MISSING:
                self.misses += 1
                return default
            self._store.move_to_end(key)
            self.hits += 1
            return entry[0]

    def put(self, key: Hashable, value: Any) -> Any:
        """Keep `value` under `key` (unless it alone is larger than the bound) and return it."""
        size = int(self._sizer(value))
        with self._lock:
            self.puts += 1
            self._insert(key, value, size)
        return value

    def clear(self) -> None:
        with self._lock:
            self._store.clear()
            self._bytes = 0

    def _insert(self, key: Hashable, value: Any, size: int) -> None:
        old = self._store.pop(key, None)
        if old is not None:
            self._bytes -= old[1]
        if size > self.max_bytes:
            return
        self._store[key] = (value, size)
        self._bytes += size
        while self._bytes > self.max_bytes and self._store:
            _, (_, dropped) = self._store.popitem(last=False)
            self._bytes -= dropped
            self.evictions += 1

    # --- single flight --------------------------------------------------------------------------

    def get_or_compute(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The value under `key`, or make() it: one caller computes, concurrent callers of the same
        key wait for it and get the same value (or the same exception; nothing is cached then).
        A cache bounded at 0 bytes keeps and shares nothing: every caller computes its own."""
        if self.max_bytes <= 0:
            return make()
        while True:
            with self._lock:
                entry = self._store.get(key, _MISSING)
                if entry is not _MISSING:
                    self._store.move_to_end(key)
                    self.hits += 1
                    return entry[0]
                flight = self._flights.get(key)
                if flight is None:
                    flight = self._flights[key] = _Flight()
                    self.misses += 1
                    self.computations += 1
                    mine = True
                else:
                    if flight.owner == threading.get_ident():
                        raise RuntimeError(f"{key!r} is being computed by this thread already "
                                           f"(a computation asked for its own result)")
                    self.waits += 1
                    mine = False
            if mine:
                return self._compute(key, make, flight)
            flight.done.wait()
            if flight.abandoned:
                continue  # the computer was stopped (not failed): compute it here
            if flight.error is not None:
                raise flight.error
            return flight.value

    def _compute(self, key: Hashable, make: Callable[[], Any], flight: _Flight) -> Any:
        try:
            value = make()
        except Exception as err:
            flight.error = err
            self._land(key, flight)
            raise
        except BaseException:
            flight.abandoned = True
            self._land(key, flight)
            raise
        size = int(self._sizer(value))
        with self._lock:
            self._insert(key, value, size)
            flight.value = value
            del self._flights[key]
        flight.done.set()
        return value

    def _land(self, key: Hashable, flight: _Flight) -> None:
        with self._lock:
            self._flights.pop(key, None)
        flight.done.set()


_PROCESS: SharedCache | None = None
_PROCESS_LOCK = threading.Lock()


def process_cache() -> SharedCache:
    """The one cache of this process (created on first use, bounded by DESCENT_LAB_CACHE_MB)."""
    global _PROCESS
    if _PROCESS is None:
        with _PROCESS_LOCK:
            if _PROCESS is None:
                _PROCESS = SharedCache()
    return _PROCESS
