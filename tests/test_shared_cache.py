"""The process-wide cache (lab.shared_cache): its byte bound and LRU order, one computation for
many threads asking at once, errors handed to every waiter and never cached, and, through the
page, that sessions share config-only results but never one session's uploaded data."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from lab.shared_cache import ENV_MB, SharedCache, bound_from_env, estimate_size

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def array(kb: int) -> np.ndarray:
    return np.zeros(kb * 1024 // 8)


# --- sizes and the bound ------------------------------------------------------------------------


def test_sizes_count_array_buffers_bytes_and_nested_containers_once():
    a = array(100)
    assert 100 * 1024 <= estimate_size(a) < 101 * 1024
    assert 50_000 <= estimate_size(b"x" * 50_000) < 51_000
    nested = {"a": [a, (a, a[:10])], "b": {"c": b"y" * 1000}}  # the same buffer three times
    assert 101 * 1024 < estimate_size(nested) < 103 * 1024
    two = [array(10), array(10)]
    assert estimate_size(two) > 20 * 1024
    # what belongs to the program (a function, a class, a module) is not the value's size
    assert estimate_size({"f": estimate_size, "t": SharedCache, "m": np}) < 1024


def test_the_bound_is_kept_in_bytes_and_the_least_recently_used_goes_first():
    cache = SharedCache(max_bytes=350 * 1024)
    for name in "abc":
        cache.put(name, array(100))
    assert cache.keys() == ["a", "b", "c"]
    cache.get("a")  # a is now the most recently used
    cache.put("d", array(100))
    assert cache.keys() == ["c", "a", "d"]  # b, the least recently used, went
    assert cache.nbytes <= cache.max_bytes
    assert cache.evictions >= 1


def test_a_value_larger_than_the_bound_is_returned_but_not_kept():
    cache = SharedCache(max_bytes=10 * 1024)
    cache.put("small", array(2))
    big = array(20)
    assert cache.put("big", big) is big
    assert "big" not in cache and "small" in cache
    assert cache.get_or_compute("big2", lambda: array(20)).size == big.size
    assert "big2" not in cache


def test_replacing_a_key_counts_its_bytes_once():
    cache = SharedCache(max_bytes=1 << 20)
    cache.put("k", array(100))
    cache.put("k", array(200))
    assert len(cache) == 1
    assert 200 * 1024 <= cache.nbytes < 202 * 1024


def test_a_cache_bounded_at_zero_keeps_and_shares_nothing():
    cache = SharedCache(max_bytes=0)
    calls = []
    for _ in range(3):
        cache.get_or_compute("k", lambda: calls.append(1) or [1])
    assert len(calls) == 3 and len(cache) == 0


def test_the_bound_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(ENV_MB, "3")
    assert bound_from_env() == 3 * 1024 * 1024
    monkeypatch.setenv(ENV_MB, "0")
    assert SharedCache().max_bytes == 0
    monkeypatch.setenv(ENV_MB, "many")
    assert bound_from_env() == 256 * 1024 * 1024
    monkeypatch.delenv(ENV_MB)
    assert bound_from_env() == 256 * 1024 * 1024


# --- single flight ------------------------------------------------------------------------------


def _together(n: int, work: callable) -> list:
    """Run work() in n threads started at the same barrier; their results (or exceptions)."""
    barrier = threading.Barrier(n)
    out: list = [None] * n

    def run(i):
        barrier.wait()
        try:
            out[i] = work()
        except Exception as err:  # noqa: BLE001 — the test looks at what each thread got
            out[i] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    return out


def test_many_threads_asking_for_one_key_get_one_computation():
    cache = SharedCache(max_bytes=1 << 20)
    calls = []
    started = threading.Event()
    release = threading.Event()

    def make():
        calls.append(threading.get_ident())
        started.set()
        release.wait(30)  # hold the computation until every other thread is waiting on it
        return np.arange(5.0)

    def ask():
        return cache.get_or_compute(("run", 1), make)

    n = 12
    waiting = threading.Thread(target=lambda: (started.wait(30), _wait_for(lambda: cache.waits >= n - 1),
                                               release.set()))
    waiting.start()
    results = _together(n, ask)
    waiting.join(60)
    assert len(calls) == 1
    assert cache.computations == 1 and cache.waits == n - 1
    assert all(r is results[0] for r in results)  # one object, shared
    np.testing.assert_array_equal(results[0], np.arange(5.0))
    assert cache.get_or_compute(("run", 1), make) is results[0] and len(calls) == 1


def _wait_for(condition, limit: int = 3000) -> None:
    """Spin (bounded by a count, not a time) until condition() holds."""
    event = threading.Event()
    for _ in range(limit):
        if condition():
            return
        event.wait(0.01)


def test_different_keys_compute_once_each():
    cache = SharedCache(max_bytes=1 << 20)
    turn = iter(range(9))
    lock = threading.Lock()

    def ask():
        with lock:
            key = next(turn) % 3
        return key, cache.get_or_compute(key, lambda: [key])

    out = _together(9, ask)
    assert cache.computations == 3
    assert all(value == [key] for key, value in out)


def test_an_error_reaches_every_waiter_and_is_not_cached():
    cache = SharedCache(max_bytes=1 << 20)
    calls = []
    release = threading.Event()

    def make():
        calls.append(1)
        release.wait(30)
        raise ValueError("Invalid lr: -1")

    n = 8
    helper = threading.Thread(target=lambda: (_wait_for(lambda: cache.waits >= n - 1), release.set()))
    helper.start()
    results = _together(n, lambda: cache.get_or_compute("bad", make))
    helper.join(60)
    assert len(calls) == 1
    assert all(isinstance(r, ValueError) and "Invalid lr" in str(r) for r in results)
    assert "bad" not in cache
    # the next ask computes again, and a success is kept
    assert cache.get_or_compute("bad", lambda: 42) == 42 and cache.get("bad") == 42


def test_a_stopped_computation_lets_a_waiter_compute_instead():
    """A script run stopped by its user (a BaseException, not an error) is not a failure of the
    value: a session waiting for it computes it itself."""

    class Stopped(BaseException):
        pass

    cache = SharedCache(max_bytes=1 << 20)
    release = threading.Event()
    calls = []

    def stopped():
        calls.append("stopped")
        release.wait(30)
        raise Stopped()

    got: dict = {}

    def first():
        try:
            cache.get_or_compute("k", stopped)
        except Stopped:
            got["first"] = "stopped"

    def second():
        got["second"] = cache.get_or_compute("k", lambda: calls.append("computed") or "value")

    t1 = threading.Thread(target=first)
    t1.start()
    _wait_for(lambda: bool(calls))
    t2 = threading.Thread(target=second)
    t2.start()
    _wait_for(lambda: cache.waits >= 1)
    release.set()
    t1.join(60)
    t2.join(60)
    assert got == {"first": "stopped", "second": "value"}
    assert calls == ["stopped", "computed"]


def test_a_computation_asking_for_its_own_key_is_an_error_not_a_deadlock():
    cache = SharedCache(max_bytes=1 << 20)
    with pytest.raises(RuntimeError, match="computed by this thread"):
        cache.get_or_compute("k", lambda: cache.get_or_compute("k", lambda: 1))
    assert cache.get_or_compute("k", lambda: 2) == 2


# --- through the page: sessions share the configuration's results, never a user's data -------------


def _app(query=None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=90)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def _view_runs(at) -> list[np.ndarray]:
    """Each run's weights at the η on screen, from the view's message (its path set)."""
    import base64
    import json as _json

    from ui import descent_view

    (element,) = [e for e in at.get("bidi_component") if e.proto.bytes]
    header = descent_view.decode(element.proto.bytes)
    out = []
    for run in header["paths"]["runs"]:
        ref = run["params"]
        flat = np.frombuffer(base64.b64decode(ref["bdata"]), dtype="<f4")
        out.append(flat)
    return out


def _regression_csv(slope: float, n: int = 120, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    x = rng.normal(2.0, 1.5, n)
    y = slope * x + 1.0 + rng.normal(0, 0.5, n)
    return ("x,y\n" + "\n".join(f"{float(a)!r},{float(b)!r}" for a, b in zip(x, y)) + "\n").encode()


def _config(at):
    """The session's config: its link (which names no upload: a link cannot carry data) with the
    session's uploaded surface."""
    from dataclasses import replace

    from lab.link import from_query

    config = from_query({k: at.query_params[k] for k in at.query_params})[0]
    return replace(config, surface=at.session_state["surface"])


