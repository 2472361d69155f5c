"""Server CPU per open of a lesson link, measured with light clients (serving/light_client.py:
Streamlit's websocket protocol, no browser), each figure beside its references from the same run.

- repeat open: a new student opens a link another student opened before (the results are in
  the server's shared cache): CPU seconds the server process spent (all its threads, read from
  /proc) from the student's first request until the server is idle again after the student left;
  median over the repeats;
- first open: the same link's first open on a fresh server (it trains and encodes everything);
- a burst: 30 students open one lesson link at the same moment on a fresh server, beside the
  same burst with the shared cache off;
- after paint: a mini-batch lesson's first open sends the η on screen only; the rest of its
  61 η stops, which the browser asks for once it has drawn: server CPU and time of each;
- epochs change: on a warm server, the default page (?speed=instant) with its epochs slider moved
  one step, a new computation each time (500 -> 499 -> ...): the request to script_finished
  (wall, on loopback) and the server's CPU, median over --changes; after each change the
  student asks for the rest of the η set as the browser does once it has drawn (not timed: its
  own figure beside it). The reference is the hello page's slider moved one step, the same way;
- references: a bare one-slider Streamlit page's open (benchmarks/pages/hello.py); the same
  repeat open without the warm-up's gc.freeze() (DESCENT_LAB_GC_FREEZE=0: Streamlit's full
  collection after each script run walks every imported object again); and with the shared
  cache off (DESCENT_LAB_CACHE_MB=0: every session computes everything again, as each session
  did with the per-session cache before).

    python benchmarks/bench_server.py [--opens 15] [--link lesson=adam-vs-sgd] [--changes 12]
                                      [--profile OUT] [--only epochs]

--profile also writes a cProfile of every server thread over the repeat opens to OUT (pstats).
main() returns the report as a dict (benchmarks/run_all.py calls it) and prints it as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from serving import ENTRY  # noqa: E402
from serving.light_client import LightClient  # noqa: E402

HELLO = ROOT / "benchmarks" / "pages" / "hello.py"
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process, all threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def settle(pid: int, quiet: int = 3, step: float = 0.05, limit: int = 400) -> float:
    """Wait until the process spends no CPU for `quiet` polls in a row; its CPU then."""
    last, still = cpu_seconds(pid), 0
    for _ in range(limit):
        time.sleep(step)
        now = cpu_seconds(pid)
        still = still + 1 if now == last else 0
        last = now
        if still >= quiet:
            break
    return last


@contextlib.contextmanager
def server(script: Path, env: dict | None = None, profile: str | None = None):
    """`streamlit run script` on a free loopback port (optionally under the per-thread profiler
    of this file); yields (pid, "127.0.0.1:PORT")."""
    port = free_port()
    args = ["--server.headless", "true", "--server.port", str(port), "--server.address",
            "127.0.0.1", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
            "--server.enableStaticServing", "true"]
    if profile:
        command = [sys.executable, __file__, "--serve-profiled", profile, str(script), *args]
    else:
        command = [sys.executable, "-m", "streamlit", "run", str(script), *args]
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    try:
        for _ in range(600):
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"server exited: {log.read().decode()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.1)
        yield proc.pid, f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


async def _open(host: str, query: str) -> tuple[float, bool]:
    async with LightClient(host) as student:
        result = await student.open(query)
    return result.seconds, result.ok


def one_open(pid: int, host: str, query: str) -> dict:
    before = settle(pid)
    seconds, ok = asyncio.run(_open(host, query))
    after = settle(pid)
    if not ok:
        raise RuntimeError(f"open of ?{query} failed")
    return {"cpu_ms": (after - before) * 1e3, "wall_ms": seconds * 1e3}


def opens(script: Path, query: str, n: int, env: dict | None = None,
          profile: str | None = None) -> dict:
    """The first open on a fresh server, then n more, each a new student."""
    with server(script, env, profile) as (pid, host):
        settle(pid, quiet=10)  # the entry's start-up warm-up, if any, is done
        first = one_open(pid, host, query)
        rest = [one_open(pid, host, query) for _ in range(n)]
    cpu = [r["cpu_ms"] for r in rest]
    return {"first_open_cpu_ms": round(first["cpu_ms"], 1),
            "first_open_wall_ms": round(first["wall_ms"], 1),
            "repeat_open_cpu_ms": round(statistics.median(cpu), 1),
            "repeat_open_cpu_ms_min": round(min(cpu), 1),
            "repeat_open_wall_ms": round(statistics.median(r["wall_ms"] for r in rest), 1),
            "opens": n}


async def _burst(host: str, query: str, n: int) -> list:
    async def one():
        async with LightClient(host) as student:
            return await student.open(query)

    return await asyncio.gather(*(one() for _ in range(n)))


def burst(script: Path, query: str, n: int, env: dict | None = None) -> dict:
    """n students opening one link at the same moment on a fresh server: server time per
    student (request to script_finished) and the server's CPU per student."""
    with server(script, env) as (pid, host):
        before = settle(pid, quiet=10)
        results = asyncio.run(_burst(host, query, n))
        after = settle(pid)
    seconds = sorted(r.seconds for r in results)
    return {"students": n, "failures": sum(not r.ok for r in results),
            "p50_s": round(statistics.median(seconds), 2),
            "p95_s": round(seconds[min(n - 1, int(0.95 * n))], 2), "max_s": round(seconds[-1], 2),
            "cpu_ms_per_student": round((after - before) * 1e3 / n, 1)}


