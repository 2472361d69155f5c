"""The learning rate in the browser, in the real page (app.py) in headless Chromium with software
WebGL: the view's η slider puts on screen exactly the engine's trajectory for each stop, keeps the
camera, and on release the link and the sidebar follow without the views being redrawn; the 3D
dots land where Plotly's own scatter3d puts the same points; playback moves all three views
together."""

from __future__ import annotations

import io
from dataclasses import replace
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

import browser_harness as h
from lab import link
from lab import runs as lab_runs
from lab.config import LR_OPTIONS

LR = "[aria-label='Learning rate η']"
JS_VIEW = "() => document.querySelector('.dv-root').__descentView"
JS_ON_SCREEN = "(view) => document.querySelector('.dv-root').__descentView.onScreen(view)"
JS_HOW = "() => window.__dvTiming ? window.__dvTiming.how : null"


@pytest.fixture(scope="module")
def app_url(streamlit_server):
    return streamlit_server("app.py")


def open_app(page, url: str, query: str = "/?speed=instant&epochs=120") -> None:
    page.goto(url + query)
    h.wait_idle(page, timeout=90_000)
    h.wait_drawn(page, timeout=90_000)
    # The whole η set is on its way after first paint; wait until the browser has every stop.
    page.wait_for_function("() => document.querySelector('.dv-root').dataset.lrStops === '61'",
                           timeout=60_000)
    h.wait_idle(page, timeout=90_000)


def page_config(page):
    query = {k: v[-1] for k, v in parse_qs(urlparse(page.url).query).items()}
    config, problems = link.from_query(query)
    assert not problems, problems
    return config


def wait_lr(page, value: float) -> None:
    page.wait_for_function("(v) => Number(document.querySelector('.dv-root').dataset.lr) === v",
                           arg=value, timeout=30_000)


def test_view_lr_by_keyboard_shows_the_engines_trajectory(page, app_url):
    open_app(page, app_url)
    config = page_config(page)
    index = LR_OPTIONS.index(config.learning_rate)
    slider = page.locator(LR)
    assert slider.get_attribute("aria-label") == "Learning rate η"
    slider.focus()
    for key, presses in (("ArrowLeft", 1), ("ArrowLeft", 3), ("ArrowRight", 6), ("ArrowRight", 2)):
        for _ in range(presses):
            slider.press(key)
        index += presses if key == "ArrowRight" else -presses
        lr = LR_OPTIONS[index]
        wait_lr(page, lr)
        shown = page.evaluate(JS_ON_SCREEN, "contour")
        assert len(shown) == len(config.runs)
        for run, choice in zip(shown, config.runs):
            one = lab_runs.run_one(replace(config, learning_rate=lr), choice).trajectory
            want = np.asarray(one.params, dtype=np.float32)
            got = np.asarray(run["params"], dtype=np.float64).reshape(-1, 2)
            # The whole path is on screen at the last epoch, number for number (float32).
            assert got.shape == want.shape, (lr, got.shape, want.shape)
            np.testing.assert_array_equal(got.astype(np.float32), want)
        for view in ("surface3d", "loss"):
            assert [d["n"] for d in page.evaluate(JS_ON_SCREEN, view)] == [d["n"] for d in shown]
    assert not page.js_errors


def test_release_moves_link_and_sidebar_without_redrawing(page, app_url):
    open_app(page, app_url)
    before = page_config(page).learning_rate
    last_update = page.evaluate("() => window.__dvTiming.received")
    page.locator(LR).focus()
    page.locator(LR).press("ArrowLeft")
    index = LR_OPTIONS.index(before) - 1
    want = LR_OPTIONS[index]
    wait_lr(page, want)
    # The release reruns the page: Python echoes the η, and the link and the sidebar follow.
    page.wait_for_function("(i) => window.__dvPythonLr && window.__dvPythonLr.lr_index === i",
                           arg=index, timeout=30_000)
    h.wait_idle(page)
    assert page_config(page).learning_rate == want
    sidebar = page.locator(f".st-key-{link.FIELD_BY_KEY['lr'].widget} input[type=range]").first
    assert sidebar.get_attribute("aria-valuetext") == f"{want:g}"
    # The rerun sent the view the same message (or none): Plotly redrew none of the views.
    timing = page.evaluate("() => window.__dvTiming")
    assert timing["received"] == last_update or timing["how"] == {
        "surface3d": "unchanged", "contour": "unchanged", "loss": "unchanged"}
    assert float(h.view_state(page)["lr"]) == want
    assert not page.js_errors


