"""The class store against real servers: an SQLite file and a redis-server started here, through
one interface (classroom.store)."""

from __future__ import annotations

import multiprocessing
import time

import pytest

import classroom_redis
from classroom_redis import make_store, redis_url  # noqa: F401  (fixtures)
from classroom.store import RedisStore, SQLiteStore, StoreUnavailable, open_store


def test_create_load_and_compare_and_set(make_store):
    store = make_store()
    assert store.create("ABC", {"phase": "waiting"})
    assert not store.create("ABC", {"phase": "other"}), "a taken code is not overwritten"
    assert store.load("ABC") == ({"phase": "waiting"}, 1)
    assert store.load("NOPE") is None
    assert store.replace("ABC", 1, {"phase": "asking"})
    assert not store.replace("ABC", 1, {"phase": "stale"}), "a stale version must not win"
    assert store.load("ABC") == ({"phase": "asking"}, 2)


def test_join_is_idempotent_and_counts(make_store):
    store = make_store()
    store.create("C1", {})
    assert store.join("C1", "s1") == 1
    assert store.join("C1", "s2") == 2
    assert store.join("C1", "s1") == 2
    assert store.joined("C1") == 2
    assert store.join("NOCLASS", "s1") == 0, "nobody joins a class that does not exist"


def test_one_answer_per_student_per_question(make_store):
    store = make_store()
    store.create("C2", {})
    store.answer("C2", "q1", "s1", [0.5, 1.0])
    store.answer("C2", "q1", "s2", [1.5, -1.0])
    store.answer("C2", "q1", "s1", [2.0, 2.0])  # replaces
    store.answer("C2", "q2", "s1", "diverges")
    assert store.answers("C2", "q1") == {"s1": [2.0, 2.0], "s2": [1.5, -1.0]}
    assert store.count("C2", "q1") == 2
    assert store.answers("C2", "q2") == {"s1": "diverges"}


def test_classes_expire_and_their_data_is_deleted(make_store):
    store = make_store(ttl=1)
    store.create("OLD", {"x": 1})
    store.join("OLD", "s1")
    store.answer("OLD", "q", "s1", 3)
    deadline = 60  # polls of 0.1 s: the expiry is one second, bounded by a count not a time
    while store.load("OLD") is not None and deadline:
        time.sleep(0.1)
        deadline -= 1
    assert store.load("OLD") is None
    if isinstance(store, SQLiteStore):
        assert store.sweep() == 1
        rows = store._run("SELECT COUNT(*) FROM answers")[0][0] + store._run(
            "SELECT COUNT(*) FROM students")[0][0]
        assert rows == 0, "a swept class leaves no answers or students behind"
    else:
        while (store.r.exists("dl:class:OLD:students") or store.r.exists("dl:class:OLD:answers:q")) and deadline:
            time.sleep(0.1)
            deadline -= 1
        assert store.r.keys("dl:class:OLD*") == []
    assert store.create("OLD", {"x": 2}), "an expired code can be used again"


def _answer_many(path: str, who: int, n: int) -> None:
    store = SQLiteStore(path)
    for i in range(n):
        store.join("SHARED", f"p{who}-{i}")
        store.answer("SHARED", "q", f"p{who}-{i}", i)


def test_sqlite_is_shared_by_processes(tmp_path):
    """Replicas are processes: four of them write at once into one WAL file and nothing is lost."""
    path = tmp_path / "classes.sqlite3"
    store = SQLiteStore(path)
    store.create("SHARED", {})
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_answer_many, args=(str(path), who, 50)) for who in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0
    assert store.count("SHARED", "q") == 200
    assert store.joined("SHARED") == 200
    assert store._run("PRAGMA journal_mode")[0][0] == "wal"


def test_unreachable_stores_say_so(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreUnavailable, match="cannot be opened"):
        SQLiteStore(blocker / "classes.sqlite3")
    dead = RedisStore(f"redis://127.0.0.1:{classroom_redis.free_port()}/0")
    with pytest.raises(StoreUnavailable, match="cannot be reached"):
        dead.load("ABC")
    with pytest.raises(StoreUnavailable, match="neither"):
        open_store("http://example.invalid/")


def test_open_store_follows_the_environment(tmp_path, monkeypatch, redis_url):
    monkeypatch.setenv("DESCENT_LAB_DATA", str(tmp_path / "data"))
    sqlite_store = open_store("")
    assert isinstance(sqlite_store, SQLiteStore)
    assert sqlite_store.path == tmp_path / "data" / "classes.sqlite3"
    monkeypatch.setenv("DESCENT_LAB_STORE", redis_url)
    redis_store = open_store()
    assert isinstance(redis_store, RedisStore)
    redis_store.ping()
