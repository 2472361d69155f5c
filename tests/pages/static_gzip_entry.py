"""An st.App with serving.static_gzip's middleware around a one-line page, for
tests/test_static_gzip.py and benchmarks/bench_static_gzip.py (`streamlit run` this file).

It also answers GET /_test/static_gzip_stats with the process's compression counters, and, when
DL_STATIC_GZIP=off, leaves the middleware out (Streamlit as it ships, for a reference)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

from serving import static_gzip  # noqa: E402


async def _stats(_request):
    return JSONResponse(static_gzip.stats())


async def _precompress(_request):
    from starlette.concurrency import run_in_threadpool

    return JSONResponse(await run_in_threadpool(static_gzip.precompress_index))


_BASE = (st.get_option("server.baseUrlPath") or "").strip("/")
_PREFIX = f"/{_BASE}" if _BASE else ""
ROUTES = [Route(f"{_PREFIX}/_test/static_gzip_stats", _stats),
          Route(f"{_PREFIX}/_test/static_gzip_precompress", _precompress, methods=["POST"])]
MIDDLEWARE = [] if os.environ.get("DL_STATIC_GZIP") == "off" else static_gzip.middleware()

app = st.App(str(Path(__file__).resolve().parent / "static_gzip_page.py"), routes=ROUTES,
             middleware=MIDDLEWARE)
