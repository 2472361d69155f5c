"""Start Debian's redis-server on a free loopback port in a temporary directory, for the class
store's tests and benchmarks; stopped in `finally`. Skips (never under CI=true) without the binary."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def available() -> str | None:
    """None if redis-server can run here, else why not."""
    if not os.path.exists(REDIS_SERVER):
        return f"{REDIS_SERVER} is missing (apt-get install redis-server)"
    return None


class RedisServer:
    """One redis-server process; `stop()` and `start()` again on the same port and directory
    restart it (with `persist`, an append-only file keeps what was written)."""

    def __init__(self, workdir: str, persist: bool = False):
        self.port = free_port()
        self.workdir = workdir
        self.persist = persist
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.workdir,
                "--save", "", "--daemonize", "no", "--logfile", os.path.join(self.workdir, "redis.log")]
        args += (["--appendonly", "yes", "--appendfsync", "always"] if self.persist
                 else ["--appendonly", "no"])
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT)
        for _ in range(200):  # up to ~10 s, bounded by a count
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not answer PING")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


@contextlib.contextmanager
def redis_server(persist: bool = False) -> Iterator[RedisServer]:
    with tempfile.TemporaryDirectory(prefix="descent-redis-") as workdir:
        server = RedisServer(workdir, persist)
        try:
            server.start()
            yield server
        finally:
            server.stop()


def skip_or_fail(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"Redis tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


# Fixtures, imported by the test modules that use them.
@pytest.fixture(scope="module")
def redis_url():
    reason = available()
    if reason:
        skip_or_fail(reason)
    with redis_server() as server:
        yield server.url


@pytest.fixture(params=["sqlite", "redis"])
def make_store(request, tmp_path):
    """A factory over both backends: make_store(ttl=None) opens a fresh store (Redis: the
    module's server, emptied after the test)."""
    from classroom.store import RedisStore, SQLiteStore

    made = []

    def make(ttl=None):
        if request.param == "sqlite":
            store = SQLiteStore(tmp_path / "classes.sqlite3", ttl=ttl)
        else:
            store = RedisStore(request.getfixturevalue("redis_url"), ttl=ttl)
        made.append(store)
        return store
    yield make
    for store in made:
        if isinstance(store, RedisStore):
            store.r.flushdb()
