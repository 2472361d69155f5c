"""The class store: one small interface, two backends. SQLite (the default: one file in a data
directory, WAL mode, shared by every replica on one machine) and Redis (DESCENT_LAB_STORE=
redis://HOST:PORT/DB, shared by replicas on several machines). Classes expire and their data is
deleted: SQLite sweeps on writes, Redis lets keys EXPIRE."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

# A class outlives a school day's lessons, and then goes: nobody's answers are kept for long.
DEFAULT_TTL_HOURS = 12.0
# SQLite's expired classes are deleted at most this often per process (a sweep is a full scan).
SWEEP_EVERY_S = 60.0
# A busy SQLite file (another replica writing) is waited for this long before giving up.
SQLITE_BUSY_MS = 5000
# Redis calls fail fast: a class page must go on as a normal page, not hang.
REDIS_TIMEOUT_S = 2.0


class StoreUnavailable(RuntimeError):
    """The store cannot be reached (or written); the message says which and why."""


def data_dir() -> Path:
    """Where the SQLite file lives: $DESCENT_LAB_DATA, else ./.data beside the app (ignored by git)."""
    chosen = os.environ.get("DESCENT_LAB_DATA")
    return Path(chosen) if chosen else Path(__file__).resolve().parent.parent / ".data"


def ttl_seconds() -> float:
    """How long a class lives after its last write: $DESCENT_LAB_CLASS_HOURS hours, default 12."""
    try:
        hours = float(os.environ.get("DESCENT_LAB_CLASS_HOURS", DEFAULT_TTL_HOURS))
    except ValueError:
        hours = DEFAULT_TTL_HOURS
    return max(60.0, hours * 3600.0) if hours == hours else DEFAULT_TTL_HOURS * 3600.0


class Store:
    """A class is a JSON state with a version (compare-and-set), a set of joined students, and
    per question a map student → answer (JSON). Every call may raise StoreUnavailable."""

    def create(self, code: str, state: dict) -> bool:
        """Store a new class at version 1; False if the code is taken."""
        raise NotImplementedError

    def load(self, code: str) -> tuple[dict, int] | None:
        """(state, version), or None for no such (or an expired) class."""
        raise NotImplementedError

    def replace(self, code: str, version: int, state: dict) -> bool:
        """Write `state` as version+1 if the stored version is still `version`."""
        raise NotImplementedError

    def join(self, code: str, student: str) -> int:
        """Add a student (idempotent); returns how many have joined."""
        raise NotImplementedError

    def joined(self, code: str) -> int:
        raise NotImplementedError

    def answer(self, code: str, question: str, student: str, value: Any) -> None:
        """A student's answer to a question; a new one replaces the old."""
        raise NotImplementedError

    def answers(self, code: str, question: str) -> dict[str, Any]:
        raise NotImplementedError

    def count(self, code: str, question: str) -> int:
        raise NotImplementedError

    def ping(self) -> None:
        raise NotImplementedError