def test_two_sessions_uploading_different_data_under_one_file_name_get_their_own_results():
    from lab import runs as lab_runs

    first, second = _app(), _app()
    first.file_uploader(key="user_csv").set_value(("data.csv", _regression_csv(-1.5), "text/csv")).run()
    second.file_uploader(key="user_csv").set_value(("data.csv", _regression_csv(2.5), "text/csv")).run()
    for at in (first, second):
        assert not at.exception, [e.value for e in at.exception]
    name_1, name_2 = first.session_state["surface"], second.session_state["surface"]
    assert name_1 != name_2  # the same file name, other rows: another surface
    runs_1, runs_2 = _view_runs(first), _view_runs(second)
    assert not np.array_equal(runs_1[0], runs_2[0], equal_nan=True)
    # each session's view shows the runs trained on its own rows
    for at, shown in ((first, runs_1), (second, runs_2)):
        config = _config(at)
        own = lab_runs.run_one(config, config.runs[0]).trajectory.params.astype(np.float32).ravel()
        assert np.isin(own, shown[0]).all()
    # and the cache keys hold the content: same name, other rows → another key
    assert lab_runs.surface_key(_config(first))[-1] != lab_runs.surface_key(_config(second))[-1]
    # the first session, run again after the second uploaded, still sees its own data
    first.run()
    assert np.array_equal(_view_runs(first)[0], runs_1[0], equal_nan=True)


