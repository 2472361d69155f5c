"""The real page (app.py) in headless Chromium with software WebGL: it draws, the controls
change the descent, the camera stays, clicks move the start, playback runs, lessons and the
Neural network mode show what they promise. One server for the whole module."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

import browser_harness as h

BLUE = (0x00, 0x72, 0xB2)  # figures/descent.py: a single run is blue

# The first run's whole path at the η on screen, in a view's coordinates (what the overlay draws).
JS_MODEL_PATH = """([view, attr]) => {
    const v = document.querySelector('.dv-root').__descentView;
    const p = v.current && v.current.views[view].get('0');
    return p ? Array.from(p[attr].subarray(0, p.n)) : null;
}"""

# The start marker on the contour map, as Plotly drew it.
JS_START = """() => { const t = document.querySelector('.dv-contour')._fullData.find(t => t.name === 'start');
    return [Number(t.x[0]), Number(t.y[0])]; }"""

JS_3D_PATH_LENGTH = ("() => document.querySelector('.dv-root').__descentView"
                     ".onScreen('surface3d')[0].n")
JS_TWO_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


@pytest.fixture(scope="module")
def app_url(streamlit_server):
    return streamlit_server("app.py")


def open_app(page, url: str, query: str = "/?speed=instant", min_updates: int = 1) -> dict:
    page.goto(url + query)
    h.wait_idle(page, timeout=90_000)
    h.wait_drawn(page, min_updates=min_updates, timeout=90_000)
    return h.view_state(page)


def url_query(page) -> dict:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def blue_pixels(png: bytes, box: dict) -> int:
    """Bluish pixels inside `box`: the runs' dots and lines (a single run is blue, #0072B2, with
    a dark-blue outline in 3D); the surface's colours are all cream to brown."""
    import io

    import numpy as np
    from PIL import Image

    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    crop = image[int(box["y"]):int(box["y"] + box["height"]), int(box["x"]):int(box["x"] + box["width"])]
    r, g, b = crop[..., 0], crop[..., 1], crop[..., 2]
    return int(((b > r + 40) & (b > g + 10)).sum())


def wait_view_lr(page, lr_before: str | None, step: int) -> None:
    """Wait until the views show the η `step` stops from lr_before (the sidebar moved it: the
    view swaps to that stop's paths, which it already has, without a new computation)."""
    from lab.config import LR_OPTIONS

    base = LR_OPTIONS.index(float(lr_before)) if lr_before else LR_OPTIONS.index(0.1)
    want = LR_OPTIONS[base + step]
    h.wait_idle(page, timeout=60_000)
    page.wait_for_function("(v) => Number(document.querySelector('.dv-root').dataset.lr) === v",
                           arg=want, timeout=60_000)


def wait_new_token(page, token: str) -> None:
    page.wait_for_function("(t) => document.querySelector('.dv-root').dataset.token !== t",
                           arg=token, timeout=60_000)
    h.wait_idle(page, timeout=60_000)
    page.wait_for_function("() => { const v = document.querySelector('.dv-root').__descentView;"
                           " return !v.reacting && !v.applying; }", timeout=60_000)
    h.wait_drawn(page)


def slider_value(page, key: str) -> float:
    return float(page.locator(f".st-key-{key} input[type=range]").first.input_value())


def test_default_page_draws_the_surface_with_blue_dots(page, app_url):
    state = open_app(page, app_url)
    assert state["epoch"] == state["epochs"] and int(state["epochs"]) > 10
    png = h.screenshot(page, "app_default_1280x720")
    box3d = h.element_box(page, ".dv-surface3d")
    # The WebGL canvas really drew: most of the 3D plot is the coloured surface, not background.
    assert h.colourful_fraction(png, box3d) > 0.15
    # One run, drawn as blue dots on the surface, one per epoch.
    assert blue_pixels(png, box3d) > 150
    lengths = h.trace_lengths(page, "surface3d")
    assert lengths == [int(state["epochs"]) + 1, 1]
    assert page.locator(".dv-contour .contourlayer path").count() > 10
    assert blue_pixels(png, h.element_box(page, ".dv-contour")) > 100
    assert not page.js_errors