class SQLiteStore(Store):
    """One SQLite file in WAL mode: readers never wait for the writer, and every process on the
    machine (every replica) sees the same classes. One connection per thread."""

    def __init__(self, path: str | os.PathLike[str] | None = None, ttl: float | None = None):
        self.path = Path(path) if path is not None else data_dir() / "classes.sqlite3"
        self.ttl = ttl_seconds() if ttl is None else float(ttl)
        self._local = threading.local()
        self._last_sweep = 0.0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._db() as db:
                db.executescript("""
                    CREATE TABLE IF NOT EXISTS classes (
                        code TEXT PRIMARY KEY, state TEXT NOT NULL, version INTEGER NOT NULL,
                        expires REAL NOT NULL);
                    CREATE TABLE IF NOT EXISTS students (
                        code TEXT NOT NULL, student TEXT NOT NULL, PRIMARY KEY (code, student));
                    CREATE TABLE IF NOT EXISTS answers (
                        code TEXT NOT NULL, question TEXT NOT NULL, student TEXT NOT NULL,
                        value TEXT NOT NULL, PRIMARY KEY (code, question, student));
                    CREATE INDEX IF NOT EXISTS classes_expires ON classes (expires);
                """)
        except (OSError, sqlite3.Error) as err:
            raise StoreUnavailable(f"The class store file {self.path} cannot be opened: {err}") from err

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            try:
                db = sqlite3.connect(self.path, timeout=SQLITE_BUSY_MS / 1000, isolation_level=None,
                                     check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                # WAL with synchronous=NORMAL survives a process crash; only a power cut can lose
                # the last commits.
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
            except (OSError, sqlite3.Error) as err:
                raise StoreUnavailable(f"The class store file {self.path} cannot be opened: {err}") from err
            self._local.db = db
        return db

    def _run(self, sql: str, args: tuple = (), *, many: bool = False, write: bool = False):
        try:
            db = self._db()
            if write:
                self._maybe_sweep(db)
            cur = db.execute(sql, args)
            return cur.fetchall() if not write else cur.rowcount
        except sqlite3.Error as err:
            raise StoreUnavailable(f"The class store ({self.path}) failed: {err}") from err

    def _maybe_sweep(self, db: sqlite3.Connection) -> None:
        now = time.time()
        if now - self._last_sweep < SWEEP_EVERY_S:
            return
        self._last_sweep = now
        self.sweep(now)

    def sweep(self, now: float | None = None) -> int:
        """Delete every expired class with its students and answers; returns how many classes."""
        now = time.time() if now is None else now
        try:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                gone = [row[0] for row in db.execute(
                    "SELECT code FROM classes WHERE expires < ?", (now,))]
                for table in ("answers", "students", "classes"):
                    db.executemany(f"DELETE FROM {table} WHERE code = ?", [(c,) for c in gone])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return len(gone)
        except sqlite3.Error as err:
            raise StoreUnavailable(f"The class store ({self.path}) failed: {err}") from err

    def _alive(self, code: str) -> bool:
        return bool(self._run("SELECT 1 FROM classes WHERE code = ? AND expires >= ?",
                              (code, time.time())))

    def create(self, code, state):
        self._run("DELETE FROM classes WHERE code = ? AND expires < ?", (code, time.time()), write=True)
        try:
            self._db().execute("INSERT INTO classes VALUES (?, ?, 1, ?)",
                               (code, json.dumps(state), time.time() + self.ttl))
            return True
        except sqlite3.IntegrityError:
            return False
        except sqlite3.Error as err:
            raise StoreUnavailable(f"The class store ({self.path}) failed: {err}") from err

    def load(self, code):
        rows = self._run("SELECT state, version FROM classes WHERE code = ? AND expires >= ?",
                         (code, time.time()))
        return (json.loads(rows[0][0]), int(rows[0][1])) if rows else None

    def replace(self, code, version, state):
        return self._run(
            "UPDATE classes SET state = ?, version = version + 1, expires = ? "
            "WHERE code = ? AND version = ? AND expires >= ?",
            (json.dumps(state), time.time() + self.ttl, code, int(version), time.time()),
            write=True) == 1

    def join(self, code, student):
        if not self._alive(code):
            return 0
        self._run("INSERT OR IGNORE INTO students VALUES (?, ?)", (code, student), write=True)
        return self.joined(code)

    def joined(self, code):
        return int(self._run("SELECT COUNT(*) FROM students WHERE code = ?", (code,))[0][0])

    def answer(self, code, question, student, value):
        self._run("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?)",
                  (code, question, student, json.dumps(value)), write=True)

    def answers(self, code, question):
        return {s: json.loads(v) for s, v in self._run(
            "SELECT student, value FROM answers WHERE code = ? AND question = ?", (code, question))}

    def count(self, code, question):
        return int(self._run("SELECT COUNT(*) FROM answers WHERE code = ? AND question = ?",
                             (code, question))[0][0])

    def ping(self):
        self._run("SELECT 1")


# Compare-and-set in one step on the server: Redis runs a script atomically.
_REPLACE = """
local v = redis.call('HGET', KEYS[1], 'version')
if not v or tonumber(v) ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'version', tonumber(v) + 1)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""


class RedisStore(Store):
    """Keys dl:class:CODE (hash: state, version), …:students (set), …:answers:Q (hash student →
    answer). Every key gets the class's EXPIRE, renewed on writes, so Redis deletes it."""

    def __init__(self, url: str, ttl: float | None = None):
        import redis  # only a Redis store needs the client

        self.url = url
        self.ttl = int(ttl_seconds() if ttl is None else ttl)
        self._errors = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                        redis.exceptions.ResponseError, redis.exceptions.BusyLoadingError)
        try:
            self.r = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_S,
                                          socket_connect_timeout=REDIS_TIMEOUT_S,
                                          health_check_interval=30)
        except ValueError as err:
            raise StoreUnavailable(f"DESCENT_LAB_STORE is not a Redis URL: {err}") from err
        self._replace = self.r.register_script(_REPLACE)

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except self._errors as err:
            raise StoreUnavailable(f"The class store (Redis at {self._where()}) cannot be reached: {err}") from err

    def _where(self) -> str:
        kw = self.r.connection_pool.connection_kwargs
        return f"{kw.get('host', '?')}:{kw.get('port', '?')}/{kw.get('db', 0)}"

    @staticmethod
    def _key(code: str, *rest: str) -> str:
        return ":".join(("dl:class", code) + rest)

    def create(self, code, state):
        key = self._key(code)

        def go():
            pipe = self.r.pipeline()
            pipe.hsetnx(key, "state", json.dumps(state))
            pipe.hsetnx(key, "version", 1)
            pipe.expire(key, self.ttl)
            made, _, _ = pipe.execute()
            return bool(made)
        return self._call(go)

    def load(self, code):
        got = self._call(self.r.hmget, self._key(code), "state", "version")
        if got[0] is None or got[1] is None:
            return None
        return json.loads(got[0]), int(got[1])

    def replace(self, code, version, state):
        return bool(self._call(self._replace, [self._key(code)],
                               [int(version), json.dumps(state), self.ttl]))

    def _exists(self, code):
        return bool(self._call(self.r.exists, self._key(code)))

    def join(self, code, student):
        if not self._exists(code):
            return 0
        key = self._key(code, "students")

        def go():
            pipe = self.r.pipeline()
            pipe.sadd(key, student)
            pipe.expire(key, self.ttl)
            pipe.scard(key)
            return int(pipe.execute()[-1])
        return self._call(go)

    def joined(self, code):
        return int(self._call(self.r.scard, self._key(code, "students")))

    def answer(self, code, question, student, value):
        key = self._key(code, "answers", question)

        def go():
            pipe = self.r.pipeline()
            pipe.hset(key, student, json.dumps(value))
            pipe.expire(key, self.ttl)
            pipe.execute()
        self._call(go)

    def answers(self, code, question):
        raw = self._call(self.r.hgetall, self._key(code, "answers", question))
        return {k.decode(): json.loads(v) for k, v in raw.items()}

    def count(self, code, question):
        return int(self._call(self.r.hlen, self._key(code, "answers", question)))

    def ping(self):
        self._call(self.r.ping)


_STORES: dict[str, Store] = {}
_STORES_LOCK = threading.Lock()


def open_store(url: str | None = None) -> Store:
    """The store that $DESCENT_LAB_STORE names (redis://…), else the SQLite file in the data
    directory; one per process and URL. Raises StoreUnavailable."""
    url = os.environ.get("DESCENT_LAB_STORE", "") if url is None else url
    where = url or str(data_dir())
    with _STORES_LOCK:
        store = _STORES.get(where)
        if store is None:
            if url.startswith(("redis://", "rediss://", "unix://")):
                store = RedisStore(url)
            elif url.startswith("sqlite:///"):
                store = SQLiteStore(url[len("sqlite:///"):])  # sqlite:////abs/path is absolute
            elif url:
                raise StoreUnavailable(f"DESCENT_LAB_STORE={url!r} is neither redis://HOST:PORT/DB "
                                       "nor sqlite:///PATH")
            else:
                store = SQLiteStore()
            _STORES[where] = store
    return store
