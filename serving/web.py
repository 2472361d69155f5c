"""The app's entry point: `streamlit run serving/web.py` serves app.py through st.App, with the
app's own routes (Plotly's bundle at a versioned URL, the page shell that starts fetching it
before the script runs) and a lifespan hook that warms the server in a thread.

`streamlit run` imports this file as the module `web` (it puts serving/ on sys.path, not the
repository), so the repository is put on sys.path here, and app.py is named by absolute path.

To add a route, append Starlette routes to ROUTES before `app` is built, e.g.
    from classroom.routes import ROUTES as CLASS_ROUTES
    ROUTES += CLASS_ROUTES
"""

from __future__ import annotations

import html
import re
import sys
import threading
from contextlib import asynccontextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from starlette.concurrency import run_in_threadpool  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import HTMLResponse, Response  # noqa: E402
from starlette.routing import Route  # noqa: E402

from serving import bundle, preload, static_gzip, warm  # noqa: E402

SCRIPT = ROOT / "app.py"


def _base_url_path() -> str:
    return (st.get_option("server.baseUrlPath") or "").strip("/")


# --- Plotly's bundle ------------------------------------------------------------------------


async def plotly_bundle(request: Request) -> Response:
    """The bundle, gzipped once (at start, by the warm-up) and kept: a year in the browser's cache."""
    found = bundle.load()
    headers = {"Cache-Control": bundle.CACHE_CONTROL, "ETag": found.etag, "Vary": "Accept-Encoding"}
    if found.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        body = found.gzipped() if found.ready else await run_in_threadpool(found.gzipped)
        headers["Content-Encoding"] = "gzip"
    else:
        body = found.raw
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


# --- The page shell ---------------------------------------------------------------------------

# Runs in the page's <head>, before Streamlit's own code: the bundle is fetched at once
# (preload), in parallel with Streamlit's start and the script run, and evaluated when the
# descent view mounts and calls window.__descentLabPlotlyStart (assets/descent_view/skeleton.js):
# from the browser's memory by then, so the view never waits on the network for it.
# Evaluating it earlier was measured (interleaved opens, 6 each, this round): at the page's load
# event, when the websocket opened, and at its first message, the views were drawn no sooner
# than when evaluated at mount (first visit 3.9-4.1 s and repeat 3.5-3.6 s for all four, on a
# loaded machine): the page's main thread is busy for much of that time (Streamlit's start and
# render, the script's messages), so an earlier evaluation mostly delays those instead.
SHELL_SNIPPET = """<link rel="preload" href="{url}" as="script">
<script>
(function () {{
  var url = {url_js}, started = null;
  window.__descentLabPlotlyUrl = url;
  window.__descentLabPlotlyStart = function () {{
    if (started) return started;
    started = new Promise(function (resolve, reject) {{
      var script = document.createElement("script");
      script.src = url;
      script.async = true;
      // For the page benchmark: when the view asked for Plotly and when it was evaluated.
      window.__descentLabPlotlyTimes = {{asked: performance.now()}};
      script.onload = function () {{
        window.__descentLabPlotlyTimes.ready = performance.now();
        window.Plotly ? resolve(window.Plotly) : reject(new Error(url + " loaded but did not define Plotly"));
      }};
      script.onerror = function () {{
        started = null;
        script.remove();
        reject(new Error("could not load " + url));
      }};
      document.head.appendChild(script);
    }});
    return started;
  }};
}})();
</script>
"""


def shell_html(index_html: str, url: str) -> str:
    """Streamlit's index.html with the bundle's preload and loader, and the first paint's chunks'
    module preloads, before its first script."""
    # And the Streamlit chunks the first paint needs (serving/preload.py), fetched at once too.
    snippet = SHELL_SNIPPET.format(url=html.escape(url, quote=True), url_js=repr(url)) + preload.links()
    match = re.search(r"<script\b", index_html)
    if match is None:
        return index_html.replace("</head>", snippet + "</head>", 1)
    return index_html[:match.start()] + snippet + index_html[match.start():]


def _index_html() -> str:
    from streamlit import file_util

    return (Path(file_util.get_static_dir()) / "index.html").read_text(encoding="utf-8")


_SHELL = {}


def shell() -> str:
    """The page shell's HTML, made once per process."""
    if "html" not in _SHELL:
        _SHELL["html"] = shell_html(_index_html(), bundle.url_path(_base_url_path()))
    return _SHELL["html"]


async def page_shell(request: Request) -> Response:
    """The page's HTML: Streamlit's own, with the bundle's fetch started at the top (no-cache, as
    Streamlit serves it, so a new version of the app is picked up at once)."""
    return HTMLResponse(shell(), headers={"Cache-Control": "no-cache"})


def own_routes(base: str) -> list[Route]:
    prefix = f"/{base}" if base else ""
    return [
        Route(f"{prefix}/{bundle.PREFIX}/{bundle.load().name}", plotly_bundle, methods=["GET", "HEAD"]),
        Route(f"{prefix}/", page_shell, methods=["GET", "HEAD"]),
    ]


# --- Start-up ---------------------------------------------------------------------------------


@asynccontextmanager
async def lifespan(_app):
    """Warm the server in a thread: it answers at once, and the first visitor finds the bundle
    compressed, the imports done and the default page's results in the cache."""
    port = int(st.get_option("server.port"))
    # The warm-up speaks to this server over loopback, or over the one address it listens on.
    address = st.get_option("server.address") or ""
    host = address if address and address not in ("0.0.0.0", "::", "localhost") else "127.0.0.1"
    # The heavy imports are done before the server takes its first session, not beside it:
    # pandas imported by the warm-up thread while a session's script imported it too gave
    # "partially initialized module 'pandas'" on 9 of 200 opens right after a start.
    imports_s = await run_in_threadpool(warm.timed_imports)
    # The page shell, with the first paint's chunks read from Streamlit's files (0.1 s), is made
    # now rather than on the first visitor's request.
    await run_in_threadpool(shell)
    thread = threading.Thread(
        target=warm.warm_up, args=(port, _base_url_path()),
        kwargs={"host": host, "gzip_bundle": bundle.load().gzipped, "imports_s": imports_s,
                "gzip_static": lambda: static_gzip.precompress_index(html=shell())},
        name="descent-lab-warm-up", daemon=True)
    thread.start()
    yield {"warm_up": thread}


ROUTES: list = own_routes(_base_url_path())
# Class mode's small JSON state, polled by the students' follower component (with an ETag).
from classroom.routes import routes as class_routes  # noqa: E402

ROUTES += class_routes(_base_url_path())
bundle.mark_served()

# Streamlit's own /static/ JS and CSS gzipped, each file compressed once (serving/static_gzip.py).
app = st.App(str(SCRIPT), routes=ROUTES, lifespan=lifespan, middleware=static_gzip.middleware())