def test_learning_rate_slider_changes_the_path_and_keeps_the_camera(page, app_url):
    state = open_app(page, app_url)
    before = page.evaluate(JS_MODEL_PATH, ["surface3d", "x"])
    lr_before = url_query(page).get("lr")

    # Turn the 3D view by dragging it.
    eye0 = h.camera(page)["eye"]
    box = h.element_box(page, ".dv-surface3d")
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(cx + 15 * step, cy + 3 * step)
    page.mouse.up()
    page.wait_for_function(
        "(e) => { const c = document.querySelector('.dv-surface3d')._fullLayout.scene.camera.eye;"
        " return Math.abs(c.x - e.x) + Math.abs(c.y - e.y) + Math.abs(c.z - e.z) > 0.1; }", arg=eye0)
    rotated = h.camera(page)["eye"]

    h.move_slider(page, "learning_rate", key_name="ArrowLeft")
    wait_view_lr(page, lr_before, -1)
    h.screenshot(page, "app_lr_changed_rotated")
    after = page.evaluate(JS_MODEL_PATH, ["surface3d", "x"])
    assert url_query(page).get("lr") != lr_before
    assert after != before  # a new learning rate, a new path
    # The drawn 3D path is the new one, up to the epoch on screen.
    drawn = h.on_screen(page, "surface3d")[0]
    assert drawn["n"] == int(h.view_state(page)["epoch"]) + 1
    assert drawn["x"] == pytest.approx([v if np.isfinite(v) else None for v in after[:drawn["n"]]])
    # The camera the user turned is still there.
    eye = h.camera(page)["eye"]
    for axis in "xyz":
        assert abs(eye[axis] - rotated[axis]) < 1e-6, (rotated, eye)

    h.move_slider(page, "learning_rate", key_name="ArrowRight")
    wait_view_lr(page, lr_before, 0)
    assert page.evaluate(JS_MODEL_PATH, ["surface3d", "x"]) == pytest.approx(before, nan_ok=True)
    assert not page.js_errors


JS_CLICK_TARGET = """() => {
    const gd = document.querySelector('.dv-contour');
    const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
    const box = gd.getBoundingClientRect();
    const px = 0.75 * xa._length, py = 0.7 * ya._length;
    return {x: box.left + xa._offset + px, y: box.top + ya._offset + py, dx: xa.p2d(px), dy: ya.p2d(py)};
}"""


def test_click_on_the_contour_map_moves_the_start(page, app_url):
    state = open_app(page, app_url)
    query0 = url_query(page)
    start0 = page.evaluate(JS_START)
    # The map's axes settle after the first paint (the 3D scene is built after the 2D views):
    # aim once the target's data point stays put.
    target, previous = None, {}
    for _ in range(20):
        if target is not None and target == previous:
            break
        previous = target
        page.wait_for_timeout(300)
        target = page.evaluate(JS_CLICK_TARGET)
    page.mouse.click(target["x"], target["y"])
    wait_new_token(page, state["token"])
    h.screenshot(page, "app_after_contour_click")

    query = url_query(page)
    assert (query["x0"], query["y0"]) != (query0.get("x0"), query0.get("y0"))
    x0, y0 = float(query["x0"]), float(query["y0"])
    span = page.evaluate("() => { const xa = document.querySelector('.dv-contour')._fullLayout.xaxis;"
                         " return Math.abs(xa.range[1] - xa.range[0]); }")
    assert abs(x0 - target["dx"]) < 0.03 * span and abs(y0 - target["dy"]) < 0.03 * span, (query, target)
    # The sliders and the start marker follow, and the path starts there.
    assert slider_value(page, "start_x") == pytest.approx(x0, abs=1e-6)
    assert slider_value(page, "start_y") == pytest.approx(y0, abs=1e-6)
    start = page.evaluate(JS_START)
    assert start != start0
    assert start == pytest.approx([x0, y0], abs=1e-4)
    path = page.evaluate(JS_MODEL_PATH, ["contour", "x"])
    assert path[0] == pytest.approx(x0, abs=1e-4)
    assert not page.js_errors


def test_playback_advances_and_the_settled_epoch_reaches_the_five_steps(page, app_url):
    open_app(page, app_url, "/?speed=slow&epochs=200")
    # A new computation plays by itself; sample the epoch on screen while it runs.
    epochs = page.evaluate("""() => new Promise(resolve => {
        const root = document.querySelector('.dv-root'), out = [];
        const id = setInterval(() => { out.push(Number(root.dataset.epoch));
            if (out.length >= 12) { clearInterval(id); resolve(out); } }, 150);
    })""")
    assert epochs == sorted(epochs) and len(set(epochs)) >= 4, epochs
    page.wait_for_function("() => document.querySelector('.dv-root').dataset.playing === 'false'",
                           timeout=30_000)
    h.wait_idle(page)
    token = h.view_state(page)["token"]
    page.get_by_role("tab", name="The five steps").click()
    page.locator(".st-key-inspect_epoch input[type=range]").wait_for(timeout=30_000)
    h.wait_idle(page)

    # Scrub back with the keyboard: the settled epoch goes to Python, which sets the five steps
    # panel's epoch; the rerun keeps the playback position (no restart).
    slider = page.locator(".dv-epoch")
    slider.focus()
    slider.press("Home")
    h.wait_idle(page)  # the settled epoch reruns the page; let it finish before the next keys
    slider.focus()
    for _ in range(3):
        slider.press("ArrowRight")
    page.wait_for_function("() => Number(document.querySelector('.st-key-inspect_epoch input[type=range]')"
                           ".value) === 3", timeout=30_000)
    h.wait_idle(page)
    time.sleep(1.0)
    state = h.view_state(page)
    assert state["token"] == token and state["epoch"] == "3" and state["playing"] == "false"
    assert page.locator(".dv-label").inner_text() == "Epoch 3 / 200"
    # No rerun loop: the script stays idle and the view gets no new data.
    updates = state["updates"]
    time.sleep(1.5)
    assert page.locator(h.APP_IDLE).count() == 1
    assert h.view_state(page)["updates"] == updates
    h.screenshot(page, "app_scrubbed_epoch_3")
    assert not page.js_errors


