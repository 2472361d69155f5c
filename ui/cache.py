"""The one session cache: finished runs, sweeps, basins, races and network results, each under
(kind, key), where the key is everything the value depends on. One bound and one eviction rule:
at most CAPACITY values, the least recently used goes first."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Hashable

import streamlit as st

CAPACITY = 64
_STATE_KEY = "lab_cache"


def _store() -> OrderedDict:
    return st.session_state.setdefault(_STATE_KEY, OrderedDict())


def get(kind: str, key: Hashable, default: Any = None) -> Any:
    store = _store()
    full = (kind, key)
    if full not in store:
        return default
    store.move_to_end(full)
    return store[full]


def has(kind: str, key: Hashable) -> bool:
    return (kind, key) in _store()


def put(kind: str, key: Hashable, value: Any) -> Any:
    store = _store()
    store[(kind, key)] = value
    store.move_to_end((kind, key))
    while len(store) > CAPACITY:
        store.popitem(last=False)
    return value


def cached(kind: str, key: Hashable, make: Callable[[], Any]) -> Any:
    """The cached value, or make() it and keep it."""
    full = (kind, key)
    if full in _store():
        return get(kind, key)
    return put(kind, key, make())
