"""Streamlit's own static JS/CSS served gzipped, compressed once per process
(serving/static_gzip.py).

Against real Streamlit servers (tests/pages/static_gzip_entry.py: an st.App with the middleware,
and the same entry without it as the reference), and in process around Streamlit's own static
file handler for what a real server cannot be made to show (symlinks, a base URL path, a small
cache bound). No time is asserted; compressions are counted by the module's counters."""

from __future__ import annotations

import asyncio
import gzip
import http.client
import json
import os
import re
import sys
import threading
import urllib.parse
from pathlib import Path

import pytest
from streamlit import file_util
from streamlit.web.server.starlette.starlette_static_routes import create_streamlit_static_handler

from serving import static_gzip
from serving.static_gzip import GzipStore, StaticGzipMiddleware, accepts_gzip, etag_matches

sys.path.insert(0, str(Path(__file__).resolve().parent / "browser"))
from browser_harness import run_async, run_streamlit  # noqa: E402

ENTRY = Path(__file__).resolve().parent / "pages" / "static_gzip_entry.py"
STATIC = Path(file_util.get_static_dir())
INDEX_HTML = (STATIC / "index.html").read_text(encoding="utf-8")
REFS = static_gzip.index_references(INDEX_HTML)
MAIN_JS = next(r for r in REFS if re.fullmatch(r"static/js/index\.[^/]+\.js", r))
MAIN_CSS = next(r for r in REFS if r.endswith(".css"))
GZ = {"Accept-Encoding": "gzip, deflate, br"}