def test_lesson_link_and_presenter_mode(page, app_url):
    open_app(page, app_url, "/?lesson=lr-too-large&speed=instant")
    page.get_by_text("η too large: divergence").first.wait_for()
    message = page.get_by_text(re.compile(r"diverged at epoch \d+"))
    assert message.count() >= 1
    h.screenshot(page, "app_lesson_lr_too_large")

    open_app(page, app_url, "/?lesson=adam-vs-sgd&present=1&speed=instant")
    png = h.screenshot(page, "app_presenter_1280x720")
    # Both runs on one screen at 1280×720: the whole descent view fits in the viewport.
    box = h.element_box(page, ".dv-root")
    assert box["y"] >= 0 and box["y"] + box["height"] <= 720 + 1, box
    assert h.colourful_fraction(png, h.element_box(page, ".dv-surface3d")) > 0.15
    assert page.locator(".dv-surface3d").evaluate("d => d.data.filter(t => t.meta && t.meta.role === 'path').length") == 2
    page.set_viewport_size({"width": 1920, "height": 1080})
    h.wait_drawn(page)
    time.sleep(0.5)
    h.screenshot(page, "app_presenter_1920x1080")
    assert not page.js_errors


def test_network_mode_draws_the_landscape_and_a_changing_boundary(page, app_url):
    open_app(page, app_url, "/?mode=network&data=two_moons&hidden=16-16&opt=adam&lr=0.03"
                            "&epochs=100&batch=32&speed=slow")
    # The boundary heatmap's picture at epochs along the run, set by the keyboard on the epoch
    # slider (playback on a loaded machine may end before a sampler starts).
    page.wait_for_function("() => document.querySelector('.dv-root').dataset.playing === 'false'",
                           timeout=30_000)
    final = page.locator(".dv-contour .hm image").get_attribute("href")
    slider = page.locator(".dv-epoch")
    slider.focus()
    pictures = {final}
    for key, presses in (("Home", 1), ("ArrowRight", 30), ("ArrowRight", 30)):
        before = page.locator(".dv-contour .hm image").get_attribute("href")
        for _ in range(presses):
            slider.press(key)
        page.wait_for_function("(f) => { const i = document.querySelector('.dv-contour .hm image');"
                               " return i && i.getAttribute('href') !== f; }", arg=before)
        pictures.add(page.locator(".dv-contour .hm image").get_attribute("href"))
    assert len(pictures) >= 3  # the boundary changes as training goes on
    slider.press("End")
    page.wait_for_function("(f) => document.querySelector('.dv-contour .hm image').getAttribute('href') === f",
                           arg=final)

    # Scrubbing to the start shows the first frame again (the untrained network's boundary).
    slider = page.locator(".dv-epoch")
    slider.focus()
    slider.press("Home")
    page.wait_for_function("(f) => { const i = document.querySelector('.dv-contour .hm image');"
                           " return i && i.getAttribute('href') !== f; }", arg=final)
    # The 3D view follows a moment later (it skips frames on software WebGL).
    page.wait_for_function(JS_3D_PATH_LENGTH + " === 1")
    page.evaluate(JS_TWO_FRAMES)
    png = h.screenshot(page, "app_network_epoch0")
    box3d = h.element_box(page, ".dv-surface3d")
    # the landscape is drawn (light colours: the ivory end of the scale is barely saturated)
    assert h.colourful_fraction(png, box3d) > 0.04
    assert h.trace_lengths(page, "surface3d") == [1, 1]
    slider.press("End")
    page.wait_for_function("(f) => document.querySelector('.dv-contour .hm image').getAttribute('href') === f",
                           arg=final)
    page.wait_for_function(JS_3D_PATH_LENGTH + " === 101")
    page.evaluate(JS_TWO_FRAMES)
    png = h.screenshot(page, "app_network_end")
    assert blue_pixels(png, box3d) > 100  # the landscape's dots, one per epoch
    assert h.trace_lengths(page, "surface3d") == [101, 1]
    assert not page.js_errors
