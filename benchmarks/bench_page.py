"""Page performance of app.py in headless Chromium (software WebGL), each figure beside a
reference measured in the same run.

- view η change: the view's own "Learning rate η" slider moved by the keyboard, to the new
  paths painted in all three views (data-lr set, one frame after that paint), median ms; the
  reference is the same change through the sidebar's η slider (a rerun: the script runs and the
  browser then swaps to the stop it already holds);
- rerun-driven change: the epochs slider moved by the keyboard (a new computation, the loss axis
  redrawn), to all views painted, median ms;
- playback: painted frames per second of each view (3D, contour, loss) and of the page, over
  3 s of slow playback; the reference is the display's frame rate (requestAnimationFrame);
- startup: server start to all three views drawn, beside a hello-world page with one slider
  (benchmarks/pages/hello.py), and a page opened on a running server to all views drawn;
- open (warm server: its start-up warm-up done, one page opened before): a first visit (a fresh
  browser profile) and a repeat visit (the same profile: Plotly's bundle cached) to all three
  views drawn, beside the hello-world page's first and repeat visits; with the page's own
  milestones (shell parsed, websocket's first message, component mounted, Plotly ready, 2D drawn,
  3D drawn) and the bytes that arrived before the 2D paint (HTTP transfer, websocket payloads,
  Plotly's bundle counted apart);
- bytes: websocket bytes from opening the default page to first paint, and then of the rest of
  the η set that follows it;
- network mode: opening it to the landscape drawn, beside the training and slicing in Python.

    python benchmarks/bench_page.py [--changes 10] [--playback-epochs 500] [--only open|startup]

main() returns the report as a dict (benchmarks/run_all.py calls it) and prints it as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
sys.path.insert(0, str(ROOT))

import browser_harness as h  # noqa: E402

APP = "app.py"
HELLO = "benchmarks/pages/hello.py"
QUERY = "/?speed=instant"
VIEW_LR = "[aria-label='Learning rate η']"

JS_TWO_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
JS_ALL_STOPS = "() => document.querySelector('.dv-root').dataset.lrStops === '61'"
# Time from a key press to data-lr showing `want` (set one frame after the paint that shows it).
JS_ARM_LR = """(want) => { const root = document.querySelector('.dv-root');
    window.__benchLr = new Promise(resolve => {
        let t0 = 0;
        window.addEventListener('keydown', () => { t0 = performance.now(); }, {capture: true, once: true});
        const check = () => { if (Number(root.dataset.lr) === want && t0) { obs.disconnect(); resolve(performance.now() - t0); } };
        const obs = new MutationObserver(check);
        obs.observe(root, {attributes: true, attributeFilter: ['data-lr']});
    }); }"""
JS_AWAIT_LR = "() => window.__benchLr"


def _median(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 1) if values else None


def _open(browser, url: str, query: str = QUERY, frames: list | None = None):
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    if frames is not None:
        page.on("websocket", lambda ws: ws.on(
            "framereceived", lambda payload: frames.append((time.perf_counter(), len(payload)))))
    page.goto(url + query)
    h.wait_idle(page, timeout=120_000)
    return page


def startup(browser, script: str, app: bool) -> dict:
    t0 = time.perf_counter()
    with h.run_streamlit(script) as url:
        ready = time.perf_counter() - t0
        page = _open(browser, url)
        if app:
            h.wait_drawn(page, timeout=120_000)
        else:
            page.get_by_text("Hello, world").wait_for(timeout=60_000)
        page.evaluate(JS_TWO_FRAMES)
        drawn = time.perf_counter() - t0
        page.close()
        out = {"server_ready_s": round(ready, 2), "start_to_drawn_s": round(drawn, 2)}
        if app:  # a second visitor on the running server (Plotly's bundle not cached: new context)
            context = browser.new_context(viewport={"width": 1280, "height": 720})
            page = context.new_page()
            t1 = time.perf_counter()
            page.goto(url + QUERY)
            h.wait_idle(page, timeout=120_000)
            h.wait_drawn(page, timeout=120_000)
            out["open_on_running_server_to_drawn_s"] = round(time.perf_counter() - t1, 2)
            context.close()
    return out


# Milestones of one page open, in ms since navigation start (performance.now()), recorded by the
# page itself: the shell parsed, the websocket's first message, the component mounted, Plotly
# ready, the 2D views drawn, the 3D scene drawn; and the websocket messages' sizes and times
# (decompressed payloads) for the bytes before the first paint.
JS_TIMELINE_INIT = """(() => {
  const t = {}; window.__openTimeline = t; window.__openWs = [];
  const mark = (k) => { if (!(k in t)) t[k] = Math.round(performance.now()); };
  document.addEventListener('DOMContentLoaded', () => mark('shell_parsed_ms'));
  const Socket = window.WebSocket;
  window.WebSocket = class extends Socket { constructor(a, p) { super(a, p);
    this.addEventListener('message', (ev) => { mark('websocket_first_message_ms');
      const n = ev.data.byteLength || ev.data.size || ev.data.length || 0;
      if (n > 50000) mark('view_message_received_ms');
      window.__openWs.push([performance.now(), n]); }); } };
  const poll = () => {
    const root = document.querySelector('.dv-root');
    if (document.querySelector('[data-testid=stSidebar] [data-testid=stSlider]')) mark('first_widget_shown_ms');
    if (root) mark('component_mounted_ms');
    if (document.querySelector('[data-testid=stApp][data-test-script-state=notRunning]')
        && 'websocket_first_message_ms' in t) mark('script_finished_ms');
    if (window.Plotly) mark('plotly_ready_ms');
    const drawn = (v) => { const d = root && root.querySelector('.dv-' + v); return d && d._fullLayout; };
    if (drawn('contour') && drawn('loss')) mark('views_2d_drawn_ms');
    if (drawn('surface3d') && root.querySelector('.dv-surface3d canvas')) mark('view_3d_drawn_ms');
    if (!('view_3d_drawn_ms' in t)) requestAnimationFrame(poll);
    // The frame after the one that drew the 3D scene has begun: that frame was presented (its
    // commit waited for software WebGL to finish the scene).
    else requestAnimationFrame(() => requestAnimationFrame(() => mark('all_views_painted_ms')));
  };
  requestAnimationFrame(poll);
})()"""

# Bytes that arrived before the 2D views were drawn: HTTP transfer sizes from the resource
# timing entries (0 for what the cache answered; the document itself included) and websocket
# payloads, Plotly's bundle counted apart.
JS_BYTES_BEFORE_PAINT = """() => {
  const paint = window.__openTimeline.views_2d_drawn_ms;
  const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
    .filter((e) => e.responseEnd <= paint);
  const isBundle = (e) => /plotly[^/]*\\.js$/.test(e.name);
  const sum = (list) => list.reduce((a, e) => a + (e.transferSize || 0), 0);
  return {http_bytes_bundle_aside: sum(entries.filter((e) => !isBundle(e))),
          bundle_network_bytes: sum(entries.filter(isBundle)),
          websocket_payload_bytes: window.__openWs.filter(([t]) => t <= paint).reduce((a, [, n]) => a + n, 0)};
}"""


def where_the_time_goes(marks: dict, plotly: dict | None, drawn_s: float) -> dict:
    """One open's time, stage by stage (ms), from the page's milestones: Streamlit's shell, the
    script's messages, Streamlit's rendering until the view mounts, Plotly's evaluation (the
    view asks for it at mount; from the page shell's loader), the 2D views, the 3D scene's
    JavaScript, and what follows until the benchmark saw two frames after all was drawn (the
    browser waiting for software WebGL to finish the scene, and the frames)."""
    def at(key):
        return marks.get(key)
    stages = {
        "shell_parsed": at("shell_parsed_ms"),
        "script_messages_until_finished": (at("script_finished_ms") or 0) - (at("shell_parsed_ms") or 0),
        "streamlit_render_until_view_mounted": (at("component_mounted_ms") or 0) - (at("script_finished_ms") or 0),
    }
    if plotly and "asked" in plotly and "ready" in plotly:
        stages["plotly_evaluation"] = round(plotly["ready"] - plotly["asked"])
        stages["views_2d"] = round((at("views_2d_drawn_ms") or 0) - plotly["ready"])
    else:
        stages["plotly_and_views_2d"] = (at("views_2d_drawn_ms") or 0) - (at("component_mounted_ms") or 0)
    stages["view_3d_javascript"] = (at("view_3d_drawn_ms") or 0) - (at("views_2d_drawn_ms") or 0)
    stages["view_3d_webgl_until_presented"] = (at("all_views_painted_ms") or 0) - (at("view_3d_drawn_ms") or 0)
    stages["then_until_the_benchmark_saw_two_frames"] = round(drawn_s * 1000 - (at("all_views_painted_ms") or 0))
    return stages


def open_timeline(context, url: str, query: str = QUERY) -> dict:
    """One page open in `context` (a fresh one: nothing cached; the same one again: a repeat
    visit): seconds to all three views drawn, the page's milestones, and the bytes that came
    before the first paint."""
    page = context.new_page()
    page.add_init_script(JS_TIMELINE_INIT)
    t0 = time.perf_counter()
    page.goto(url + query)
    h.wait_drawn(page, timeout=120_000)
    page.evaluate(JS_TWO_FRAMES)
    drawn_s = time.perf_counter() - t0
    page.wait_for_function("() => 'all_views_painted_ms' in (window.__openTimeline || {})", timeout=60_000)
    marks = page.evaluate("() => window.__openTimeline")
    plotly = page.evaluate("() => window.__descentLabPlotlyTimes || null")
    out = {"to_all_views_drawn_s": round(drawn_s, 2), "milestones_ms": marks,
           "where_the_time_goes_ms": where_the_time_goes(marks, plotly, drawn_s),
           "bytes_before_2d_paint": page.evaluate(JS_BYTES_BEFORE_PAINT)}
    h.wait_idle(page, timeout=120_000)
    page.close()
    return out


def open_figures(browser, url: str, hello_url: str, repeats: int = 3) -> dict:
    """Warm server: a first visit (a fresh browser profile, nothing cached) and a repeat visit
    (the same profile again) to all three views drawn, medians of `repeats`, beside the same
    for the hello-world page; and where the time goes (the page's own milestones)."""
    out: dict = {}
    for name, target, app in (("app", url, True), ("reference_hello_world", hello_url, False)):
        first, repeat, timelines, failures = [], [], [], []
        for _ in range(repeats):
            context = browser.new_context(viewport={"width": 1280, "height": 720})
            try:
                if app:
                    try:
                        rec = open_timeline(context, target)
                        rec2 = open_timeline(context, target)
                    except Exception as err:  # noqa: BLE001 - counted and reported, not hidden
                        failures.append(f"{type(err).__name__}: {str(err).splitlines()[0]}")
                        continue
                    first.append(rec.pop("to_all_views_drawn_s"))
                    repeat.append(rec2.pop("to_all_views_drawn_s"))
                    timelines.append((rec, rec2))
                else:
                    for bucket in (first, repeat):
                        page = context.new_page()
                        t0 = time.perf_counter()
                        page.goto(target + "/")
                        page.get_by_text("Hello, world").wait_for(timeout=60_000)
                        page.evaluate(JS_TWO_FRAMES)
                        bucket.append(time.perf_counter() - t0)
                        page.close()
            finally:
                context.close()
        entry = {"first_visit_to_drawn_s_median": _median(first),
                 "repeat_visit_to_drawn_s_median": _median(repeat)}
        if app and timelines:
            # The page's own clock: navigation start to the frame that showed all three views.
            entry["first_visit_to_painted_s_page_clock_median"] = _median(
                [t[0]["milestones_ms"].get("all_views_painted_ms", 0) / 1000 for t in timelines])
            entry["repeat_visit_to_painted_s_page_clock_median"] = _median(
                [t[1]["milestones_ms"].get("all_views_painted_ms", 0) / 1000 for t in timelines])
        if app and failures:
            entry["opens_that_did_not_draw_within_120_s"] = failures
        if app and timelines:
            # The open whose first visit was the median one: where its time went, its bytes.
            mid = sorted(timelines, key=lambda t: t[0]["milestones_ms"].get("view_3d_drawn_ms", 0))[
                len(timelines) // 2]
            entry["first_visit"], entry["repeat_visit"] = mid
            entry["targets_s"] = {"first_visit": 2.0, "repeat_visit": 1.5}
        out[name] = entry
    return out


def first_paint_bytes(browser, url: str) -> dict:
    frames: list[tuple[float, int]] = []
    t0 = time.perf_counter()
    page = _open(browser, url, frames=frames)
    h.wait_drawn(page, timeout=120_000)
    page.wait_for_function(JS_ALL_STOPS, timeout=120_000)
    h.wait_idle(page)
    time.sleep(0.5)
    sizes = page.evaluate("() => window.__dvMessageBytes || []")
    total = sum(n for t, n in frames if t >= t0)
    page.close()
    # The first view message is what first paint waits for; the second is the rest of the η set.
    first = sizes[0] if sizes else None
    rest = sum(sizes[1:2])
    return {"first_view_message_bytes": first, "rest_of_lr_set_message_bytes": rest,
            "first_paint_ws_bytes": total - rest, "whole_page_ws_bytes": total,
            "view_messages_bytes": sizes, "first_paint_target_bytes": 150_000}


def view_lr_changes(browser, url: str, changes: int) -> dict:
    frames: list[tuple[float, int]] = []
    page = _open(browser, url, frames=frames)
    h.wait_drawn(page, timeout=120_000)
    page.wait_for_function(JS_ALL_STOPS, timeout=120_000)
    h.wait_idle(page)
    from lab.config import LR_OPTIONS
    view, sidebar, view_bytes, sidebar_bytes = [], [], [], []
    for i in range(changes):
        # The view's slider: one stop down; then the sidebar's: one stop down again.
        lr = float(h.view_state(page)["lr"])
        want = LR_OPTIONS[LR_OPTIONS.index(lr) - 1]
        page.evaluate(JS_ARM_LR, want)
        t0 = time.perf_counter()
        page.locator(VIEW_LR).focus()
        page.locator(VIEW_LR).press("ArrowLeft")
        view.append(page.evaluate(JS_AWAIT_LR))
        h.wait_idle(page)
        time.sleep(0.3)
        h.wait_idle(page)
        view_bytes.append(sum(n for t, n in frames if t >= t0))
        want = LR_OPTIONS[LR_OPTIONS.index(want) - 1]
        page.evaluate(JS_ARM_LR, want)
        t0 = time.perf_counter()
        h.move_slider(page, "learning_rate", key_name="ArrowLeft")
        sidebar.append(page.evaluate(JS_AWAIT_LR))
        h.wait_idle(page)
        time.sleep(0.3)
        sidebar_bytes.append(sum(n for t, n in frames if t >= t0))
    how = page.evaluate("() => window.__dvTiming && window.__dvTiming.how")
    page.close()
    return {"view_lr_to_paths_painted_ms_median": _median(view), "view_lr_ms_max": round(max(view), 1),
            "reference_sidebar_rerun_to_paths_painted_ms_median": _median(sidebar),
            "views_redrawn_by_the_rerun_after_release": how, "target_ms": 50,
            "ws_bytes_of_the_rerun_after_release_median": int(statistics.median(view_bytes)),
            "reference_ws_bytes_of_a_sidebar_rerun_median": int(statistics.median(sidebar_bytes))}


def rerun_changes(browser, url: str, changes: int) -> dict:
    page = _open(browser, url)
    h.wait_drawn(page, timeout=120_000)
    page.wait_for_function(JS_ALL_STOPS, timeout=120_000)
    h.wait_idle(page)
    times, kinds = [], set()
    for _ in range(changes):
        updates = int(h.view_state(page)["updates"])
        start = time.perf_counter()
        h.move_slider(page, "epochs", key_name="ArrowLeft")
        page.wait_for_function(
            "(n) => { const v = document.querySelector('.dv-root').__descentView;"
            " return Number(v.root.dataset.updates) > n && !v.applying; }", arg=updates, timeout=60_000)
        page.evaluate(JS_TWO_FRAMES)
        times.append((time.perf_counter() - start) * 1000)
        kinds |= {f"{k}:{v}" for k, v in (page.evaluate("() => window.__dvTiming.how") or {}).items()}
        h.wait_idle(page)
        page.wait_for_function(JS_ALL_STOPS, timeout=120_000)  # the new set's rest has come
        h.wait_idle(page)
        time.sleep(0.3)
    page.close()
    return {"change": "epochs slider, one step (a new computation)",
            "to_all_views_painted_ms_median": _median(times), "ms_max": round(max(times), 1),
            "update_kinds": sorted(kinds), "target_ms": 250}


JS_PLAY = """async (ms) => {
    const root = document.querySelector('.dv-root'), view = root.__descentView;
    const read = () => ({t: performance.now(), s: Number(root.dataset.framesSurface3d || 0),
                         c: Number(root.dataset.framesContour || 0), l: Number(root.dataset.framesLoss || 0)});
    root.querySelector('.dv-play').click();
    const a = read();
    let rafs = 0, longest = 0, last = a.t;
    await new Promise(r => { const f = (t) => { rafs++; longest = Math.max(longest, t - last); last = t;
        performance.now() - a.t < ms ? requestAnimationFrame(f) : r(); }; requestAnimationFrame(f); });
    const b = read(), dt = (b.t - a.t) / 1000;
    if (view.playing) root.querySelector('.dv-play').click();
    return {fps_surface3d: (b.s - a.s) / dt, fps_contour: (b.c - a.c) / dt, fps_loss: (b.l - a.l) / dt,
            reference_display_frames_per_s: rafs / dt, longest_frame_ms: longest};
}"""


def playback(browser, url: str, epochs: int, seconds: float = 3.0) -> dict:
    page = _open(browser, url, f"/?speed=slow&epochs={epochs}")
    h.wait_drawn(page, timeout=120_000)
    page.wait_for_function("() => document.querySelector('.dv-root').dataset.playing === 'false'",
                           timeout=120_000)
    h.wait_idle(page)
    slider = page.locator(".dv-epoch")
    slider.focus()
    slider.press("Home")
    page.evaluate(JS_TWO_FRAMES)
    time.sleep(0.3)
    result = page.evaluate(JS_PLAY, seconds * 1000)
    page.close()
    return {"epochs": epochs, "speed": "slow (4 s for the whole run)",
            **{k: round(v, 1) for k, v in result.items()}, "target_fps": 55}


def network_to_drawn(browser, url: str, seeds=(11, 12, 13)) -> dict:
    """Neural network mode: from opening a configuration not trained before (a new seed) to the
    landscape, boundary and loss drawn; beside it, the same training and slicing in Python
    alone (lab.runs.network_result), which is the work the page has to wait for."""
    from lab import runs
    from lab.link import from_query

    page = _open(browser, url)  # Plotly's bundle is in the browser cache from here on
    h.wait_drawn(page, timeout=120_000)
    page_s, engine_s = [], []
    for seed in seeds:
        query = f"/?mode=network&speed=instant&seed={seed}"
        t0 = time.perf_counter()
        page.goto(url + query)
        h.wait_idle(page, timeout=120_000)
        h.wait_drawn(page, timeout=120_000)
        page_s.append(time.perf_counter() - t0)
        config, _ = from_query({"mode": "network", "seed": str(seed + 100)})
        t0 = time.perf_counter()
        runs.network_result(config)
        engine_s.append(time.perf_counter() - t0)
    page.close()
    return {"open_to_landscape_drawn_s_median": _median(page_s),
            "reference_training_and_slice_in_python_s_median": _median(engine_s),
            "target_s": 3.0}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--playback-epochs", type=int, default=500)
    parser.add_argument("--skip-network", action="store_true")
    parser.add_argument("--opens", type=int, default=3, help="page opens per figure of `open`")
    parser.add_argument("--only", choices=["open", "startup"], default=None,
                        help="measure only the page opens (warm server) or only the start-ups")
    args = parser.parse_args([] if argv is None else argv)

    from playwright.sync_api import sync_playwright

    report = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "load_avg_1m": round(os.getloadavg()[0], 2)},
              "script": APP, "query": QUERY}
    t0 = time.perf_counter()
    with sync_playwright() as playwright:
        browser = h.launch_chromium(playwright)
        try:
            if args.only in (None, "startup"):
                report["startup"] = startup(browser, APP, app=True)
                report["reference_hello_world_startup"] = startup(browser, HELLO, app=False)
                report["startup"]["ratio_to_hello_world"] = round(
                    report["startup"]["start_to_drawn_s"]
                    / report["reference_hello_world_startup"]["start_to_drawn_s"], 2)
                report["startup"]["target_ratio"] = 2.0
            if args.only == "startup":
                return report
            with h.run_streamlit(APP) as url, h.run_streamlit(HELLO) as hello_url:
                # A warm server: its start-up warm-up done and one page opened before.
                context = browser.new_context(viewport={"width": 1280, "height": 720})
                open_timeline(context, url)
                context.close()
                report["open"] = open_figures(browser, url, hello_url, repeats=args.opens)
                if args.only == "open":
                    return report
                report["bytes"] = first_paint_bytes(browser, url)
                report["view_lr_change"] = view_lr_changes(browser, url, args.changes)
                report["rerun_change"] = rerun_changes(browser, url, args.changes)
                report["playback"] = playback(browser, url, args.playback_epochs)
                if not args.skip_network:
                    report["network_mode"] = network_to_drawn(browser, url)
        finally:
            browser.close()
    report["machine"]["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    return report


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:]), indent=2))
