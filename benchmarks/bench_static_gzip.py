"""Streamlit's own static JS/CSS on a first visit, as it ships (uncompressed) and through
serving/static_gzip.py (gzipped once per process), in the same run.

- bytes: the files Streamlit's index.html references (<script src>, <link rel=modulepreload|
  stylesheet>), fetched from a real server (tests/pages/static_gzip_entry.py) with and without
  `Accept-Encoding: gzip`: the bytes on the wire, summed, and per class of 30.
- time: one request for the largest of them (index.*.js), median of --n, once its gzip is cached,
  beside the same request uncompressed (Streamlit's own FileResponse):
  * server: in process, the ASGI call through the middleware around Streamlit's own static handler
    (no socket), from call to last body message;
  * loopback: a keep-alive HTTP/1.1 client on the real server, request to last byte read.

`python benchmarks/bench_static_gzip.py [--n 200]` prints JSON; main() returns the dict."""

from __future__ import annotations

import argparse
import asyncio
import gzip
import http.client
import json
import os
import statistics
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from browser_harness import run_streamlit  # noqa: E402

ENTRY = ROOT / "tests" / "pages" / "static_gzip_entry.py"
CLASS = 30


def _ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 3)


async def _asgi_once(app, path: str, headers: list) -> int:
    size = 0
    asked = []

    async def receive():
        if not asked:
            asked.append(1)
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()

    async def send(message):
        nonlocal size
        if message["type"] == "http.response.body":
            size += len(message.get("body", b""))

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1),
             "headers": headers}
    await app(scope, receive, send)
    return size


def server_times(rel: str, n: int) -> dict:
    """In process: median ASGI time of one request, gzip (cached) vs identity, interleaved."""
    import mimetypes

    from streamlit import file_util
    from streamlit.web.server.starlette.starlette_static_routes import (
        create_streamlit_static_handler,
    )

    from serving.static_gzip import GzipStore, StaticGzipMiddleware

    mimetypes.add_type("application/javascript", ".js")  # as Streamlit's bootstrap does
    store = GzipStore()
    app = StaticGzipMiddleware(create_streamlit_static_handler(file_util.get_static_dir(), ""),
                               store=store, base_url="")
    gz_h = [(b"accept-encoding", b"gzip, deflate, br")]

    async def run() -> dict:
        t0 = time.perf_counter()
        first = await _asgi_once(app, "/" + rel, gz_h)  # compresses
        first_s = time.perf_counter() - t0
        gz_t, id_t = [], []
        sizes = set()
        for _ in range(n):
            t = time.perf_counter()
            sizes.add(("gzip", await _asgi_once(app, "/" + rel, gz_h)))
            gz_t.append(time.perf_counter() - t)
            t = time.perf_counter()
            sizes.add(("identity", await _asgi_once(app, "/" + rel, [])))
            id_t.append(time.perf_counter() - t)
        return {"gzip_ms": _ms(gz_t), "identity_ms": _ms(id_t),
                "first_gzip_request_ms_compressing": round(first_s * 1000, 1),
                "gzip_bytes": first, "sizes": sorted(sizes),
                "compressions": sum(store.compressions.values())}

    return asyncio.run(run())


def _get(conn: http.client.HTTPConnection, path: str, headers: dict) -> tuple[dict, bytes]:
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    return {k.lower(): v for k, v in resp.getheaders()}, resp.read()


def main(n: int = 200) -> dict:
    from streamlit import file_util

    from serving import static_gzip

    static = Path(file_util.get_static_dir())
    refs = static_gzip.index_references((static / "index.html").read_text(encoding="utf-8"))
    main_js = refs[0]
    out: dict = {"files": len(refs), "n": n, "load_average_1min": os.getloadavg()[0]}
    with run_streamlit(ENTRY) as url:
        parts = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        raw_total = gz_total = gzipped_files = 0
        for rel in refs:
            _, plain = _get(conn, "/" + rel, {})
            headers, body = _get(conn, "/" + rel, {"Accept-Encoding": "gzip"})
            if headers.get("content-encoding") == "gzip":
                gzipped_files += 1
                assert gzip.decompress(body) == plain
            else:
                assert body == plain
            raw_total += len(plain)
            gz_total += len(body)
        out["first_visit_bytes"] = {
            "uncompressed": raw_total, "gzip": gz_total, "ratio": round(gz_total / raw_total, 3),
            "files_gzipped": gzipped_files, "files_left_as_they_are_under_1KB": len(refs) - gzipped_files,
            f"class_of_{CLASS}_MB_uncompressed": round(CLASS * raw_total / 1e6, 1),
            f"class_of_{CLASS}_MB_gzip": round(CLASS * gz_total / 1e6, 1)}
        gz_t, id_t = [], []
        for _ in range(n):  # interleaved, so both see the same machine
            t = time.perf_counter()
            _get(conn, "/" + main_js, {"Accept-Encoding": "gzip"})
            gz_t.append(time.perf_counter() - t)
            t = time.perf_counter()
            _get(conn, "/" + main_js, {})
            id_t.append(time.perf_counter() - t)
        conn.close()
        with urllib.request.urlopen(f"{url}/_test/static_gzip_stats") as resp:
            counters = json.loads(resp.read())
        out["loopback_one_request"] = {"file": main_js, "gzip_ms": _ms(gz_t),
                                       "identity_ms": _ms(id_t),
                                       "server_compressions_of_it": counters["per_file"][main_js]}
    out["server_one_request"] = {"file": main_js, **server_times(main_js, n)}
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    print(json.dumps(main(parser.parse_args().n), indent=2))
