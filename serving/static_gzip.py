"""Streamlit's own static JS/CSS served gzipped, each file compressed once per process.

Streamlit serves `/static/` uncompressed on purpose (starlette_gzip_middleware._should_bypass_gzip):
Starlette's GZipMiddleware would compress the same bytes again on every request. A first visit
still moves about 3.5 MB of Streamlit's JavaScript and CSS, which a class on school Wi-Fi pays 30
times over. This middleware compresses each hashed asset the first time a browser asks for it
(in a worker thread, once even when many ask at once), keeps the gzip in memory (bounded, least
recently used out first), and serves those bytes to clients that accept gzip. Everything else goes
on to Streamlit unchanged: other methods and paths, Range requests, clients without gzip, files
Streamlit serves no-cache (index.html, manifest.json), small files, files that do not shrink, and
anything that is not one of the static directory's own regular files.

Wire it with `st.App(..., middleware=static_gzip.middleware())`; `precompress_index()` compresses
the files index.html names, for the warm-up.

Only files found by walking Streamlit's static directory once are ever served (a whitelist of
exact relative paths; symlinks whose target leaves the directory are left out), so a request path
with `..`, an encoded traversal or a doubled slash never names one: it falls through to
Streamlit, whose path security answers it.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
import mimetypes
import os
import re
import stat
import threading
import time
from collections import Counter, OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from starlette.concurrency import run_in_threadpool

LOG = logging.getLogger("descent_lab.static_gzip")

# Text types only: the fonts and images of /static/media are compressed already.
SUFFIXES = frozenset({".js", ".mjs", ".css", ".json", ".svg", ".map", ".txt"})
# Below this a gzip header and a round trip's worth of overhead make it not worth a cache entry.
MIN_SIZE = 1024
# Level 9: paid once per file per process; about 3 % smaller than level 6 on Streamlit's JS.
GZIP_LEVEL = 9
# The in-memory gzip cache's bound. All of Streamlit's JS/CSS gzipped is about 6 MB.
MAX_CACHE_BYTES = 32 * 1024 * 1024
STATIC_PREFIX = "static/"

try:  # the same test Streamlit's static handler makes (starlette_static_routes.py)
    from streamlit.web.server.starlette.starlette_static_routes import _NO_CACHE_PATTERN
except ImportError:  # pragma: no cover - a Streamlit that moved it; same pattern as 1.67
    _NO_CACHE_PATTERN = re.compile(r"(?:\.html$|^manifest\.json$)")
try:
    from streamlit.web.server.starlette.starlette_server_config import (
        STATIC_ASSET_CACHE_MAX_AGE_SECONDS as _MAX_AGE,
    )
except ImportError:  # pragma: no cover
    _MAX_AGE = 365 * 24 * 60 * 60
# What Streamlit sends for a hashed asset (_apply_cache_headers), byte for byte.
CACHE_CONTROL = f"public, immutable, max-age={_MAX_AGE}"


def streamlit_cache_control(rel: str) -> str:
    """The Cache-Control Streamlit's static handler gives the file `rel` (relative to the static
    directory, e.g. "static/js/index.abc.js")."""
    normalized = rel.replace("\\", "/").lstrip("./")
    return "no-cache" if not normalized or _NO_CACHE_PATTERN.search(normalized) else CACHE_CONTROL


def _content_type(path: str) -> str:
    """Content-Type as Starlette's FileResponse builds it for Streamlit (mimetypes, then a utf-8
    charset for text/*)."""
    media_type = mimetypes.guess_type(path)[0] or "text/plain"
    if media_type.startswith("text/") and "charset=" not in media_type.lower():
        media_type += "; charset=utf-8"
    return media_type


@dataclass(frozen=True)
class FileInfo:
    """One servable file: its real path, size, and the headers of its gzip response."""

    rel: str
    path: str
    size: int
    etag: str
    content_type: str


@dataclass(frozen=True)
class Entry:
    """A compressed file (gz is None: it does not shrink, so Streamlit serves it as it is)."""

    info: FileInfo
    gz: bytes | None


# --- Accept-Encoding, If-None-Match --------------------------------------------------------------


def accepts_gzip(header: str) -> bool:
    """Whether an Accept-Encoding value allows gzip (RFC 9110 §12.5.3): `gzip` (or `x-gzip`) with
    q > 0, or `*` with q > 0 when gzip is not named. `gzip;q=0` is a no."""
    named: float | None = None
    star: float | None = None
    for part in header.split(","):
        coding, *params = part.split(";")
        coding = coding.strip().lower()
        if not coding:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0  # an unreadable weight is not a yes
        if coding in ("gzip", "x-gzip"):
            named = q if named is None else max(named, q)
        elif coding == "*":
            star = q
    if named is not None:
        return named > 0
    return star is not None and star > 0


def etag_matches(header: str, etag: str) -> bool:
    """If-None-Match's weak comparison: `*`, or any listed tag equal to `etag` ignoring W/."""
    if header.strip() == "*":
        return True
    want = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == want for tag in header.split(","))


# --- The store: whitelist of files, gzip cache, single flight ----------------------------------


class GzipStore:
    """The static directory's servable files and their gzips, compressed once each (thread-safe;
    two callers asking for the same file at once share one compression)."""

    def __init__(self, static_dir: str | os.PathLike[str] | None = None,
                 max_bytes: int = MAX_CACHE_BYTES, level: int = GZIP_LEVEL,
                 min_size: int = MIN_SIZE) -> None:
        self._static_dir = static_dir
        self.max_bytes = max_bytes
        self.level = level
        self.min_size = min_size
        self._lock = threading.Lock()
        self._files: dict[str, FileInfo] | None = None
        self._cache: OrderedDict[str, Entry] = OrderedDict()
        self._cached_bytes = 0
        self._no_gain: dict[str, Entry] = {}
        self._inflight: dict[str, Future] = {}
        # The counters the tests read: compressions made, per file and in all.
        self.compressions: Counter[str] = Counter()
        self.evictions = 0

    # The whitelist.

    @property
    def static_dir(self) -> str:
        if self._static_dir is None:
            from streamlit import file_util

            self._static_dir = file_util.get_static_dir()
        return os.fspath(self._static_dir)

    def _walk(self) -> dict[str, FileInfo]:
        root = os.path.realpath(self.static_dir)
        files: dict[str, FileInfo] = {}
        top = os.path.join(root, STATIC_PREFIX.rstrip("/"))
        for folder, _dirs, names in os.walk(top):  # does not descend into symlinked folders
            for name in names:
                full = os.path.join(folder, name)
                rel = os.path.relpath(full, root).replace(os.sep, "/")
                if os.path.splitext(name)[1].lower() not in SUFFIXES:
                    continue
                if streamlit_cache_control(rel) != CACHE_CONTROL:
                    continue  # Streamlit serves it no-cache: not ours
                real = os.path.realpath(full)
                if os.path.commonpath([root, real]) != root:
                    continue  # a symlink out of the static directory
                try:
                    found = os.stat(real)
                except OSError:
                    continue
                if not stat.S_ISREG(found.st_mode) or found.st_size < self.min_size:
                    continue
                tag = hashlib.blake2b(f"{rel}|{found.st_size}|{found.st_mtime_ns}|{self.level}".encode(),
                                      digest_size=9).hexdigest()
                files[rel] = FileInfo(rel=rel, path=real, size=found.st_size, etag=f'"{tag}-gzip"',
                                      content_type=_content_type(full))
        return files

    def files(self) -> dict[str, FileInfo]:
        """The servable files by relative path ("static/js/x.js"), found on first call."""
        if self._files is None:
            found = self._walk()
            with self._lock:
                if self._files is None:
                    self._files = found
        return self._files

    @property
    def indexed(self) -> bool:
        return self._files is not None

    def lookup(self, rel: str) -> FileInfo | None:
        return self.files().get(rel)

    # The cache.

    def cached(self, rel: str) -> Entry | None:
        """The entry if it is ready (a cache hit counts as a use for the LRU order)."""
        with self._lock:
            entry = self._cache.get(rel)
            if entry is not None:
                self._cache.move_to_end(rel)
                return entry
            return self._no_gain.get(rel)

    def _claim(self, rel: str) -> tuple[Entry | None, Future | None, bool]:
        with self._lock:
            entry = self._cache.get(rel)
            if entry is not None:
                self._cache.move_to_end(rel)
                return entry, None, False
            if rel in self._no_gain:
                return self._no_gain[rel], None, False
            future = self._inflight.get(rel)
            if future is not None:
                return None, future, False
            future = Future()
            self._inflight[rel] = future
            return None, future, True

    def _fill(self, info: FileInfo, future: Future) -> None:
        """Compress `info`'s file, store it, and settle `future` (always)."""
        try:
            with open(info.path, "rb") as handle:
                raw = handle.read()
            gz = gzip.compress(raw, self.level, mtime=0)  # mtime=0: the same bytes every start
            with self._lock:
                self.compressions[info.rel] += 1
                if len(gz) >= len(raw) or len(gz) > self.max_bytes:
                    entry = Entry(info, None)
                    self._no_gain[info.rel] = entry
                else:
                    entry = Entry(info, gz)
                    while self._cache and self._cached_bytes + len(gz) > self.max_bytes:
                        _, old = self._cache.popitem(last=False)
                        self._cached_bytes -= len(old.gz)
                        self.evictions += 1
                    self._cache[info.rel] = entry
                    self._cached_bytes += len(gz)
                self._inflight.pop(info.rel, None)
            future.set_result(entry)
        except BaseException as err:
            with self._lock:
                self._inflight.pop(info.rel, None)
            future.set_exception(err)
            if not isinstance(err, Exception):
                raise

    def get(self, info: FileInfo) -> Entry:
        """The entry for `info`, compressing in this thread if nobody else is (blocking)."""
        entry, future, owner = self._claim(info.rel)
        if entry is not None:
            return entry
        if owner:
            self._fill(info, future)
        return future.result()

    async def get_async(self, info: FileInfo) -> Entry:
        """The entry for `info`; the compression runs in a worker thread, and the requests that
        arrive meanwhile wait for it without holding a thread."""
        entry, future, owner = self._claim(info.rel)
        if entry is not None:
            return entry
        if owner:
            await run_in_threadpool(self._fill, info, future)
        return await asyncio.wrap_future(future)

    def stats(self) -> dict:
        with self._lock:
            return {"compressions": sum(self.compressions.values()),
                    "per_file": dict(self.compressions), "cached_files": len(self._cache),
                    "cached_bytes": self._cached_bytes, "no_gain": sorted(self._no_gain),
                    "evictions": self.evictions, "max_bytes": self.max_bytes}


STORE = GzipStore()


def stats() -> dict:
    """The process's counters: compressions (in all and per file), cache size, evictions."""
    return STORE.stats()


# --- The middleware -------------------------------------------------------------------------------


def _strip_segment_prefix(path: str, prefix: str) -> str | None:
    """`path` without the leading segment(s) `prefix`; None when it does not start with them."""
    if not prefix:
        return path
    if path == prefix:
        return "/"
    if path.startswith(prefix + "/"):
        return path[len(prefix):]
    return None


def _has_bad_segment(rel: str) -> bool:
    return "\\" in rel or "\x00" in rel or any(seg in ("", ".", "..") for seg in rel.split("/"))


class StaticGzipMiddleware:
    """Pure ASGI middleware: GET/HEAD of a hashed text asset under <baseUrlPath>/static/, from a
    client that accepts gzip, is answered with the asset's cached gzip; all else goes on."""

    def __init__(self, app, *, store: GzipStore | None = None, base_url: str | None = None) -> None:
        self.app = app
        self.store = store or STORE
        if base_url is None:
            from streamlit import config

            base_url = config.get_option("server.baseUrlPath") or ""
        base = base_url.strip("/")
        self._base = f"/{base}" if base else ""

    def _relative(self, scope) -> str | None:
        """The request's path relative to the static directory ("static/js/x.js"), or None."""
        path = scope.get("path", "")
        root_path = scope.get("root_path", "")
        if root_path:  # mounted inside another ASGI app (as Streamlit's _route_path does)
            stripped = _strip_segment_prefix(path, root_path.rstrip("/"))
            path = path if stripped is None else stripped
        path = _strip_segment_prefix(path, self._base)
        if path is None or not path.startswith("/" + STATIC_PREFIX):
            return None
        rel = path[1:]
        if _has_bad_segment(rel):
            return None
        from streamlit.path_security import is_unsafe_path_pattern

        return None if is_unsafe_path_pattern(rel) else rel

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        rel = self._relative(scope)
        if rel is None:
            await self.app(scope, receive, send)
            return
        accept, if_none_match, ranged = [], [], False
        for name, value in scope.get("headers", ()):
            if name == b"accept-encoding":
                accept.append(value.decode("latin-1"))
            elif name == b"if-none-match":
                if_none_match.append(value.decode("latin-1"))
            elif name == b"range":
                ranged = True
        if not self.store.indexed:
            await run_in_threadpool(self.store.files)
        info = self.store.lookup(rel)
        if info is None:
            await self.app(scope, receive, send)
            return
        entry = self.store.cached(rel)
        if entry is not None and entry.gz is None:
            await self.app(scope, receive, send)  # it does not shrink: one form only
            return
        if ranged or not accepts_gzip(",".join(accept)):
            # Streamlit's own answer, marked as one of two forms so that a shared cache keeps
            # the identity form for clients without gzip only.
            await self.app(scope, receive, _with_vary(send))
            return
        headers = [(b"cache-control", CACHE_CONTROL.encode()), (b"etag", info.etag.encode()),
                   (b"vary", b"Accept-Encoding")]
        if if_none_match and etag_matches(",".join(if_none_match), info.etag):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        if entry is None:
            try:
                entry = await self.store.get_async(info)
            except Exception:  # noqa: BLE001 - e.g. the file went away: Streamlit answers
                LOG.warning("could not gzip %s; serving it as Streamlit does", rel, exc_info=True)
                entry = None
            if entry is None or entry.gz is None:
                await self.app(scope, receive, send)
                return
        body = entry.gz
        headers += [(b"content-type", info.content_type.encode("latin-1")),
                    (b"content-encoding", b"gzip"),
                    (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body",
                    "body": b"" if scope["method"] == "HEAD" else body})


def _with_vary(send):
    async def wrapped(message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            if not any(name.lower() == b"vary" for name, _ in headers):
                headers.append((b"vary", b"Accept-Encoding"))
            message = {**message, "headers": headers}
        await send(message)
    return wrapped


def middleware() -> list:
    """The middleware list for `st.App(..., middleware=...)`."""
    from starlette.middleware import Middleware

    return [Middleware(StaticGzipMiddleware)]


# --- Warm-up --------------------------------------------------------------------------------------

_REFERENCE = re.compile(
    r"<script\b[^>]*\bsrc=\"([^\"]+)\"|<link\b(?=[^>]*\brel=\"(?:modulepreload|stylesheet)\")[^>]*\bhref=\"([^\"]+)\"",
    re.IGNORECASE)


def index_references(index_html: str) -> list[str]:
    """The static files index.html loads (<script src>, <link rel=modulepreload|stylesheet>), as
    paths relative to the static directory, in order, without repeats."""
    out: list[str] = []
    for match in _REFERENCE.finditer(index_html):
        url = (match.group(1) or match.group(2)).split("?", 1)[0].split("#", 1)[0]
        rel = url.removeprefix("./").lstrip("/")
        if rel.startswith(STATIC_PREFIX) and rel not in out:
            out.append(rel)
    return out


def precompress_index(store: GzipStore | None = None, html: str = "") -> dict:
    """Compress (once) the files Streamlit's index.html references, and those `html` references
    (e.g. the app's page shell with its own modulepreload links), in the calling thread: for the
    warm-up, so the first visitor gets them from the cache. Never raises; returns a summary."""
    store = store or STORE
    t0 = time.perf_counter()
    done = raw = packed = 0
    try:
        index_html = (Path(store.static_dir) / "index.html").read_text(encoding="utf-8")
        for rel in dict.fromkeys(index_references(index_html) + index_references(html)):
            info = store.lookup(rel)
            if info is None:
                continue
            entry = store.get(info)
            if entry.gz is not None:
                done += 1
                raw += info.size
                packed += len(entry.gz)
    except Exception as err:  # noqa: BLE001 - a warm-up must never stop the server
        LOG.warning("static gzip warm-up failed: %s", err)
        return {"failed": str(err)}
    return {"files": done, "raw_bytes": raw, "gzip_bytes": packed,
            "seconds": round(time.perf_counter() - t0, 2)}