def _view_paths(student: LightClient) -> dict | None:
    """The path set header of the view's message in the student's last run, if one came."""
    from ui import descent_view

    for element in student.elements:
        if element.WhichOneof("type") == "bidi_component" \
                and element.bidi_component.WhichOneof("data") == "bytes":
            return descent_view.decode(element.bidi_component.bytes).get("paths")
    return None


async def _after_paint(pid: int, host: str, query: str) -> dict:
    async with LightClient(host) as student:
        before = cpu_seconds(pid)
        first = await student.open(query)
        middle = settle(pid)
        paths = _view_paths(student) or {}
        out = {"first_open_cpu_ms": round((middle - before) * 1e3, 1),
               "first_open_s": round(first.seconds, 2), "first_rows": len(paths.get("rows", ())),
               "first_complete": paths.get("complete")}
        if paths and not paths["complete"]:
            # what the browser sends once it has drawn: the component's state "full"
            rest = await student.set_widget("descent_view",
                                            json_value=json.dumps({"full": paths["key"]}))
            after = settle(pid)
            whole = _view_paths(student) or {}
            out.update({"rest_cpu_ms": round((after - middle) * 1e3, 1),
                        "rest_s": round(rest.seconds, 2), "rows": len(whole.get("rows", ())),
                        "complete": whole.get("complete")})
    return out


def after_paint(query: str) -> dict:
    """A dear η set (a mini-batch lesson) on a fresh server: the first open (the η on screen
    only), then the rest of the set that the browser asks for once it has drawn."""
    with server(ENTRY) as (pid, host):
        settle(pid, quiet=10)
        return asyncio.run(_after_paint(pid, host, query))


async def _slider_changes(pid: int, host: str, query: str, key: str, values, ask_full: bool) -> list:
    """One student opens ?query, then moves slider `key` through `values`, one rerun each:
    (wall ms, server CPU ms) per change; with ask_full, the rest of the η set is asked for after
    each change, as the browser does once it has drawn (its wall and CPU apart)."""
    out = []
    async with LightClient(host) as student:
        opened = await student.open(query)
        if not opened.ok:
            raise RuntimeError(f"open of ?{query} failed: {opened.exceptions}")
        settle(pid)
        for value in values:
            before = cpu_seconds(pid)
            changed = await student.set_widget(key, double_array_value={"data": [float(value)]})
            middle = settle(pid)
            if not changed.ok:
                raise RuntimeError(f"{key} = {value} failed: {changed.exceptions}")
            row = {"wall_ms": changed.seconds * 1e3, "cpu_ms": (middle - before) * 1e3}
            paths = _view_paths(student) if ask_full else None
            if paths and not paths["complete"]:
                rest = await student.set_widget("descent_view", json_value=json.dumps(
                    {"painted": True, "full": paths["key"]}))
                row.update(rest_wall_ms=rest.seconds * 1e3, rest_cpu_ms=(settle(pid) - middle) * 1e3)
            out.append(row)
    return out


def _medians(rows: list, prefix: str = "") -> dict:
    keys = [k for k in ("wall_ms", "cpu_ms", "rest_wall_ms", "rest_cpu_ms") if all(k in r for r in rows)]
    return {f"{prefix}{k.replace('_ms', '_ms_median')}": round(statistics.median(r[k] for r in rows), 1)
            for k in keys}