def test_camera_and_epoch_survive_a_view_lr_change(page, app_url):
    open_app(page, app_url)
    box = h.element_box(page, ".dv-surface3d")
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(cx + 12 * step, cy + 3 * step)
    page.mouse.up()
    rotated = h.camera(page)["eye"]
    epoch_slider = page.locator(".dv-epoch")
    epoch_slider.focus()
    for _ in range(7):
        epoch_slider.press("ArrowLeft")
    epoch = int(h.view_state(page)["epoch"])
    before = page_config(page).learning_rate
    page.locator(LR).focus()
    page.locator(LR).press("ArrowRight")
    wait_lr(page, LR_OPTIONS[LR_OPTIONS.index(before) + 1])
    h.wait_idle(page)
    page.evaluate("() => new Promise(r => setTimeout(r, 500))")
    h.wait_idle(page)
    after = h.camera(page)["eye"]
    assert after == pytest.approx(rotated, abs=1e-6)
    assert int(h.view_state(page)["epoch"]) == epoch
    for view in ("surface3d", "contour", "loss"):
        assert {d["n"] for d in page.evaluate(JS_ON_SCREEN, view)} <= {epoch + 1}
    assert not page.js_errors


def _magenta_centre(png: bytes, box: dict) -> tuple[float, float] | None:
    from PIL import Image

    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    x0, y0 = int(box["x"]), int(box["y"])
    crop = image[y0:y0 + int(box["height"]), x0:x0 + int(box["width"])]
    r, g, b = crop[..., 0], crop[..., 1], crop[..., 2]
    mask = (r > 200) & (b > 200) & (g < 90)
    if mask.sum() < 12:
        return None
    ys, xs = np.nonzero(mask)
    return x0 + xs.mean() + 0.5, y0 + ys.mean() + 0.5


@pytest.mark.parametrize("eye", [None, {"x": 1.6, "y": 0.9, "z": 0.7}, {"x": -1.2, "y": -1.3, "z": 1.1}])
def test_overlay_dots_land_where_plotly_draws_them(page, app_url, eye):
    open_app(page, app_url)
    if eye is not None:
        page.evaluate("(eye) => Plotly.relayout(document.querySelector('.dv-surface3d'),"
                      " {'scene.camera.eye': eye})", eye)
    page.evaluate("() => { for (const c of document.querySelectorAll('.dv-overlay')) c.style.visibility = 'hidden'; }")
    scene = page.evaluate("() => { const l = document.querySelector('.dv-surface3d')._fullLayout.scene;"
                          " return [l.xaxis.range, l.yaxis.range, l.zaxis.range]; }")
    (x0, x1), (y0, y1), (z0, z1) = scene
    points = [(x0 + 0.25 * (x1 - x0), y0 + 0.7 * (y1 - y0), z1 - 0.02 * (z1 - z0)),
              (x0 + 0.8 * (x1 - x0), y0 + 0.2 * (y1 - y0), z1 - 0.05 * (z1 - z0)),
              (0.5 * (x0 + x1), 0.5 * (y0 + y1), z1)]
    box = h.element_box(page, ".dv-surface3d")
    for x, y, z in points:
        page.evaluate("""([x, y, z]) => Plotly.addTraces(document.querySelector('.dv-surface3d'),
            {type: 'scatter3d', mode: 'markers', x: [x], y: [y], z: [z], showlegend: false,
             marker: {size: 14, color: '#ff00ff', line: {width: 0}}, name: 'probe'})""", [x, y, z])
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() =>"
                      " requestAnimationFrame(r))))")
        found = _magenta_centre(page.screenshot(), box)
        assert found is not None, "Plotly's probe marker is not on screen"
        ours = page.evaluate(f"([x, y, z]) => ({JS_VIEW})().project3d(x, y, z)", [x, y, z])
        assert ours is not None
        assert abs(ours[0] - found[0]) <= 2.0 and abs(ours[1] - found[1]) <= 2.0, (ours, found)
        page.evaluate("() => { const gd = document.querySelector('.dv-surface3d');"
                      " return Plotly.deleteTraces(gd, gd.data.length - 1); }")
    assert not page.js_errors