class Server:
    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port

    def request(self, path: str, headers: dict | None = None, method: str = "GET"):
        """(status, headers with lower-case names, body) for the exact `path` (not normalised)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(method, path, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def stats(self) -> dict:
        return json.loads(self.request("/_test/static_gzip_stats")[2])


@pytest.fixture(scope="module")
def servers():
    """(with the middleware, Streamlit as it ships) on free loopback ports."""
    with run_streamlit(ENTRY) as url:
        os.environ["DL_STATIC_GZIP"] = "off"
        try:
            with run_streamlit(ENTRY) as ref_url:
                os.environ.pop("DL_STATIC_GZIP")
                yield Server(url), Server(ref_url)
        finally:
            os.environ.pop("DL_STATIC_GZIP", None)


@pytest.fixture(scope="module")
def server(servers):
    return servers[0]


@pytest.fixture(scope="module")
def reference(servers):
    return servers[1]


def _without(headers: dict, *names: str) -> dict:
    return {k: v for k, v in headers.items() if k not in ("date", *names)}


# --- Through a real server ----------------------------------------------------------------------


@pytest.mark.parametrize("rel", [MAIN_JS, MAIN_CSS])
def test_gzip_is_the_file_with_streamlits_headers(server, reference, rel):
    raw = (STATIC / rel).read_bytes()
    status, headers, body = server.request("/" + rel, GZ)
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == raw and len(body) < len(raw)
    assert int(headers["content-length"]) == len(body)
    assert headers["vary"] == "Accept-Encoding"
    assert re.fullmatch(r'"[0-9a-f]+-gzip"', headers["etag"])
    # what Streamlit itself sends for the same file
    ref_status, ref_headers, ref_body = reference.request("/" + rel, GZ)
    assert ref_status == 200 and ref_body == raw and "content-encoding" not in ref_headers
    assert headers["content-type"] == ref_headers["content-type"]
    assert headers["cache-control"] == ref_headers["cache-control"] == static_gzip.CACHE_CONTROL
    assert headers["etag"] != ref_headers["etag"]  # another form, another tag


@pytest.mark.parametrize("accept", [None, "identity", "br", "gzip;q=0", "gzip;q=0, deflate",
                                    "*;q=0", "x-gzip;q=0.0, *"])
def test_clients_without_gzip_get_what_streamlit_serves(server, reference, accept):
    headers = {"Accept-Encoding": accept} if accept is not None else {}
    status, got, body = server.request("/" + MAIN_JS, headers)
    ref_status, ref, ref_body = reference.request("/" + MAIN_JS, headers)
    assert (status, body) == (ref_status, ref_body) == (200, (STATIC / MAIN_JS).read_bytes())
    assert "content-encoding" not in got
    # Streamlit's own answer, only marked as varying with Accept-Encoding
    assert got.pop("vary") == "Accept-Encoding"
    assert _without(got) == _without(ref)


def test_range_requests_go_to_streamlit(server, reference):
    headers = {**GZ, "Range": "bytes=0-99"}
    status, got, body = server.request("/" + MAIN_JS, headers)
    ref_status, ref, ref_body = reference.request("/" + MAIN_JS, headers)
    assert status == ref_status == 206 and body == ref_body == (STATIC / MAIN_JS).read_bytes()[:100]
    assert "content-encoding" not in got


def test_head_and_if_none_match(server):
    _, first, body = server.request("/" + MAIN_CSS, GZ)
    status, head, head_body = server.request("/" + MAIN_CSS, GZ, method="HEAD")
    assert status == 200 and head_body == b""
    assert head["content-length"] == str(len(body)) and head["etag"] == first["etag"]
    etag = first["etag"]
    for tag in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        status, headers, body304 = server.request("/" + MAIN_CSS, {**GZ, "If-None-Match": tag})
        assert status == 304 and body304 == b"", tag
        assert headers["etag"] == etag and headers["vary"] == "Accept-Encoding"
        assert headers["cache-control"] == static_gzip.CACHE_CONTROL
        assert "content-encoding" not in headers and "content-type" not in headers
    status, _, again = server.request("/" + MAIN_CSS, {**GZ, "If-None-Match": '"not-it"'})
    assert status == 200 and again == body


def test_same_bytes_every_time_and_compressed_once_even_when_asked_at_once(server):
    # a file nobody else here asks for: the one at the middle of the JS folder by name
    names = sorted(p.name for p in (STATIC / "static" / "js").glob("*.js")
                   if p.stat().st_size > 20_000 and f"static/js/{p.name}" not in REFS)
    rel = f"static/js/{names[len(names) // 2]}"
    assert server.stats()["per_file"].get(rel, 0) == 0
    bodies: list[bytes] = []
    barrier = threading.Barrier(12)

    def one() -> None:
        barrier.wait()
        bodies.append(server.request("/" + rel, GZ)[2])

    threads = [threading.Thread(target=one) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    bodies += [server.request("/" + rel, GZ)[2] for _ in range(3)]
    assert len(bodies) == 15 and len(set(bodies)) == 1
    assert gzip.decompress(bodies[0]) == (STATIC / rel).read_bytes()
    assert bodies[0] == gzip.compress((STATIC / rel).read_bytes(), static_gzip.GZIP_LEVEL, mtime=0)
    assert server.stats()["per_file"][rel] == 1


@pytest.mark.parametrize("path", [
    "/static/../index.html", "/static/js/../../index.html", "/static/%2e%2e/index.html",
    "/static/js/%2E%2E/%2E%2E/index.html", "/static/js/..%2f..%2findex.html",
    "/static/%2e%2e/%2e%2e/__init__.py", "/static/js/../../../__init__.py",
    "/static//js/" + MAIN_JS.rsplit("/", 1)[1], "/static/./js/" + MAIN_JS.rsplit("/", 1)[1],
    "/static/js%5c..%5c..%5cindex.html", "/static/js", "/static/js/", "/static/css",
    "/static/js/no-such-file.js", "/static/media/SourceSansVF-Upright.ttf.BsWL4Kly.woff2",
])
def test_traversal_and_non_files_are_left_to_streamlit(server, reference, path):
    status, got, body = server.request(path, GZ)
    ref_status, ref, ref_body = reference.request(path, GZ)
    # never our answer: exactly what Streamlit gives without the middleware
    assert not got.get("etag", "").endswith('-gzip"')
    assert (status, body) == (ref_status, ref_body)
    assert _without(got, "vary") == _without(ref, "vary")


@pytest.mark.parametrize("path", ["/", "/index.html", "/manifest.json", "/favicon.png",
                                  "/_stcore/health"])
def test_no_cache_files_and_other_routes_are_left_to_streamlit(server, reference, path):
    status, got, body = server.request(path, GZ)
    ref_status, ref, ref_body = reference.request(path, GZ)
    assert (status, body) == (ref_status, ref_body)
    assert got.keys() == ref.keys()  # the XSRF cookie's value is new each time
    assert _without(got, "set-cookie") == _without(ref, "set-cookie")


def test_every_whitelisted_file_is_one_streamlit_serves_immutable():
    store = GzipStore()
    files = store.files()
    assert MAIN_JS in files and MAIN_CSS in files and len(files) > 100
    for rel, info in files.items():
        assert rel.startswith("static/") and info.size >= static_gzip.MIN_SIZE
        assert static_gzip.streamlit_cache_control(rel) == static_gzip.CACHE_CONTROL
        assert Path(info.path).is_file() and Path(info.path).resolve().is_relative_to(STATIC.resolve())
    assert static_gzip.streamlit_cache_control("index.html") == "no-cache"
    assert static_gzip.streamlit_cache_control("manifest.json") == "no-cache"
    assert static_gzip.streamlit_cache_control("static/js/x.html") == "no-cache"


def test_precompress_index_compresses_the_referenced_files_once(server):
    result = json.loads(server.request("/_test/static_gzip_precompress", method="POST")[2])
    served = [r for r in REFS if static_gzip.STORE.lookup(r) is not None]
    assert result["files"] == len(served) > 30  # the rest are under MIN_SIZE
    assert result["gzip_bytes"] < result["raw_bytes"] / 2
    again = json.loads(server.request("/_test/static_gzip_precompress", method="POST")[2])
    per_file = server.stats()["per_file"]
    assert again["files"] == result["files"]
    assert all(per_file[r] == 1 for r in served)


# --- In process, around Streamlit's own static handler -----------------------------------------


def _asgi(app, path: str, headers: dict | None = None, method: str = "GET", root_path: str = ""):
    """One HTTP request through an ASGI app: (status, headers, body)."""
    out: dict = {"body": b""}
    asked = []

    async def receive():
        if not asked:  # the request, then a client that stays until the response is sent
            asked.append(1)
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()

    async def send(message):
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
            out["headers"] = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        else:
            out["body"] += message.get("body", b"")

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": root_path, "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1),
             "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]}
    run_async(app(scope, receive, send))
    return out["status"], out["headers"], out["body"]



@pytest.fixture
def tmp_static(tmp_path):
    """A static directory of real files: compressible, small, incompressible, symlinked in and out."""
    root = tmp_path / "static_root"
    (root / "static" / "js").mkdir(parents=True)
    (root / "static" / "css").mkdir()
    (root / "index.html").write_text('<script type="module" src="./static/js/a.1.js"></script>'
                                     '<link rel="stylesheet" href="./static/css/s.2.css">')
    (root / "static" / "js" / "a.1.js").write_text("var a = 1;\n" * 2000)
    (root / "static" / "js" / "b.2.js").write_text("var bb = 2;\n" * 3000)
    (root / "static" / "css" / "s.2.css").write_text("body { color: red; }\n" * 500)
    (root / "static" / "js" / "tiny.3.js").write_text("var t = 3;\n")
    (root / "static" / "js" / "noise.4.js").write_bytes(os.urandom(4096))
    (root / "static" / "js" / "page.html").write_text("<p>x</p>\n" * 500)
    secret = tmp_path / "secret.js"
    secret.write_text("var secret = 1;\n" * 500)
    (root / "static" / "js" / "out.5.js").symlink_to(secret)
    (root / "static" / "js" / "in.6.js").symlink_to(root / "static" / "js" / "b.2.js")
    return root


def _stack(root: Path, store: GzipStore, base: str = ""):
    return StaticGzipMiddleware(create_streamlit_static_handler(str(root), base), store=store,
                                base_url=base)


def test_whitelist_skips_symlink_escapes_small_html_and_media(tmp_static):
    files = GzipStore(tmp_static).files()
    assert sorted(files) == ["static/css/s.2.css", "static/js/a.1.js", "static/js/b.2.js",
                             "static/js/in.6.js", "static/js/noise.4.js"]
    app = _stack(tmp_static, GzipStore(tmp_static))
    status, headers, body = _asgi(app, "/static/js/out.5.js", GZ)
    assert "content-encoding" not in headers  # Streamlit's own handler decides about it


def test_no_gain_and_small_files_fall_through(tmp_static):
    store = GzipStore(tmp_static)
    app = _stack(tmp_static, store)
    for rel in ("static/js/noise.4.js", "static/js/tiny.3.js", "static/js/page.html"):
        status, headers, body = _asgi(app, "/" + rel, GZ)
        assert status == 200 and body == (tmp_static / rel).read_bytes()
        assert "content-encoding" not in headers
    assert store.stats()["no_gain"] == ["static/js/noise.4.js"]
    _asgi(app, "/static/js/noise.4.js", GZ)
    assert store.compressions == {"static/js/noise.4.js": 1}


def test_base_url_path_and_mount_root_path(tmp_static):
    store = GzipStore(tmp_static)
    app = _stack(tmp_static, store, base="app")
    raw = (tmp_static / "static/js/a.1.js").read_bytes()
    status, headers, body = _asgi(app, "/app/static/js/a.1.js", GZ)
    assert headers["content-encoding"] == "gzip" and gzip.decompress(body) == raw
    # without the base URL path it is not the static route: not ours
    status, headers, body = _asgi(app, "/static/js/a.1.js", GZ)
    assert "content-encoding" not in headers
    status, headers, body = _asgi(app, "/application/static/js/a.1.js", GZ)
    assert "content-encoding" not in headers
    # mounted inside another ASGI app at /outer (root_path set, path includes it)
    mounted = StaticGzipMiddleware(lambda *a: None, store=store, base_url="app")
    status, headers, body = _asgi(mounted, "/outer/app/static/js/a.1.js", GZ, root_path="/outer")
    assert headers["content-encoding"] == "gzip" and gzip.decompress(body) == raw


def test_cache_is_bounded_least_recently_used_out(tmp_static):
    sizes = {rel: len(gzip.compress((tmp_static / rel).read_bytes(), 9, mtime=0))
             for rel in ("static/js/a.1.js", "static/js/b.2.js", "static/css/s.2.css")}
    # room for two of the three
    store = GzipStore(tmp_static, max_bytes=sum(sorted(sizes.values())[-2:]))
    app = _stack(tmp_static, store)
    for rel in ("static/js/a.1.js", "static/js/b.2.js", "static/js/a.1.js", "static/css/s.2.css"):
        assert _asgi(app, "/" + rel, GZ)[1]["content-encoding"] == "gzip"
    stats = store.stats()
    assert stats["evictions"] == 1 and stats["cached_bytes"] <= store.max_bytes
    assert store.cached("static/js/b.2.js") is None  # the least recently used went
    assert store.cached("static/js/a.1.js") is not None
    _asgi(app, "/static/js/a.1.js", GZ)
    assert store.compressions["static/js/a.1.js"] == 1
    _asgi(app, "/static/js/b.2.js", GZ)
    assert store.compressions["static/js/b.2.js"] == 2  # compressed again after its eviction


def test_single_flight_across_threads(tmp_static):
    store = GzipStore(tmp_static)
    info = store.lookup("static/js/b.2.js")
    barrier = threading.Barrier(8)
    got = []

    def one():
        barrier.wait()
        got.append(store.get(info).gz)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == 8 and len(set(got)) == 1
    assert store.compressions == {"static/js/b.2.js": 1}


def test_precompress_index_in_process(tmp_static):
    store = GzipStore(tmp_static)
    result = static_gzip.precompress_index(store)
    assert result["files"] == 2 and store.compressions == {"static/js/a.1.js": 1,
                                                            "static/css/s.2.css": 1}
    static_gzip.precompress_index(store)
    assert sum(store.compressions.values()) == 2
    shell = '<link rel="modulepreload" href="./static/js/b.2.js">\n<script src="/elsewhere.js"></script>'
    assert static_gzip.precompress_index(store, html=shell)["files"] == 3
    assert store.compressions == {"static/js/a.1.js": 1, "static/css/s.2.css": 1, "static/js/b.2.js": 1}
    assert static_gzip.precompress_index(GzipStore(tmp_static / "missing"))["failed"]


def test_the_real_index_references():
    assert REFS[0] == MAIN_JS and MAIN_CSS in REFS
    assert all(r.startswith("static/") and (STATIC / r).is_file() for r in REFS)
    assert len(REFS) == len(re.findall(r'rel="modulepreload"', INDEX_HTML)) + 2


@pytest.mark.parametrize("header,ok", [
    ("gzip", True), ("gzip, deflate, br", True), ("GZIP;q=0.5", True), ("x-gzip", True),
    ("*", True), ("br;q=1, *;q=0.1", True), ("gzip;q=0", False), ("gzip; q=0.000", False),
    ("gzip;q=0, *", False), ("*;q=0", False), ("identity", False), ("", False), ("br", False),
    ("gzip;q=nonsense", False), ("deflate, gzip;q=0.001", True),
])
def test_accept_encoding(header, ok):
    assert accepts_gzip(header) is ok


def test_etag_matching():
    assert etag_matches('"a-gzip"', '"a-gzip"') and etag_matches('W/"a-gzip"', '"a-gzip"')
    assert etag_matches('"b", "a-gzip"', '"a-gzip"') and etag_matches("*", '"a-gzip"')
    assert not etag_matches('"a"', '"a-gzip"') and not etag_matches("", '"a-gzip"')