def epochs_change(n: int = 12) -> dict:
    """The default page's epochs slider one step at a time (each a new computation) on a warm
    server, beside the hello page's slider moved the same way on a server of its own."""
    from lab.config import Config

    start = Config().epochs
    with server(ENTRY) as (pid, host):
        settle(pid, quiet=10)  # the start-up warm-up (it opens the default page) is done
        page = asyncio.run(_slider_changes(pid, host, "speed=instant", "epochs",
                                           range(start - 1, start - 1 - n, -1), ask_full=True))
    with server(HELLO) as (pid, host):
        settle(pid, quiet=10)
        hello = asyncio.run(_slider_changes(pid, host, "", "value", [49 - i % 2 for i in range(n)],
                                            ask_full=False))
    return {"page": "/?speed=instant", "change": f"epochs {start} -> {start - 1} -> ... ({n} changes)",
            **_medians(page), "cpu_ms_min": round(min(r["cpu_ms"] for r in page), 1),
            **_medians(hello, "reference_hello_slider_"), "target_ms": 90,
            "note": "wall: request to script_finished on loopback (light client, no browser); "
                    "cpu: the server process, all threads, /proc ticks of 10 ms; rest: the η "
                    "set's other stops, which the browser asks for after its first paint"}


def main(n: int = 15, link: str = "lesson=adam-vs-sgd", profile: str | None = None,
         changes: int = 12) -> dict:
    app = opens(ENTRY, link, n, profile=profile)
    unfrozen = opens(ENTRY, link, max(5, n // 2), env={"DESCENT_LAB_GC_FREEZE": "0"})
    off = opens(ENTRY, link, max(5, n // 3), env={"DESCENT_LAB_CACHE_MB": "0"})
    hello = opens(HELLO, "", max(5, n // 2))
    report = {
        "server_open": {
            "link": "?" + link,
            **app,
            "before_gc_freeze_open_cpu_ms": unfrozen["repeat_open_cpu_ms"],
            "reference_cache_off_open_cpu_ms": off["repeat_open_cpu_ms"],
            "reference_hello_page_open_cpu_ms": hello["repeat_open_cpu_ms"],
            "ratio_to_hello": round(app["repeat_open_cpu_ms"] / max(hello["repeat_open_cpu_ms"], 1e-9), 2),
            "target_ms": 50,
            "note": "server CPU (all threads) per new student, light clients, no browser",
        },
        # A class clicking one link at once on a fresh server: one session trains, the others
        # wait for its results; the reference computes everything in every session.
        "burst_30_at_once": {
            "link": "?" + link,
            **burst(ENTRY, link, 30),
            "reference_cache_off": burst(ENTRY, link, 30,
                                         env={"DESCENT_LAB_CACHE_MB": "0"}),
        },
        # The mini-batch lesson's instant η: its 61 stops come after the first paint. Before,
        # each η change reran the page and trained the runs again: about the first open's work.
        "after_paint_eta_set": {"link": "?lesson=schedule", **after_paint("lesson=schedule")},
        # The default page's epochs slider moved one step: the script run of a new computation.
        "epochs_change": epochs_change(changes),
    }
    return report


def _serve_profiled(out: str, script: str, args: list[str]) -> None:
    """Run Streamlit in this process with a cProfile in every thread; merge them into `out`
    when the process is stopped (SIGTERM)."""
    import cProfile
    import pstats
    import signal
    import threading

    profiles = []

    def hook(frame, event, arg):
        p = cProfile.Profile(time.thread_time)  # CPU of this thread, not the wall clock
        profiles.append(p)
        p.enable()  # replaces this hook for the thread

    threading.setprofile(hook)
    main_profile = cProfile.Profile(time.thread_time)
    profiles.append(main_profile)

    def stop(signum, frame):
        for p in profiles:
            with contextlib.suppress(Exception):
                p.disable()
        stats = None
        for p in profiles:
            with contextlib.suppress(TypeError, ValueError):
                stats = pstats.Stats(p) if stats is None else stats.add(p)
        if stats is not None:
            stats.dump_stats(out)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    from streamlit.web import cli

    main_profile.enable()
    sys.argv = ["streamlit", "run", script, *args]
    cli.main()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-profiled":
        _serve_profiled(sys.argv[2], sys.argv[3], sys.argv[4:])
        raise SystemExit(0)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--opens", type=int, default=15)
    parser.add_argument("--link", default="lesson=adam-vs-sgd")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--changes", type=int, default=12)
    parser.add_argument("--only", choices=["epochs"], default=None)
    options = parser.parse_args()
    if options.only == "epochs":
        print(json.dumps({"epochs_change": epochs_change(options.changes)}, indent=2))
    else:
        print(json.dumps(main(options.opens, options.link, options.profile, options.changes), indent=2))