def test_playback_moves_all_three_views_together_and_a_lr_change_keeps_playing(page, app_url):
    open_app(page, app_url)
    start = h.view_state(page)
    page.locator(".dv-play").click()
    samples = page.evaluate("""() => new Promise(done => {
        const v = document.querySelector('.dv-root').__descentView, out = [];
        const step = () => {
            const n = ['surface3d', 'contour', 'loss'].map(view => v.overlays[view].drawn.map(d => d.n).join(','));
            out.push({epoch: v.epoch, n, playing: v.playing});
            if (out.length < 40) requestAnimationFrame(step); else done(out);
        };
        requestAnimationFrame(step);
    })""")
    playing = h.view_state(page)["playing"]
    page.locator(LR).focus()
    page.locator(LR).press("ArrowLeft")
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    still = h.view_state(page)
    state = h.view_state(page)
    for view in ("Surface3d", "Contour", "Loss"):
        assert int(state[f"frames{view}"]) > int(start[f"frames{view}"]) + 10
    together = [s for s in samples if s["n"][0] == s["n"][1] == s["n"][2]]
    assert len(together) == len(samples), samples
    epochs = [s["epoch"] for s in samples]
    assert epochs[-1] > epochs[0]
    assert playing == "true" or epochs[-1] == int(start["epochs"])
    if playing == "true" and still["epoch"] != still["epochs"]:
        assert still["playing"] == "true"
    assert not page.js_errors


def test_a_mini_batch_lesson_gets_every_stop_after_its_first_paint(page, app_url):
    """The mini-batch lesson's η set is dear to compute (lab.runs.lr_set_plan): the η on screen
    comes first, the other stops once the browser has drawn and asks for them; then the view's
    slider swaps between them in the browser, the engine's trajectory at each."""
    page.goto(app_url + "/?lesson=minibatch-noise&speed=instant")
    h.wait_idle(page, timeout=90_000)
    h.wait_drawn(page, timeout=90_000)
    page.wait_for_function("() => document.querySelector('.dv-root').dataset.lrStops === '61'",
                           timeout=90_000)
    h.wait_idle(page, timeout=90_000)
    assert page.get_by_text("reruns the page on release").count() == 0
    config = page_config(page)
    index = LR_OPTIONS.index(config.learning_rate)
    page.locator(LR).focus()
    page.locator(LR).press("ArrowLeft")
    lr = LR_OPTIONS[index - 1]
    wait_lr(page, lr)
    shown = page.evaluate(JS_ON_SCREEN, "contour")
    assert len(shown) == len(config.runs) == 2
    for run, choice in zip(shown, config.runs):
        one = lab_runs.run_one(replace(config, learning_rate=lr), choice).trajectory
        got = np.asarray(run["params"], dtype=np.float64).reshape(-1, 2).astype(np.float32)
        np.testing.assert_array_equal(got, np.asarray(one.params, dtype=np.float32))
    assert not page.js_errors


def test_too_slow_a_batch_falls_back_to_a_rerun_and_says_so(page, app_url):
    # 800 epochs × 32 mini-batches × 61 stops is above even the budget of a set computed after
    # the first paint (lab.runs.lr_set_plan, engine.sweep.LR_SET_LATER_BUDGET).
    page.goto(app_url + "/?speed=instant&epochs=800&batch=1")
    h.wait_idle(page, timeout=90_000)
    h.wait_drawn(page, timeout=90_000)
    page.get_by_text("The view's η slider reruns the page on release").wait_for(timeout=30_000)
    assert h.view_state(page)["lrStops"] == "1"
    config = page_config(page)
    index = LR_OPTIONS.index(config.learning_rate)
    page.locator(LR).focus()
    page.locator(LR).press("ArrowLeft")
    lr = LR_OPTIONS[index - 1]
    # The browser has no paths for that η: the page reruns and then shows them.
    wait_lr(page, lr)
    h.wait_idle(page)
    assert page_config(page).learning_rate == lr
    (run,) = page.evaluate(JS_ON_SCREEN, "contour")
    one = lab_runs.run_one(replace(config, learning_rate=lr), config.runs[0]).trajectory
    got = np.asarray(run["params"], dtype=np.float64).reshape(-1, 2).astype(np.float32)
    np.testing.assert_array_equal(got, np.asarray(one.params, dtype=np.float32))
    assert not page.js_errors
