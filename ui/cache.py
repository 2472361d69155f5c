"""The page's cache: finished runs, η sets, sweeps, basins, races, network results, surface grids
and encoded view messages, each under (kind, key), where the key is everything the value depends
on. The values live in the process-wide lab.shared_cache (bounded in bytes, least recently used
out first, one computation per key however many sessions ask at once), so every session of the
server shares them. Values are shared: never change one in place.

What a session brought itself stays in that session: runs loaded from a saved file go to a small
session store (put_session) that this session reads first; while it holds any, the views built
from runs (DERIVED) are kept there too, so another session never sees a file's runs."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Hashable

import streamlit as st

from lab.shared_cache import SharedCache, process_cache

_LOCAL_KEY = "lab_cache_local"
LOCAL_CAPACITY = 32  # values a session keeps for itself (runs loaded from a file, their views)
# Kinds built from a session's runs: private to a session that loaded runs from a file.
DERIVED = frozenset({"lr-paths", "view-wire", "view-message"})
_MISSING = object()


def shared() -> SharedCache:
    """The process's cache (one per server process, shared by every session)."""
    return process_cache()


def _local() -> OrderedDict | None:
    return st.session_state.get(_LOCAL_KEY)


def _private(kind: str) -> bool:
    local = _local()
    return bool(local) and kind in DERIVED and any(k[0] == "run" for k in local)


def _local_get(kind: str, key: Hashable) -> Any:
    local = _local()
    if not local:
        return _MISSING
    full = (kind, key)
    if full not in local:
        return _MISSING
    local.move_to_end(full)
    return local[full]


def get(kind: str, key: Hashable, default: Any = None) -> Any:
    value = _local_get(kind, key)
    if value is not _MISSING:
        return value
    return shared().get((kind, key), default)


def has(kind: str, key: Hashable) -> bool:
    return _local_get(kind, key) is not _MISSING or (kind, key) in shared()


def put_session(kind: str, key: Hashable, value: Any) -> Any:
    """Keep `value` for this session only (read before the shared cache)."""
    local = st.session_state.setdefault(_LOCAL_KEY, OrderedDict())
    local[(kind, key)] = value
    local.move_to_end((kind, key))
    while len(local) > LOCAL_CAPACITY:
        local.popitem(last=False)
    return value


def put(kind: str, key: Hashable, value: Any) -> Any:
    if _private(kind):
        return put_session(kind, key, value)
    return shared().put((kind, key), value)


def cached(kind: str, key: Hashable, make: Callable[[], Any]) -> Any:
    """The cached value, or make() it and keep it: one session computes a missing key, the others
    asking for it at the same time wait for that value."""
    value = _local_get(kind, key)
    if value is not _MISSING:
        return value
    if _private(kind):
        return put_session(kind, key, make())
    return shared().get_or_compute((kind, key), make)
