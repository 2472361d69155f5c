"""Page performance of the descent view in headless Chromium, next to st.plotly_chart.

Prints JSON: server start to all views drawn; slider change to all views redrawn (median ms)
for the descent view and for three plain st.plotly_chart calls drawing the same figures;
playback frames per second; websocket bytes the browser receives per rerun.

    python benchmarks/bench_page.py [--script app.py] [--reference PATH] [--slider KEY]
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

import browser_harness as h  # noqa: E402

# All Plotly plots on the page have new _fullData (a redraw or a remount happened), the 3D one
# has its WebGL canvas, and two frames have been painted since.
JS_MARK = "() => { window.__benchOld = new Set([...document.querySelectorAll('.js-plotly-plot')].map(d => d._fullData)); }"
JS_REDRAWN = """(n) => {
    const divs = [...document.querySelectorAll('.js-plotly-plot')];
    return divs.length >= n && divs.every(d => d._fullLayout && d._fullData && !window.__benchOld.has(d._fullData))
        && document.querySelector('.js-plotly-plot canvas') !== null;
}"""
JS_TWO_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def start_to_drawn(browser, script: str, query: str) -> dict:
    t0 = time.perf_counter()
    with h.run_streamlit(script) as url:
        ready = time.perf_counter() - t0
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(url + query)
        h.wait_idle(page, timeout=120_000)
        page.wait_for_function(JS_REDRAWN.replace("!window.__benchOld.has(d._fullData)", "true"),
                               arg=3, timeout=120_000)
        page.evaluate(JS_TWO_FRAMES)
        drawn = time.perf_counter() - t0
        page.close()
    return {"server_ready_s": round(ready, 2), "start_to_all_views_drawn_s": round(drawn, 2)}


def slider_changes(browser, url: str, query: str, slider: str, changes: int) -> dict:
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    frames: list[tuple[float, int]] = []
    page.on("websocket", lambda ws: ws.on(
        "framereceived", lambda payload: frames.append((time.perf_counter(), len(payload)))))
    page.goto(url + query)
    h.wait_idle(page, timeout=120_000)
    page.wait_for_function(JS_REDRAWN.replace("!window.__benchOld.has(d._fullData)", "true"),
                           arg=3, timeout=120_000)
    page.evaluate(JS_TWO_FRAMES)
    time.sleep(0.5)
    times, sizes = [], []
    for i in range(changes):
        page.evaluate(JS_MARK)
        start = time.perf_counter()
        # Always onwards: a value seen before would let Streamlit's message cache skip the data.
        h.move_slider(page, slider, key_name="ArrowRight")
        page.wait_for_function(JS_REDRAWN, arg=3, timeout=60_000)
        page.evaluate(JS_TWO_FRAMES)
        times.append((time.perf_counter() - start) * 1000)
        h.wait_idle(page)
        time.sleep(0.3)
        sizes.append(sum(n for t, n in frames if t >= start))
    page.close()
    return {"redraw_ms_median": round(statistics.median(times), 1),
            "redraw_ms_min": round(min(times), 1), "redraw_ms_max": round(max(times), 1),
            "ws_bytes_per_rerun_median": int(statistics.median(sizes))}


def playback_fps(browser, url: str, epochs: int, seconds: float = 3.0) -> dict:
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(url + f"/?speed=slow&epochs={epochs}")
    h.wait_idle(page, timeout=120_000)
    h.wait_drawn(page, timeout=120_000)
    page.wait_for_function("() => document.querySelector('.dv-root').dataset.playing === 'false'",
                           timeout=120_000)
    slider = page.locator(".dv-epoch")
    slider.focus()
    slider.press("Home")
    page.evaluate(JS_TWO_FRAMES)
    result = page.evaluate("""async (ms) => {
        const root = document.querySelector('.dv-root');
        const read = () => ({t: performance.now(), s: Number(root.dataset.framesSurface3d || 0),
                             c: Number(root.dataset.framesContour || 0), l: Number(root.dataset.framesLoss || 0)});
        root.querySelector('.dv-play').click();
        const a = read();
        let rafs = 0;
        await new Promise(r => { const f = () => { rafs++; performance.now() - a.t < ms ? requestAnimationFrame(f) : r(); }; requestAnimationFrame(f); });
        const b = read(), dt = (b.t - a.t) / 1000;
        return {fps_surface3d: (b.s - a.s) / dt, fps_contour: (b.c - a.c) / dt, fps_loss: (b.l - a.l) / dt,
                page_frames_per_s: rafs / dt, epoch_reached: Number(root.dataset.epoch)};
    }""", seconds * 1000)
    page.close()
    return {k: round(v, 1) if isinstance(v, float) else v for k, v in result.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--script", default="tests/pages/chart_demo.py")
    parser.add_argument("--reference", default="benchmarks/pages/reference_plotly_chart.py")
    parser.add_argument("--slider", default="learning_rate", help="key of a slider that reruns")
    parser.add_argument("--query", default="/?speed=instant&epochs=60")
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--playback-epochs", type=int, default=2000)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    report = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "load_avg_1m": round(os.getloadavg()[0], 2)},
              "script": args.script, "reference": args.reference}
    with sync_playwright() as playwright:
        browser = h.launch_chromium(playwright)
        try:
            report["startup"] = start_to_drawn(browser, args.script, args.query)
            report["reference_startup"] = start_to_drawn(browser, args.reference, args.query)
            with h.run_streamlit(args.script) as url:
                report["slider_change"] = slider_changes(
                    browser, url, args.query, args.slider, args.changes)
                report["playback"] = playback_fps(browser, url, args.playback_epochs)
            with h.run_streamlit(args.reference) as url:
                report["reference_slider_change"] = slider_changes(
                    browser, url, args.query, args.slider, args.changes)
        finally:
            browser.close()
    report["redraw_speedup_vs_reference"] = round(
        report["reference_slider_change"]["redraw_ms_median"]
        / report["slider_change"]["redraw_ms_median"], 2)
    report["machine"]["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
