"""Page performance of app.py in headless Chromium (software WebGL), each figure beside a
reference measured in the same run.

- startup: server start to all three views drawn, for app.py and for the reference page (the
  same figures in three plain st.plotly_chart calls, benchmarks/pages/reference_app_plotly_chart.py);
- slider change: the learning-rate select_slider moved by the keyboard, to all views updated
  (median ms over N changes), for both pages, with where the app's time goes (script run, until
  the component has its data, each view's update) and the websocket bytes per rerun;
- playback: frames per second of each view (3D, contour, loss) and of the page, with the 3D frame
  skipping on and, as the reference, off (every view redrawn every frame);
- 3D frame cost: one frame of the 3D scene rendered and read back, for the current surface and
  the cheaper variants (opacity 1, fewer or no contour lines, no marker outline).

    python benchmarks/bench_page.py [--changes 10] [--playback-epochs 500]

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
REFERENCE = "benchmarks/pages/reference_app_plotly_chart.py"
QUERY = "/?speed=instant"
SLIDER = "learning_rate"

JS_TWO_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
# Reference page: every Plotly div has new _fullData (a redraw or a remount happened), the 3D one
# has its WebGL canvas.
JS_MARK = "() => { window.__benchOld = new Set([...document.querySelectorAll('.js-plotly-plot')].map(d => d._fullData)); }"
JS_REDRAWN = """(n) => {
    const divs = [...document.querySelectorAll('.js-plotly-plot')];
    return divs.length >= n && divs.every(d => d._fullLayout && d._fullData && !(window.__benchOld || new Set()).has(d._fullData))
        && document.querySelector('.js-plotly-plot canvas') !== null;
}"""
# App page: timestamps (page clock) of the key press and of the script's runs.
JS_WATCH = """() => {
    const w = window.__bench = {key: 0, runs: []};
    window.addEventListener('keydown', () => { w.key = performance.now(); w.runs = []; }, true);
    const app = document.querySelector('[data-testid=stApp]');
    let state = app.dataset.testScriptState;
    new MutationObserver(() => {
        const now = app.dataset.testScriptState;
        if (now === state) return;
        state = now;
        if (now === 'running') w.runs.push({start: performance.now()});
        else if (w.runs.length) w.runs[w.runs.length - 1].end = performance.now();
    }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""
JS_BREAKDOWN = """() => {
    const w = window.__bench, t = window.__dvTiming || {}, run = w.runs[0] || {};
    const rel = (v) => (v === undefined ? null : Math.round(v - w.key));
    return {script_start: rel(run.start), script_end: rel(run.end), component_data: rel(t.received),
            update_ms: Math.round(t.total || 0), views: t.how || {},
            view_ms: Object.fromEntries(Object.entries(t.react || {}).map(([k, v]) => [k, Math.round(v)]))};
}"""


def _median(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 1) if values else None


def startup(browser, script: str, app: bool) -> dict:
    t0 = time.perf_counter()
    with h.run_streamlit(script) as url:
        ready = time.perf_counter() - t0
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(url + QUERY)
        h.wait_idle(page, timeout=120_000)
        if app:
            h.wait_drawn(page, timeout=120_000)
        else:
            page.wait_for_function(JS_REDRAWN, arg=3, timeout=120_000)
            page.evaluate(JS_TWO_FRAMES)
        drawn = time.perf_counter() - t0
        page.close()
    return {"server_ready_s": round(ready, 2), "start_to_all_views_drawn_s": round(drawn, 2)}


def slider_changes(browser, url: str, changes: int, app: bool) -> dict:
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    frames: list[tuple[float, int]] = []
    page.on("websocket", lambda ws: ws.on(
        "framereceived", lambda payload: frames.append((time.perf_counter(), len(payload)))))
    page.goto(url + QUERY)
    h.wait_idle(page, timeout=120_000)
    if app:
        h.wait_drawn(page, timeout=120_000)
        page.evaluate(JS_WATCH)
    else:
        page.wait_for_function(JS_REDRAWN, arg=3, timeout=120_000)
    page.evaluate(JS_TWO_FRAMES)
    time.sleep(0.5)
    times, sizes, parts = [], [], []
    for i in range(changes):
        # Always onwards (to smaller learning rates): a value seen before would let Streamlit's
        # message cache skip resending the data, and the bytes and times would look better
        # than a new computation's.
        key = "ArrowLeft"
        if app:
            updates = int(h.view_state(page)["updates"])
        else:
            page.evaluate(JS_MARK)
        start = time.perf_counter()
        h.move_slider(page, SLIDER, key_name=key)
        if app:
            page.wait_for_function(
                "(n) => { const v = document.querySelector('.dv-root').__descentView;"
                " return Number(v.root.dataset.updates) > n && !v.applying; }", arg=updates, timeout=60_000)
        else:
            page.wait_for_function(JS_REDRAWN, arg=3, timeout=60_000)
        page.evaluate(JS_TWO_FRAMES)
        times.append((time.perf_counter() - start) * 1000)
        h.wait_idle(page)
        time.sleep(0.4)
        sizes.append(sum(n for t, n in frames if t >= start))
        if app:
            parts.append(page.evaluate(JS_BREAKDOWN))
    page.close()
    out = {"redraw_ms_median": _median(times), "redraw_ms_min": round(min(times), 1),
           "redraw_ms_max": round(max(times), 1), "ws_bytes_per_rerun_median": int(statistics.median(sizes))}
    if app:
        out["breakdown_ms_median"] = {
            "key_to_script_start": _median([p["script_start"] for p in parts]),
            "key_to_script_end": _median([p["script_end"] for p in parts]),
            "key_to_component_data": _median([p["component_data"] for p in parts]),
            "component_update": _median([p["update_ms"] for p in parts]),
            **{f"update_{view}": _median([p["view_ms"].get(view) for p in parts])
               for view in ("surface3d", "contour", "loss")},
        }
        out["update_kinds"] = sorted({f"{v}:{k}" for p in parts for v, k in p["views"].items()})
    return out


JS_PLAY = """async ([ms, skip]) => {
    const root = document.querySelector('.dv-root'), view = root.__descentView;
    view.glSkip = skip;
    const read = () => ({t: performance.now(), s: Number(root.dataset.framesSurface3d || 0),
                         c: Number(root.dataset.framesContour || 0), l: Number(root.dataset.framesLoss || 0)});
    root.querySelector('.dv-play').click();
    const a = read();
    let rafs = 0, longest = 0, last = a.t;
    await new Promise(r => { const f = (t) => { rafs++; longest = Math.max(longest, t - last); last = t;
        performance.now() - a.t < ms ? requestAnimationFrame(f) : r(); }; requestAnimationFrame(f); });
    const b = read(), dt = (b.t - a.t) / 1000;
    if (view.playing) root.querySelector('.dv-play').click();
    view.glSkip = true;
    return {fps_surface3d: (b.s - a.s) / dt, fps_contour: (b.c - a.c) / dt, fps_loss: (b.l - a.l) / dt,
            page_frames_per_s: rafs / dt, longest_frame_ms: longest,
            gl_frame_ms: Number(root.dataset.glFrameMs || 0)};
}"""


def playback(browser, url: str, epochs: int, seconds: float = 3.0) -> dict:
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(url + f"/?speed=slow&epochs={epochs}")
    h.wait_idle(page, timeout=120_000)
    h.wait_drawn(page, timeout=120_000)
    page.wait_for_function("() => document.querySelector('.dv-root').dataset.playing === 'false'",
                           timeout=120_000)
    h.wait_idle(page)
    out = {"epochs": epochs, "speed": "slow (4 s for the whole run)"}
    for name, skip in (("frame_skipping", True), ("reference_every_view_every_frame", False)):
        slider = page.locator(".dv-epoch")
        slider.focus()
        slider.press("Home")
        page.evaluate(JS_TWO_FRAMES)
        time.sleep(0.3)
        result = page.evaluate(JS_PLAY, [seconds * 1000, skip])
        out[name] = {k: round(v, 1) for k, v in result.items()}
        h.wait_idle(page)
        time.sleep(0.5)
    page.close()
    return out


JS_GL_VARIANTS = """async (reps) => {
    const P = window.Plotly, gd = document.querySelector('.dv-surface3d');
    const frame = () => new Promise(r => requestAnimationFrame(r));
    async function cost(n = 5) {
        const g = gd._fullLayout.scene._scene.glplot, gl = g.gl, px = new Uint8Array(4), ts = [];
        for (let i = 0; i < n; i++) { await frame(); g.update({}); const a = performance.now(); g.redraw();
            gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px); ts.push(performance.now() - a); }
        ts.sort((a, b) => a - b); return ts[n >> 1];
    }
    const surf = gd._fullData[0], path = gd._fullData.findIndex(t => t.meta && t.meta.role === 'path');
    const base = {opacity: surf.opacity, 'contours.z.show': surf.contours.z.show, 'contours.z.size': surf.contours.z.size};
    const variants = {
        current: [{}, {}],
        surface_opacity_1: [{opacity: 1}, {}],
        contour_lines_half: [{'contours.z.size': surf.contours.z.size * 2}, {}],
        contour_lines_off: [{'contours.z.show': false}, {}],
        opacity_1_contour_lines_off: [{opacity: 1, 'contours.z.show': false}, {}],
        dots_without_outline: [{}, {'marker.line.width': 0}],
        dots_hidden: [{}, {mode: 'lines'}],
    };
    const out = Object.fromEntries(Object.keys(variants).map(k => [k, []]));
    for (let r = 0; r < reps; r++) {
        for (const [k, [s, p]] of Object.entries(variants)) {
            await P.restyle(gd, s, [0]); await P.restyle(gd, p, [path]);
            await frame(); await frame();
            out[k].push(await cost());
            await P.restyle(gd, base, [0]);
            await P.restyle(gd, {'marker.line.width': 0.5, mode: 'lines+markers'}, [path]);
        }
    }
    const med = (a) => { a.sort((x, y) => x - y); return Math.round(a[a.length >> 1]); };
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, med(v)]));
}"""


def gl_frame_costs(browser, url: str, epochs: int, reps: int = 3) -> dict:
    """Median ms to render and read back one 3D frame, per variant (interleaved repetitions)."""
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(url + f"/?speed=instant&epochs={epochs}")
    h.wait_idle(page, timeout=120_000)
    h.wait_drawn(page, timeout=120_000)
    size = page.evaluate("() => { const g = document.querySelector('.dv-surface3d')._fullLayout.scene._scene.glplot.gl;"
                         " return [g.drawingBufferWidth, g.drawingBufferHeight]; }")
    result = page.evaluate(JS_GL_VARIANTS, reps)
    page.close()
    return {"canvas_px": size, "dots": epochs + 1, "render_ms_median": result}


def network_to_drawn(browser, url: str, seeds=(11, 12, 13)) -> dict:
    """Neural network mode: from opening a configuration not trained before (a new seed) to the
    landscape, boundary and loss drawn; beside it, the same training and slicing in Python
    alone (lab.runs.network_result), which is the work the page has to wait for."""
    from lab import runs
    from lab.link import from_query

    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(url + QUERY)  # Plotly's bundle is in the browser cache from here on
    h.wait_idle(page, timeout=120_000)
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
            "config": "two moons, 2-16-16-2 relu, Adam lr 0.03, batch 32, 100 epochs",
            "target_s": 3.0}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--playback-epochs", type=int, default=500)
    args = parser.parse_args([] if argv is None else argv)

    from playwright.sync_api import sync_playwright

    report = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "load_avg_1m": round(os.getloadavg()[0], 2)},
              "script": APP, "reference": REFERENCE, "query": QUERY}
    t0 = time.perf_counter()
    with sync_playwright() as playwright:
        browser = h.launch_chromium(playwright)
        try:
            report["startup"] = startup(browser, APP, app=True)
            report["reference_startup"] = startup(browser, REFERENCE, app=False)
            with h.run_streamlit(APP) as url:
                report["slider_change"] = slider_changes(browser, url, args.changes, app=True)
                report["playback"] = playback(browser, url, args.playback_epochs)
                report["gl_frame"] = gl_frame_costs(browser, url, args.playback_epochs)
                report["network_mode"] = network_to_drawn(browser, url)
            with h.run_streamlit(REFERENCE) as url:
                report["reference_slider_change"] = slider_changes(browser, url, args.changes, app=False)
        finally:
            browser.close()
    report["redraw_speedup_vs_reference"] = round(
        report["reference_slider_change"]["redraw_ms_median"]
        / report["slider_change"]["redraw_ms_median"], 2)
    report["bytes_per_rerun_target"] = 150_000
    report["machine"]["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    return report


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:]), indent=2))