def test_a_second_session_opening_the_same_lesson_trains_nothing():
    from ui import cache

    shared = cache.shared()
    _app({"lesson": "momentum-valley"})
    before = shared.computations, shared.puts
    second = _app({"lesson": "momentum-valley"})
    assert not second.exception
    assert (shared.computations, shared.puts) == before  # runs, grid, η set and the view's message: all shared
    assert shared.hits > 0


def _session(action: str, tag: str) -> None:
    """A script run of its own session: "load" keeps a run as a saved file brings it (this
    session only) and builds a view from it; "read" looks for both."""
    import streamlit as st

    from ui import cache

    if action == "load":
        cache.put_session("run", ("file", tag), "a run from this user's file")
        cache.cached("lr-paths", ("views", tag), lambda: "views made from the file's run")
    st.text(repr(cache.get("run", ("file", tag))))
    st.text(repr(cache.get("lr-paths", ("views", tag))))


def test_runs_loaded_from_a_file_and_views_made_from_them_stay_in_their_session():
    from streamlit.testing.v1 import AppTest

    from ui import cache

    tag = "saved-file-test"
    loader = AppTest.from_function(_session, args=("load", tag), default_timeout=30).run()
    assert [t.value for t in loader.text] == [repr("a run from this user's file"),
                                              repr("views made from the file's run")]
    other = AppTest.from_function(_session, args=("read", tag), default_timeout=30).run()
    assert not other.exception
    assert [t.value for t in other.text] == ["None", "None"]
    assert ("run", ("file", tag)) not in cache.shared() and ("lr-paths", ("views", tag)) not in cache.shared()
    loader.run()  # the loader keeps seeing its own
    assert loader.text[0].value == repr("a run from this user's file")
