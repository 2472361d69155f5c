"""Warming the server at start, in a thread, so that the first student is not the one who pays:
Plotly's bundle gzipped, the heavy imports done, and the default page opened once over loopback
(its own script run, through the page's own code and caches)."""

from __future__ import annotations

import asyncio
import gc
import importlib
import os
import time
import urllib.request

from streamlit.logger import get_logger

LOG = get_logger("descent_lab.warm")

# What a first page view would otherwise import on its script run or its first dataframe:
# Streamlit's component data and st.dataframe use pandas and pyarrow (0.5–0.7 s together).
IMPORTS = ("numpy", "pandas", "pyarrow", "plotly.graph_objects", "engine", "engine.sweep",
           "surfaces", "lab.runs", "figures.descent", "figures.explore")
HEALTH_WAIT_S = 60.0


def warm_imports(names=IMPORTS) -> list[str]:
    """Import each module; returns the ones that failed (logged, never raised)."""
    failed = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as err:  # a warm-up must never stop the server
            LOG.warning("warm-up: could not import %s: %s", name, err)
            failed.append(name)
    return failed


def timed_imports(names=IMPORTS) -> float:
    """warm_imports, timed (seconds), for the warm-up's log line."""
    t0 = time.perf_counter()
    warm_imports(names)
    return round(time.perf_counter() - t0, 2)


def _wait_healthy(base: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


async def _open_page(host: str, base_path: str, query: str, timeout: float) -> str:
    """One session of the page: rerun with `query`, read until the script has finished; the
    script_finished status's name."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.asyncio.client import connect

    url = f"ws://{host}{base_path}/_stcore/stream"
    async with connect(url, subprotocols=["streamlit"], origin=f"http://{host}",
                       ping_interval=None, max_size=None, open_timeout=timeout) as ws:
        back = BackMsg()
        back.rerun_script.query_string = query
        back.rerun_script.page_script_hash = ""
        await ws.send(back.SerializeToString())
        while True:
            raw = await asyncio.wait_for(ws.recv(), timeout)
            msg = ForwardMsg()
            msg.ParseFromString(raw)
            if msg.WhichOneof("type") == "script_finished":
                return ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)


def warm_page(port: int, base_url_path: str = "", query: str = "", timeout: float = 120.0,
              address: str = "127.0.0.1") -> str:
    """Open the page once on this server and wait for its script run to finish."""
    host = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    base_path = "/" + base_url_path.strip("/") if base_url_path.strip("/") else ""
    if not _wait_healthy(f"http://{host}{base_path}", HEALTH_WAIT_S):
        return "server did not answer"
    return asyncio.run(_open_page(host, base_path, query, timeout))


def warm_up(port: int, base_url_path: str = "", *, host: str = "127.0.0.1", gzip_bundle=None,
            imports_s: float | None = None, gzip_static=None) -> dict:
    """The whole warm-up, in order of what a first visitor needs first; timings for the log.
    `imports_s`: the imports were done already (before the server took sessions), in that time."""
    out: dict[str, float | str] = {}
    t0 = time.perf_counter()
    if gzip_bundle is not None:
        gzip_bundle()
        out["bundle_gzip_s"] = round(time.perf_counter() - t0, 2)
    if gzip_static is not None:  # Streamlit's JS/CSS a first visit fetches (0.1 s for 2.7 MB)
        out["static_gzip"] = gzip_static()
    out["imports_s"] = timed_imports() if imports_s is None else imports_s
    t2 = time.perf_counter()
    try:
        out["default_page"] = warm_page(port, base_url_path, address=host)
    except Exception as err:  # noqa: BLE001 - a warm-up must never stop the server
        out["default_page"] = f"failed: {err}"
    out["default_page_s"] = round(time.perf_counter() - t2, 2)
    if os.environ.get("DESCENT_LAB_GC_FREEZE", "1") != "0":
        # Streamlit collects garbage in full after every script run (runner.postScriptGC): with
        # the imports' objects (numpy, pandas, plotly, …) that cost ≈ 60 ms of CPU per student's
        # open here. Objects alive now live as long as the process: move them out of the
        # collector's way, so each collection walks only what the sessions made since.
        gc.freeze()
    LOG.info("warm-up done: %s", out)
    return out
